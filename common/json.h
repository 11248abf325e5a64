/*  =========================================================================
    json - a small strict JSON reader for flat objects, and string escaping

    Enough JSON for JSON Lines import and for --format json output; no
    dependency. The reader takes one object whose values are strings,
    numbers, true/false/null, or arrays of strings (as in
    {"type":"visit","cadres":["张三","李四"],"above_size":true}); anything
    deeper is a precise error. Strings are unescaped (\uXXXX with surrogate
    pairs) to UTF-8 and must be valid UTF-8.
    =========================================================================
*/
#ifndef WQ_JSON_H_INCLUDED
#define WQ_JSON_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include "common/error.h"

typedef enum {
    WQ_JSON_NULL, WQ_JSON_BOOL, WQ_JSON_NUMBER, WQ_JSON_STRING, WQ_JSON_ARRAY
} wq_json_kind_t;

typedef struct {
    char *key;              /* owned, UTF-8 */
    wq_json_kind_t kind;
    bool boolean;
    char *text;             /* STRING: the string; NUMBER: its literal text; owned */
    char **items;           /* ARRAY: owned strings */
    size_t nitems;
} wq_json_member_t;

typedef struct {
    wq_json_member_t *members;
    size_t count;
} wq_json_object_t;

/*  Parse one JSON object from s[0..len) (surrounding white space allowed,
    nothing else). On success *out is a new object the caller frees with
    wq_json_object_destroy. Errors: WQ_E_FORMAT (syntax; text gives the byte
    column), WQ_E_TYPE (nested object, array of non-strings), WQ_E_UTF8,
    WQ_E_DUPFIELD (same key twice), WQ_E_RANGE (more than 256 members or a
    string over 64 KiB), WQ_E_NOMEM. */
int wq_json_parse_object(const char *s, size_t len, wq_json_object_t **out, wq_err_t *err);

/*  Member by key, or NULL. */
const wq_json_member_t *wq_json_get(const wq_json_object_t *obj, const char *key);

/*  Free an object; sets *obj to NULL; safe on NULL. */
void wq_json_object_destroy(wq_json_object_t **obj);

/*  Write s as a JSON string literal (with quotes) to f, escaping what JSON
    requires; UTF-8 passes through. */
void wq_json_write_string(FILE *f, const char *s);

#endif
