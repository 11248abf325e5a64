/*  =========================================================================
    form - the fields and uploaded files of one request body

    libmicrohttpd's post processor parses application/x-www-form-urlencoded
    and multipart/form-data and calls back with pieces of each field; the
    server (server.c) hands every piece to wq_form_add. This module keeps
    them, bounded: at most max_bytes in all and max_fields fields, so an
    upload can never take more memory than the program allows. Field values
    are NUL-terminated (a file's bytes too, for convenience; its length is
    `len`). A file field (multipart with a filename) keeps its file name and
    content type.
    =========================================================================
*/
#ifndef WQ_FORM_H_INCLUDED
#define WQ_FORM_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "common/error.h"

typedef struct {
    char *name;          /* owned */
    char *value;         /* owned, NUL-terminated; bytes may contain NUL for files */
    size_t len;
    char *filename;      /* owned; NULL unless an uploaded file */
    char *content_type;  /* owned; may be NULL */
} wq_form_field_t;

typedef struct wq_form_t wq_form_t;

/*  New empty form with its limits (bytes over all values; field count). */
wq_form_t *wq_form_new(size_t max_bytes, size_t max_fields);
void wq_form_destroy(wq_form_t **self);

/*  Add a piece of field `name`. off == 0 starts a new field; off > 0
    appends to the newest field of that name (off must equal its length).
    filename and content_type may be NULL. Errors: WQ_E_RANGE (a limit
    passed: the form is marked too large and keeps refusing), WQ_E_FORMAT
    (off out of order), WQ_E_NOMEM. */
int wq_form_add(wq_form_t *self, const char *name, const char *filename, const char *content_type,
                uint64_t off, const char *data, size_t size, wq_err_t *err);

/*  True once a limit was passed. */
bool wq_form_too_large(const wq_form_t *self);

/*  The first field named name, or NULL; wq_form_get gives its value. */
const wq_form_field_t *wq_form_field(const wq_form_t *self, const char *name);
const char *wq_form_get(const wq_form_t *self, const char *name);

/*  All fields in arrival order (for repeated names such as check boxes). */
size_t wq_form_count(const wq_form_t *self);
const wq_form_field_t *wq_form_at(const wq_form_t *self, size_t i);

#endif
