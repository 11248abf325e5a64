/*  =========================================================================
    json - strict reader for one flat JSON object, and string escaping

    Counties import records as JSON Lines, one object per line, and the
    programs print --format json. This reader accepts exactly RFC 8259 JSON
    for one object whose members are scalars or arrays of strings: a record
    has no deeper structure, so anything deeper is reported as a type
    error rather than half-understood. Every error names the byte column
    (1-based) and, once known, the member's key, so that a cadre can find
    the mistake in line 3,812 of an export. Strings come out as UTF-8 and
    must be valid UTF-8; a \u0000 escape is refused (it would cut a C string).
    =========================================================================
*/
#include "common/json.h"
#include "common/i18n.h"
#include "common/utf8.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_MEMBERS 256
#define S_MAX_STRING (64 * 1024)

typedef struct {
    const char *s;
    size_t len;
    size_t pos;
    const char *key;    /* member being parsed, for error fields; NULL before a key */
    wq_err_t *err;
} s_parser_t;

static int
s_fail(s_parser_t *p, int code, size_t at, const char *what)
{
    return wq_err_set(p->err, code, p->key ? p->key : "json", _("%s at byte %zu"), what, at + 1);
}

static void
s_ws(s_parser_t *p)
{
    while (p->pos < p->len) {
        char c = p->s[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        p->pos++;
    }
}

static int
s_hex4(const char *s, uint32_t *out)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (uint32_t) (c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (uint32_t) (c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (uint32_t) (c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

static size_t
s_put_utf8(char *out, uint32_t cp)
{
    if (cp < 0x80) {
        out[0] = (char) cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char) (0xC0 | (cp >> 6));
        out[1] = (char) (0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char) (0xE0 | (cp >> 12));
        out[1] = (char) (0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char) (0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char) (0xF0 | (cp >> 18));
    out[1] = (char) (0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char) (0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char) (0x80 | (cp & 0x3F));
    return 4;
}

/*  Parse a string at p->pos (which is at '"') into a new *out. */
static int
s_string(s_parser_t *p, char **out)
{
    size_t start = p->pos + 1, end = start;
    int rc = WQ_OK;
    char *buf = NULL;
    /* Find the closing quote first: the decoded text is never longer. */
    while (end < p->len && p->s[end] != '"') {
        if (p->s[end] == '\\')
            end++;
        end++;
    }
    if (end >= p->len) {
        rc = s_fail(p, WQ_E_FORMAT, p->pos, "unterminated string starting");
        goto fail;
    }
    if (!wq_utf8_valid(p->s + start, end - start, NULL)) {
        size_t off = 0;
        wq_utf8_valid(p->s + start, end - start, &off);
        rc = s_fail(p, WQ_E_UTF8, start + off, "invalid UTF-8 in a string");
        goto fail;
    }
    buf = malloc(end - start + 1);
    if (!buf) {
        rc = wq_err_set(p->err, WQ_E_NOMEM, "json", _("out of memory reading a string"));
        goto fail;
    }
    size_t n = 0, i = start;
    while (i < end) {
        unsigned char c = (unsigned char) p->s[i];
        if (c < 0x20) {
            rc = s_fail(p, WQ_E_FORMAT, i, "unescaped control character in a string");
            goto fail;
        }
        if (c != '\\') {
            buf[n++] = (char) c;
            i++;
            continue;
        }
        char e = p->s[i + 1];    /* i + 1 < end: a backslash never ends the scan */
        switch (e) {
        case '"': buf[n++] = '"'; break;
        case '\\': buf[n++] = '\\'; break;
        case '/': buf[n++] = '/'; break;
        case 'b': buf[n++] = '\b'; break;
        case 'f': buf[n++] = '\f'; break;
        case 'n': buf[n++] = '\n'; break;
        case 'r': buf[n++] = '\r'; break;
        case 't': buf[n++] = '\t'; break;
        case 'u': {
            uint32_t cp, lo;
            if (i + 6 > end || s_hex4(p->s + i + 2, &cp) != 0) {
                rc = s_fail(p, WQ_E_FORMAT, i, "\\u needs 4 hex digits");
                goto fail;
            }
            if (cp >= 0xDC00 && cp <= 0xDFFF) {
                rc = s_fail(p, WQ_E_UTF8, i, "lone low surrogate \\u escape");
                goto fail;
            }
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (i + 12 > end || p->s[i + 6] != '\\' || p->s[i + 7] != 'u' ||
                    s_hex4(p->s + i + 8, &lo) != 0 || lo < 0xDC00 || lo > 0xDFFF) {
                    rc = s_fail(p, WQ_E_UTF8, i,
                                "high surrogate \\u escape not followed by a low surrogate");
                    goto fail;
                }
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                i += 6;
            }
            if (cp == 0) {
                rc = s_fail(p, WQ_E_UTF8, i, "\\u0000 (NUL) is not allowed in a string");
                goto fail;
            }
            n += s_put_utf8(buf + n, cp);
            i += 4;
            break;
        }
        default:
            rc = s_fail(p, WQ_E_FORMAT, i, "unknown escape in a string");
            goto fail;
        }
        i += 2;
    }
    buf[n] = '\0';
    if (n > S_MAX_STRING) {
        rc = wq_err_set(p->err, WQ_E_RANGE, p->key ? p->key : "json",
                        _("string of %zu bytes at byte %zu; at most %d"), n, p->pos + 1,
                        S_MAX_STRING);
        goto fail;
    }
    p->pos = end + 1;
    *out = buf;
    return WQ_OK;
fail:
    free(buf);
    return rc;
}

static int
s_number(s_parser_t *p, char **out)
{
    size_t i = p->pos, start = p->pos;
    const char *s = p->s;
    if (i < p->len && s[i] == '-')
        i++;
    if (i < p->len && s[i] == '0')
        i++;
    else if (i < p->len && s[i] >= '1' && s[i] <= '9')
        while (i < p->len && s[i] >= '0' && s[i] <= '9')
            i++;
    else
        return s_fail(p, WQ_E_FORMAT, i, "bad number");
    if (i < p->len && s[i] == '.') {
        i++;
        if (i >= p->len || s[i] < '0' || s[i] > '9')
            return s_fail(p, WQ_E_FORMAT, i, "digits expected after the decimal point");
        while (i < p->len && s[i] >= '0' && s[i] <= '9')
            i++;
    }
    if (i < p->len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < p->len && (s[i] == '+' || s[i] == '-'))
            i++;
        if (i >= p->len || s[i] < '0' || s[i] > '9')
            return s_fail(p, WQ_E_FORMAT, i, "digits expected in the exponent");
        while (i < p->len && s[i] >= '0' && s[i] <= '9')
            i++;
    }
    char *t = strndup(s + start, i - start);
    if (!t)
        return wq_err_set(p->err, WQ_E_NOMEM, "json", _("out of memory reading a number"));
    p->pos = i;
    *out = t;
    return WQ_OK;
}

static bool
s_literal(s_parser_t *p, const char *word)
{
    size_t n = strlen(word);
    if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0)
        return false;
    p->pos += n;
    return true;
}

static void
s_member_free(wq_json_member_t *m)
{
    free(m->key);
    free(m->text);
    for (size_t i = 0; i < m->nitems; i++)
        free(m->items[i]);
    free(m->items);
    memset(m, 0, sizeof *m);
}

static int
s_array(s_parser_t *p, wq_json_member_t *m)
{
    p->pos++;    /* '[' */
    s_ws(p);
    if (p->pos < p->len && p->s[p->pos] == ']') {
        p->pos++;
        return WQ_OK;
    }
    size_t cap = 0;
    for (;;) {
        s_ws(p);
        if (p->pos >= p->len)
            return s_fail(p, WQ_E_FORMAT, p->pos, "input ends inside an array");
        if (p->s[p->pos] != '"') {
            char c = p->s[p->pos];
            if (c == '{' || c == '[' || c == '-' || (c >= '0' && c <= '9') || c == 't' ||
                c == 'f' || c == 'n')
                return s_fail(p, WQ_E_TYPE, p->pos, "arrays may hold only strings; found a non-string");
            return s_fail(p, WQ_E_FORMAT, p->pos, "string expected in an array");
        }
        if (m->nitems == cap) {
            size_t ncap = cap ? cap * 2 : 4;
            char **items = realloc(m->items, ncap * sizeof *items);
            if (!items)
                return wq_err_set(p->err, WQ_E_NOMEM, "json", _("out of memory reading an array"));
            m->items = items;
            cap = ncap;
        }
        int rc = s_string(p, &m->items[m->nitems]);
        if (rc != WQ_OK)
            return rc;
        m->nitems++;
        s_ws(p);
        if (p->pos < p->len && p->s[p->pos] == ',') {
            p->pos++;
            continue;
        }
        if (p->pos < p->len && p->s[p->pos] == ']') {
            p->pos++;
            return WQ_OK;
        }
        return s_fail(p, WQ_E_FORMAT, p->pos, "',' or ']' expected in an array");
    }
}

static int
s_value(s_parser_t *p, wq_json_member_t *m)
{
    if (p->pos >= p->len)
        return s_fail(p, WQ_E_FORMAT, p->pos, "input ends where a value was expected");
    char c = p->s[p->pos];
    if (c == '"') {
        m->kind = WQ_JSON_STRING;
        return s_string(p, &m->text);
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
        m->kind = WQ_JSON_NUMBER;
        return s_number(p, &m->text);
    }
    if (c == '[') {
        m->kind = WQ_JSON_ARRAY;
        return s_array(p, m);
    }
    if (c == '{')
        return s_fail(p, WQ_E_TYPE, p->pos, "nested objects are not allowed: found '{'");
    if (s_literal(p, "true")) {
        m->kind = WQ_JSON_BOOL;
        m->boolean = true;
        return WQ_OK;
    }
    if (s_literal(p, "false")) {
        m->kind = WQ_JSON_BOOL;
        m->boolean = false;
        return WQ_OK;
    }
    if (s_literal(p, "null")) {
        m->kind = WQ_JSON_NULL;
        return WQ_OK;
    }
    return s_fail(p, WQ_E_FORMAT, p->pos, "a value (string, number, true, false, null or array) expected");
}

void
wq_json_object_destroy(wq_json_object_t **obj)
{
    if (!obj || !*obj)
        return;
    for (size_t i = 0; i < (*obj)->count; i++)
        s_member_free(&(*obj)->members[i]);
    free((*obj)->members);
    free(*obj);
    *obj = NULL;
}

const wq_json_member_t *
wq_json_get(const wq_json_object_t *obj, const char *key)
{
    if (!obj || !key)
        return NULL;
    for (size_t i = 0; i < obj->count; i++)
        if (strcmp(obj->members[i].key, key) == 0)
            return &obj->members[i];
    return NULL;
}

int
wq_json_parse_object(const char *s, size_t len, wq_json_object_t **out, wq_err_t *err)
{
    s_parser_t p = {.s = s, .len = len, .pos = 0, .key = NULL, .err = err};
    wq_json_object_t *obj = NULL;
    size_t cap = 0;
    int rc;
    *out = NULL;
    obj = calloc(1, sizeof *obj);
    if (!obj) {
        rc = wq_err_set(err, WQ_E_NOMEM, "json", _("out of memory"));
        goto fail;
    }
    s_ws(&p);
    if (p.pos >= len) {
        rc = s_fail(&p, WQ_E_FORMAT, p.pos, "empty input: a JSON object expected");
        goto fail;
    }
    if (s[p.pos] != '{') {
        rc = s_fail(&p, s[p.pos] == '[' ? WQ_E_TYPE : WQ_E_FORMAT, p.pos,
                    "a JSON object ('{') expected");
        goto fail;
    }
    p.pos++;
    s_ws(&p);
    if (p.pos < len && s[p.pos] == '}') {
        p.pos++;
        goto done;
    }
    for (;;) {
        s_ws(&p);
        p.key = NULL;
        if (p.pos >= len || s[p.pos] != '"') {
            rc = s_fail(&p, WQ_E_FORMAT, p.pos, "a member name in double quotes expected");
            goto fail;
        }
        if (obj->count == S_MAX_MEMBERS) {
            rc = wq_err_set(err, WQ_E_RANGE, "json", _("more than %d members at byte %zu"),
                            S_MAX_MEMBERS, p.pos + 1);
            goto fail;
        }
        if (obj->count == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            wq_json_member_t *m = realloc(obj->members, ncap * sizeof *m);
            if (!m) {
                rc = wq_err_set(err, WQ_E_NOMEM, "json", _("out of memory"));
                goto fail;
            }
            obj->members = m;
            cap = ncap;
        }
        wq_json_member_t *m = &obj->members[obj->count++];
        memset(m, 0, sizeof *m);
        size_t key_at = p.pos;
        rc = s_string(&p, &m->key);
        if (rc != WQ_OK)
            goto fail;
        p.key = m->key;
        if (wq_json_get(&(wq_json_object_t){obj->members, obj->count - 1}, m->key)) {
            rc = s_fail(&p, WQ_E_DUPFIELD, key_at, "the same member name appears a second time");
            goto fail;
        }
        s_ws(&p);
        if (p.pos >= len || s[p.pos] != ':') {
            rc = s_fail(&p, WQ_E_FORMAT, p.pos, "':' expected after the member name");
            goto fail;
        }
        p.pos++;
        s_ws(&p);
        rc = s_value(&p, m);
        if (rc != WQ_OK)
            goto fail;
        s_ws(&p);
        if (p.pos < len && s[p.pos] == ',') {
            p.pos++;
            continue;
        }
        if (p.pos < len && s[p.pos] == '}') {
            p.pos++;
            break;
        }
        rc = s_fail(&p, WQ_E_FORMAT, p.pos, "',' or '}' expected after a member");
        goto fail;
    }
done:
    s_ws(&p);
    if (p.pos < len) {
        p.key = NULL;
        rc = s_fail(&p, WQ_E_FORMAT, p.pos, "text after the end of the object");
        goto fail;
    }
    *out = obj;
    return WQ_OK;
fail:
    wq_json_object_destroy(&obj);
    return rc;
}

void
wq_json_write_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *c = (const unsigned char *) (s ? s : ""); *c; c++) {
        switch (*c) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        case '\b': fputs("\\b", f); break;
        case '\f': fputs("\\f", f); break;
        default:
            if (*c < 0x20)
                fprintf(f, "\\u%04x", (unsigned) *c);
            else
                fputc(*c, f);
        }
    }
    fputc('"', f);
}
