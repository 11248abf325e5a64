/*  =========================================================================
    wbuf - a growable byte buffer for response bodies

    Pages, JSON and CSV are built in memory and handed to libmicrohttpd in
    one piece (wq_wbuf_take), so a handler never writes to a socket. A
    failed allocation sets `oom`: later writes are ignored and the server
    answers 500 instead of sending half a page. A cap (0: none) bounds the
    size; going past it also sets oom.
    =========================================================================
*/
#ifndef WQ_WBUF_H_INCLUDED
#define WQ_WBUF_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    char *data;     /* NUL-terminated while not oom; owned */
    size_t len;
    size_t cap;
    size_t limit;   /* 0: unlimited */
    bool oom;       /* an allocation failed or limit was passed */
} wq_wbuf_t;

/*  Append n bytes / a C string / printf-formatted text. Never fail loudly:
    on failure set b->oom and leave the contents as they were. */
void wq_wbuf_put(wq_wbuf_t *b, const void *p, size_t n);
void wq_wbuf_puts(wq_wbuf_t *b, const char *s);
void wq_wbuf_printf(wq_wbuf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*  Append s with HTML's five special characters escaped (& < > " '), for
    text and attribute values. NULL appends nothing. */
void wq_wbuf_html(wq_wbuf_t *b, const char *s);

/*  Append s percent-encoded for a URL query value (RFC 3986 unreserved
    characters pass). NULL appends nothing. */
void wq_wbuf_urlenc(wq_wbuf_t *b, const char *s);

/*  Hand the bytes over: returns the malloc'd data (never NULL unless oom;
    an empty buffer gives "") and its length in *len; b is emptied. The
    caller frees. Returns NULL if b->oom (b is then emptied too). */
char *wq_wbuf_take(wq_wbuf_t *b, size_t *len);

/*  Free the contents; b can be reused. */
void wq_wbuf_free(wq_wbuf_t *b);

#endif
