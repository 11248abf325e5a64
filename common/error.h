/*  =========================================================================
    error - one error convention for all of wanqi

    Every fallible function returns an int: WQ_OK (0) or one of the positive
    WQ_E_* codes below, and, when the caller passes a wq_err_t, fills it with
    the field concerned and a sentence saying what was wrong. wq_strerror()
    is the single table from code to text.

    The numeric values are part of the wire protocol (ACK quarantine entries
    and ERROR messages carry them; see proto/PROTOCOL.md section "Error
    codes"): never renumber, only append.
    =========================================================================
*/
#ifndef WQ_ERROR_H_INCLUDED
#define WQ_ERROR_H_INCLUDED

#include <stddef.h>

typedef enum {
    WQ_OK = 0,
    WQ_E_NOMEM = 1,       /* out of memory */
    WQ_E_IO = 2,          /* system or LMDB I/O error (text says which call) */
    WQ_E_FULL = 3,        /* a bounded store is full (outbox limit, LMDB map) */
    WQ_E_TRUNCATED = 10,  /* input ends before the value is complete */
    WQ_E_TYPE = 11,       /* a value has the wrong msgpack/JSON type */
    WQ_E_RANGE = 12,      /* a number or length is outside its limits */
    WQ_E_VERSION = 13,    /* unsupported protocol version */
    WQ_E_UNKNOWN = 14,    /* unknown message type, record type, field or enum */
    WQ_E_MISSING = 15,    /* a required field is absent */
    WQ_E_UTF8 = 16,       /* a string is not valid UTF-8 (or has control chars) */
    WQ_E_CHECKCHAR = 17,  /* credit code check character is wrong */
    WQ_E_FORMAT = 18,     /* syntax: date, code, id, industry ... */
    WQ_E_COUNTY = 19,     /* county code not in the divisions table (for that date) */
    WQ_E_FOREIGN = 20,    /* record's county is not the sending agent's county */
    WQ_E_ID = 21,         /* record id does not match its place in the stream */
    WQ_E_GAP = 22,        /* batch does not start at the expected seq */
    WQ_E_AUTH = 23,       /* peer not authorized */
    WQ_E_STATE = 24,      /* message not valid now (e.g. BATCH before HELLO) */
    WQ_E_NOTFOUND = 25,   /* no such entity / record / key */
    WQ_E_CONFIG = 26,     /* bad configuration */
    WQ_E_TRAILING = 27,   /* bytes left after a complete value */
    WQ_E_DUPFIELD = 28,   /* the same field appears twice */
    WQ_E_CORRUPT = 29,    /* stored data fails to decode */
    WQ_E_BUSY = 30,       /* temporarily unable, retry later */
    WQ_E_INTERNAL = 31,   /* a bug: please report with the log */
    WQ_E_QUOTA = 32       /* the agent's share of the collector's store is used up */
} wq_rc_t;

/*  Details of the last error: which field, and a sentence for a human.
    Fixed-size so that it can live on the stack and never needs freeing. */
typedef struct {
    int code;             /* a wq_rc_t */
    char field[48];       /* field or element concerned, "" if none */
    char text[320];       /* what was wrong, on which input, what to do */
} wq_err_t;

/*  Text for a code, e.g. "invalid UTF-8". Never NULL; unknown codes give
    "unknown error". */
const char *wq_strerror(int code);

/*  Short stable name for a code, e.g. "E_UTF8", for logs and JSON. */
const char *wq_errname(int code);

/*  Fill err (if not NULL) and return code. field may be NULL. fmt is
    printf-style; the text is truncated to fit. Use as:
        return wq_err_set(err, WQ_E_RANGE, "name", "%zu bytes, at most %d", n, max); */
int wq_err_set(wq_err_t *err, int code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*  Reset err to WQ_OK with empty texts. */
void wq_err_clear(wq_err_t *err);

/*  Format "field: text (E_NAME)" into buf; returns buf. */
const char *wq_err_format(const wq_err_t *err, char *buf, size_t size);

#endif
