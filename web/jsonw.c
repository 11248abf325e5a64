/*  jsonw - JSON writer into a wbuf (see jsonw.h). */
#include "web/jsonw.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>

static void s_bad(wq_jsonw_t *w)
{
    w->bad = true;
    w->out->oom = true;
}

/*  Before any value: a comma if needed; in an object a key must precede. */
static bool s_value(wq_jsonw_t *w)
{
    if (w->bad)
        return false;
    if (w->depth > 0) {
        int d = w->depth - 1;
        if (w->is_obj[d]) {
            if (!w->want_value) {
                s_bad(w);
                return false;
            }
            w->want_value = false;
        } else {
            if (!w->first[d])
                wq_wbuf_put(w->out, ",", 1);
            w->first[d] = false;
        }
    }
    return true;
}

static void s_string(wq_wbuf_t *b, const char *s)
{
    wq_wbuf_put(b, "\"", 1);
    const char *run = s;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&')
            continue;
        wq_wbuf_put(b, run, (size_t)(s - run));
        switch (c) {
        case '"': wq_wbuf_puts(b, "\\\""); break;
        case '\\': wq_wbuf_puts(b, "\\\\"); break;
        case '\n': wq_wbuf_puts(b, "\\n"); break;
        case '\r': wq_wbuf_puts(b, "\\r"); break;
        case '\t': wq_wbuf_puts(b, "\\t"); break;
        default: wq_wbuf_printf(b, "\\u%04x", c); break;
        }
        run = s + 1;
    }
    wq_wbuf_put(b, run, (size_t)(s - run));
    wq_wbuf_put(b, "\"", 1);
}

void wq_jsonw_init(wq_jsonw_t *w, wq_wbuf_t *out)
{
    *w = (wq_jsonw_t){.out = out};
}

static void s_open(wq_jsonw_t *w, bool obj)
{
    if (!s_value(w))
        return;
    if (w->depth >= WQ_JSONW_DEPTH) {
        s_bad(w);
        return;
    }
    w->is_obj[w->depth] = obj;
    w->first[w->depth] = true;
    w->depth++;
    wq_wbuf_put(w->out, obj ? "{" : "[", 1);
}

void wq_jsonw_obj(wq_jsonw_t *w) { s_open(w, true); }
void wq_jsonw_arr(wq_jsonw_t *w) { s_open(w, false); }

void wq_jsonw_end(wq_jsonw_t *w)
{
    if (w->bad)
        return;
    if (w->depth == 0 || w->want_value) {
        s_bad(w);
        return;
    }
    w->depth--;
    wq_wbuf_put(w->out, w->is_obj[w->depth] ? "}" : "]", 1);
}

void wq_jsonw_key(wq_jsonw_t *w, const char *key)
{
    if (w->bad)
        return;
    int d = w->depth - 1;
    if (d < 0 || !w->is_obj[d] || w->want_value || !key) {
        s_bad(w);
        return;
    }
    if (!w->first[d])
        wq_wbuf_put(w->out, ",", 1);
    w->first[d] = false;
    s_string(w->out, key);
    wq_wbuf_put(w->out, ":", 1);
    w->want_value = true;
}

void wq_jsonw_str(wq_jsonw_t *w, const char *s)
{
    if (!s) {
        wq_jsonw_null(w);
        return;
    }
    if (s_value(w))
        s_string(w->out, s);
}

void wq_jsonw_int(wq_jsonw_t *w, int64_t v)
{
    if (s_value(w))
        wq_wbuf_printf(w->out, "%" PRId64, v);
}

void wq_jsonw_double(wq_jsonw_t *w, double v)
{
    if (!isfinite(v)) {
        wq_jsonw_null(w);
        return;
    }
    if (s_value(w))
        wq_wbuf_printf(w->out, "%.17g", v);
}

void wq_jsonw_bool(wq_jsonw_t *w, bool v)
{
    if (s_value(w))
        wq_wbuf_puts(w->out, v ? "true" : "false");
}

void wq_jsonw_null(wq_jsonw_t *w)
{
    if (s_value(w))
        wq_wbuf_puts(w->out, "null");
}

bool wq_jsonw_done(const wq_jsonw_t *w)
{
    return !w->bad && w->depth == 0 && !w->want_value;
}
