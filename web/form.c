/*  form - bounded request body fields and uploads (see form.h). */
#include "web/form.h"
#include "common/i18n.h"

#include <stdlib.h>
#include <string.h>

struct wq_form_t {
    wq_form_field_t *fields;
    size_t count, cap;
    size_t bytes, max_bytes, max_fields;
    bool too_large;
};

wq_form_t *wq_form_new(size_t max_bytes, size_t max_fields)
{
    wq_form_t *self = calloc(1, sizeof *self);
    if (self) {
        self->max_bytes = max_bytes;
        self->max_fields = max_fields;
    }
    return self;
}

static void s_field_free(wq_form_field_t *f)
{
    free(f->name);
    free(f->value);
    free(f->filename);
    free(f->content_type);
}

void wq_form_destroy(wq_form_t **self)
{
    if (!self || !*self)
        return;
    for (size_t i = 0; i < (*self)->count; i++)
        s_field_free(&(*self)->fields[i]);
    free((*self)->fields);
    free(*self);
    *self = NULL;
}

int wq_form_add(wq_form_t *self, const char *name, const char *filename, const char *content_type,
                uint64_t off, const char *data, size_t size, wq_err_t *err)
{
    if (self->too_large)
        return wq_err_set(err, WQ_E_RANGE, name, _("request body over %zu bytes"), self->max_bytes);
    if (size > self->max_bytes - self->bytes) {
        self->too_large = true;
        return wq_err_set(err, WQ_E_RANGE, name, _("request body over %zu bytes"), self->max_bytes);
    }
    wq_form_field_t *f = NULL;
    if (off == 0) {
        if (self->count >= self->max_fields) {
            self->too_large = true;
            return wq_err_set(err, WQ_E_RANGE, name, _("more than %zu form fields"), self->max_fields);
        }
        if (self->count == self->cap) {
            size_t cap = self->cap ? self->cap * 2 : 16;
            wq_form_field_t *g = realloc(self->fields, cap * sizeof *g);
            if (!g)
                return wq_err_set(err, WQ_E_NOMEM, name, _("no memory for form field"));
            self->fields = g;
            self->cap = cap;
        }
        f = &self->fields[self->count];
        memset(f, 0, sizeof *f);
        f->name = strdup(name ? name : "");
        f->value = calloc(1, 1);
        if (filename)
            f->filename = strdup(filename);
        if (content_type)
            f->content_type = strdup(content_type);
        if (!f->name || !f->value || (filename && !f->filename) ||
            (content_type && !f->content_type)) {
            s_field_free(f);
            return wq_err_set(err, WQ_E_NOMEM, name, _("no memory for form field"));
        }
        self->count++;
    } else {
        for (size_t i = self->count; i-- > 0;)
            if (strcmp(self->fields[i].name, name ? name : "") == 0) {
                f = &self->fields[i];
                break;
            }
        if (!f || f->len != off)
            return wq_err_set(err, WQ_E_FORMAT, name, _("form field piece at offset %llu out of order"),
                              (unsigned long long)off);
    }
    if (size) {
        char *v = realloc(f->value, f->len + size + 1);
        if (!v)
            return wq_err_set(err, WQ_E_NOMEM, name, _("no memory for %zu bytes of form field"), size);
        memcpy(v + f->len, data, size);
        f->len += size;
        v[f->len] = '\0';
        f->value = v;
        self->bytes += size;
    }
    return WQ_OK;
}

bool wq_form_too_large(const wq_form_t *self)
{
    return self->too_large;
}

const wq_form_field_t *wq_form_field(const wq_form_t *self, const char *name)
{
    for (size_t i = 0; self && i < self->count; i++)
        if (strcmp(self->fields[i].name, name) == 0)
            return &self->fields[i];
    return NULL;
}

const char *wq_form_get(const wq_form_t *self, const char *name)
{
    const wq_form_field_t *f = wq_form_field(self, name);
    return f ? f->value : NULL;
}

size_t wq_form_count(const wq_form_t *self)
{
    return self ? self->count : 0;
}

const wq_form_field_t *wq_form_at(const wq_form_t *self, size_t i)
{
    return (self && i < self->count) ? &self->fields[i] : NULL;
}
