/*  wbuf - growable byte buffer for response bodies (see wbuf.h). */
#include "web/wbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool s_reserve(wq_wbuf_t *b, size_t extra)
{
    if (b->oom)
        return false;
    if (extra > (size_t)-1 / 2 - b->len || (b->limit && b->len + extra > b->limit)) {
        b->oom = true;
        return false;
    }
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p) {
        b->oom = true;
        return false;
    }
    b->data = p;
    b->cap = cap;
    return true;
}

void wq_wbuf_put(wq_wbuf_t *b, const void *p, size_t n)
{
    if (!s_reserve(b, n))
        return;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void wq_wbuf_puts(wq_wbuf_t *b, const char *s)
{
    if (s)
        wq_wbuf_put(b, s, strlen(s));
}

void wq_wbuf_printf(wq_wbuf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        b->oom = true;
    else if (s_reserve(b, (size_t)n)) {
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
        b->len += (size_t)n;
    }
    va_end(ap2);
}

void wq_wbuf_html(wq_wbuf_t *b, const char *s)
{
    if (!s)
        return;
    const char *run = s;
    for (; *s; s++) {
        const char *rep = NULL;
        switch (*s) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&#39;"; break;
        default: break;
        }
        if (rep) {
            wq_wbuf_put(b, run, (size_t)(s - run));
            wq_wbuf_puts(b, rep);
            run = s + 1;
        }
    }
    wq_wbuf_put(b, run, (size_t)(s - run));
}

void wq_wbuf_urlenc(wq_wbuf_t *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    if (!s)
        return;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~') {
            wq_wbuf_put(b, p, 1);
        } else {
            char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            wq_wbuf_put(b, e, 3);
        }
    }
}

char *wq_wbuf_take(wq_wbuf_t *b, size_t *len)
{
    char *out = NULL;
    if (!b->oom) {
        if (!b->data)
            wq_wbuf_put(b, "", 0);
        if (!b->oom) {
            out = b->data;
            *len = b->len;
            b->data = NULL;
        }
    }
    wq_wbuf_free(b);
    return out;
}

void wq_wbuf_free(wq_wbuf_t *b)
{
    free(b->data);
    size_t limit = b->limit;
    memset(b, 0, sizeof *b);
    b->limit = limit;
}
