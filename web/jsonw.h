/*  =========================================================================
    jsonw - a small JSON writer into a wbuf

    common/json reads flat objects and escapes one string to a FILE; pages
    need nested objects and arrays built in memory, so this writer tracks
    the nesting (up to 32 levels) and puts the commas itself:

        wq_jsonw_t w; wq_jsonw_init(&w, &buf);
        wq_jsonw_obj(&w); wq_jsonw_key(&w, "n"); wq_jsonw_int(&w, 3);
        wq_jsonw_key(&w, "names"); wq_jsonw_arr(&w); wq_jsonw_str(&w, "石家庄");
        wq_jsonw_end(&w); wq_jsonw_end(&w);

    Strings must be UTF-8; control characters are escaped, as are < > &
    (so JSON embedded in a <script> block cannot close it). Misuse (a value
    where a key is due, too deep) sets w->bad and the buffer's oom, so the
    server answers 500 rather than sending broken JSON.
    =========================================================================
*/
#ifndef WQ_JSONW_H_INCLUDED
#define WQ_JSONW_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include "web/wbuf.h"

#define WQ_JSONW_DEPTH 32

typedef struct {
    wq_wbuf_t *out;
    int depth;
    bool is_obj[WQ_JSONW_DEPTH];
    bool first[WQ_JSONW_DEPTH];
    bool want_value;    /* in an object, after a key */
    bool bad;
} wq_jsonw_t;

void wq_jsonw_init(wq_jsonw_t *w, wq_wbuf_t *out);
void wq_jsonw_obj(wq_jsonw_t *w);                 /* { */
void wq_jsonw_arr(wq_jsonw_t *w);                 /* [ */
void wq_jsonw_end(wq_jsonw_t *w);                 /* closes the innermost { or [ */
void wq_jsonw_key(wq_jsonw_t *w, const char *key);
void wq_jsonw_str(wq_jsonw_t *w, const char *s);  /* NULL writes null */
void wq_jsonw_int(wq_jsonw_t *w, int64_t v);
void wq_jsonw_double(wq_jsonw_t *w, double v);    /* non-finite writes null */
void wq_jsonw_bool(wq_jsonw_t *w, bool v);
void wq_jsonw_null(wq_jsonw_t *w);

/*  True when every container was closed and nothing was misused. */
bool wq_jsonw_done(const wq_jsonw_t *w);

#endif
