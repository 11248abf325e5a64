/*  =========================================================================
    error - the one table from wq_rc_t codes to text, and wq_err_t helpers

    Every layer returns WQ_OK or a WQ_E_* code and describes the failure in
    a wq_err_t (field + sentence). This file is the single place that turns
    a code into words (wq_strerror) and into a stable short name for logs
    and JSON (wq_errname). The names never change: they are what scripts
    and the query client's JSON output match on.
    =========================================================================
*/
#include "common/error.h"
#include "common/utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    int code;
    const char *name;
    const char *text;
} s_errdef_t;

static const s_errdef_t s_errors[] = {
    {WQ_OK, "OK", "success"},
    {WQ_E_NOMEM, "E_NOMEM", "out of memory"},
    {WQ_E_IO, "E_IO", "I/O error"},
    {WQ_E_FULL, "E_FULL", "store is full"},
    {WQ_E_TRUNCATED, "E_TRUNCATED", "input is truncated"},
    {WQ_E_TYPE, "E_TYPE", "value has the wrong type"},
    {WQ_E_RANGE, "E_RANGE", "value out of range"},
    {WQ_E_VERSION, "E_VERSION", "unsupported protocol version"},
    {WQ_E_UNKNOWN, "E_UNKNOWN", "unknown type, field or value"},
    {WQ_E_MISSING, "E_MISSING", "required field is missing"},
    {WQ_E_UTF8, "E_UTF8", "invalid UTF-8 or control character"},
    {WQ_E_CHECKCHAR, "E_CHECKCHAR", "credit code check character is wrong"},
    {WQ_E_FORMAT, "E_FORMAT", "bad format"},
    {WQ_E_COUNTY, "E_COUNTY", "county code not valid"},
    {WQ_E_FOREIGN, "E_FOREIGN", "record belongs to another county"},
    {WQ_E_ID, "E_ID", "record id does not match its place in the stream"},
    {WQ_E_GAP, "E_GAP", "batch does not start at the expected sequence number"},
    {WQ_E_AUTH, "E_AUTH", "peer not authorized"},
    {WQ_E_STATE, "E_STATE", "message not valid in this state"},
    {WQ_E_NOTFOUND, "E_NOTFOUND", "not found"},
    {WQ_E_CONFIG, "E_CONFIG", "bad configuration"},
    {WQ_E_TRAILING, "E_TRAILING", "trailing bytes after a complete value"},
    {WQ_E_DUPFIELD, "E_DUPFIELD", "duplicate field"},
    {WQ_E_CORRUPT, "E_CORRUPT", "stored data is corrupt"},
    {WQ_E_BUSY, "E_BUSY", "temporarily busy, retry later"},
    {WQ_E_INTERNAL, "E_INTERNAL", "internal error (a bug: please report with the log)"},
    {WQ_E_QUOTA, "E_QUOTA", "the agent's quota in the collector's store is used up (the operator raises agent_quota)"},
};

static const s_errdef_t *
s_find(int code)
{
    for (size_t i = 0; i < sizeof s_errors / sizeof s_errors[0]; i++)
        if (s_errors[i].code == code)
            return &s_errors[i];
    return NULL;
}

const char *
wq_strerror(int code)
{
    const s_errdef_t *d = s_find(code);
    return d ? d->text : "unknown error";
}

const char *
wq_errname(int code)
{
    const s_errdef_t *d = s_find(code);
    return d ? d->name : "E_UNKNOWN_CODE";
}

/*  Error texts travel: into logs, JSON output and protocol messages whose
    strings must be valid single-line UTF-8. snprintf may have cut a
    multi-byte character in half, and a text may quote raw bad input, so
    replace every byte that is not part of a well-formed character, and
    every control character, with '?'. */
static void
s_make_printable(char *s)
{
    size_t len = strlen(s), bad;
    while (!wq_utf8_text_ok(s, len, false, &bad) && bad < len)
        s[bad] = '?';
}

int
wq_err_set(wq_err_t *err, int code, const char *field, const char *fmt, ...)
{
    if (err) {
        err->code = code;
        snprintf(err->field, sizeof err->field, "%s", field ? field : "");
        if (fmt) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(err->text, sizeof err->text, fmt, ap);
            va_end(ap);
        }
        else
            snprintf(err->text, sizeof err->text, "%s", wq_strerror(code));
        s_make_printable(err->field);
        s_make_printable(err->text);
    }
    return code;
}

void
wq_err_clear(wq_err_t *err)
{
    if (err) {
        err->code = WQ_OK;
        err->field[0] = '\0';
        err->text[0] = '\0';
    }
}

const char *
wq_err_format(const wq_err_t *err, char *buf, size_t size)
{
    if (!buf || size == 0)
        return buf;
    if (!err) {
        snprintf(buf, size, "(no error details)");
        return buf;
    }
    const char *text = err->text[0] ? err->text : wq_strerror(err->code);
    if (err->field[0])
        snprintf(buf, size, "%s: %s (%s)", err->field, text, wq_errname(err->code));
    else
        snprintf(buf, size, "%s (%s)", text, wq_errname(err->code));
    return buf;
}
