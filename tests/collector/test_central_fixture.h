/*  =========================================================================
    test_central_fixture - record builders for the central store's tests

    Records are made the way the agent makes them (wq_record_new, fields
    from text, wq_record_set_identity, wq_record_encode) and kept per
    stream as encoded blobs, so tests can deliver them in any batches.
    Static helpers only: each test program includes this header once.
    =========================================================================
*/
#ifndef TEST_CENTRAL_FIXTURE_H_INCLUDED
#define TEST_CENTRAL_FIXTURE_H_INCLUDED

#include <setjmp.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#define TC_UNUSED __attribute__((unused))

#include "collector/central.h"
#include "common/creditcode.h"
#include "common/record.h"

/*  A valid credit code numbered n (registered in Shijiazhuang). */
static TC_UNUSED void
tc_code(int n, char out[19])
{
    char first[18];
    snprintf(first, sizeof first, "91130100MA%07u", (unsigned) n % 10000000u);
    memcpy(out, first, 17);
    out[17] = wq_creditcode_checkchar(first);
    out[18] = '\0';
    assert_true(out[17] != 0);
}

/*  One agent's stream: encoded records, seq i+1 at index i. */
typedef struct {
    char agent[33];
    char county[7];
    uint32_t inc;
    uint8_t **data;
    size_t *size;
    size_t n, cap;
} tc_stream_t;

static TC_UNUSED void
tc_stream_init(tc_stream_t *s, const char *agent, const char *county, uint32_t inc)
{
    memset(s, 0, sizeof *s);
    snprintf(s->agent, sizeof s->agent, "%s", agent);
    snprintf(s->county, sizeof s->county, "%s", county);
    s->inc = inc;
}

static TC_UNUSED void
tc_stream_free(tc_stream_t *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->data[i]);
    free(s->data);
    free(s->size);
    memset(s, 0, sizeof *s);
}

static TC_UNUSED void
tc_stream_push_raw(tc_stream_t *s, const uint8_t *data, size_t size)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->data = realloc(s->data, s->cap * sizeof *s->data);
        s->size = realloc(s->size, s->cap * sizeof *s->size);
        assert_non_null(s->data);
        assert_non_null(s->size);
    }
    s->data[s->n] = malloc(size ? size : 1);
    assert_non_null(s->data[s->n]);
    memcpy(s->data[s->n], data, size);
    s->size[s->n] = size;
    s->n++;
}

/*  Next seq of the stream. */
static TC_UNUSED uint64_t
tc_next(const tc_stream_t *s)
{
    return s->n + 1;
}

/*  Text id of seq in stream s. */
static TC_UNUSED const char *
tc_id(const tc_stream_t *s, uint64_t seq)
{
    static char buf[8][WQ_EVENT_ID_MAX];
    static int k;
    char *b = buf[k++ % 8];
    wq_event_id_format(s->agent, s->inc, seq, b);
    return b;
}

/*  Make a record of type for stream s (next seq), date, county (NULL: the
    stream's), then "field", "value" pairs ending in NULL; "set.F" sets a
    correction's patch field. Validates unless novalidate, encodes, appends.
    Returns the seq. */
static TC_UNUSED uint64_t
tc_addv(tc_stream_t *s, bool novalidate, wq_rec_type_t type, const char *date, const char *county,
        va_list ap)
{
    wq_err_t err;
    wq_record_t *r = wq_record_new(type);
    assert_non_null(r);
    uint64_t seq = tc_next(s);
    wq_record_set_identity(r, s->agent, s->inc, seq, 1546300800000ull + seq);
    if (wq_record_set_text(r, "date", date, &err) != WQ_OK)
        fail_msg("date %s: %s", date, err.text);
    const char *cty = county ? county : s->county;
    if (wq_record_set_text(r, "county", cty, &err) != WQ_OK)
        fail_msg("county %s: %s", cty, err.text);
    for (;;) {
        const char *f = va_arg(ap, const char *);
        if (!f)
            break;
        const char *v = va_arg(ap, const char *);
        int rc;
        if (!strncmp(f, "set.", 4))
            rc = wq_record_set_patch_text(r, f + 4, v, &err);
        else
            rc = wq_record_set_text(r, f, v, &err);
        if (rc != WQ_OK && !novalidate)
            fail_msg("%s=%s: %s", f, v, err.text);
    }
    if (!novalidate && wq_record_validate(r, &err) != WQ_OK)
        fail_msg("record %s/%" PRIu64 " invalid: %s: %s", s->agent, seq, err.field, err.text);
    uint8_t *buf = NULL;
    size_t size = 0;
    assert_int_equal(wq_record_encode(r, &buf, &size), WQ_OK);
    tc_stream_push_raw(s, buf, size);
    free(buf);
    wq_record_destroy(&r);
    return seq;
}

static TC_UNUSED uint64_t
tc_add(tc_stream_t *s, wq_rec_type_t type, const char *date, ...)
{
    va_list ap;
    va_start(ap, date);
    uint64_t seq = tc_addv(s, false, type, date, NULL, ap);
    va_end(ap);
    return seq;
}

/*  Deliver stream records [from, to] (1-based seqs) as one batch. */
static TC_UNUSED int
tc_send(wq_central_t *c, const tc_stream_t *s, uint64_t from, uint64_t to, wq_ingest_result_t *res)
{
    size_t n = (size_t) (to - from + 1);
    wq_blob_t *b = calloc(n, sizeof *b);
    assert_non_null(b);
    for (size_t i = 0; i < n; i++) {
        b[i].data = s->data[from - 1 + i];
        b[i].size = s->size[from - 1 + i];
    }
    wq_err_t err;
    int rc = wq_central_ingest(c, s->agent, s->county, s->inc, from, b, n, 1000, res, &err);
    free(b);
    return rc;
}

/*  Deliver a whole stream in batches of at most k, asserting success. */
static TC_UNUSED void
tc_send_all(wq_central_t *c, const tc_stream_t *s, size_t k)
{
    for (uint64_t from = 1; from <= s->n; from += k) {
        uint64_t to = from + k - 1 < s->n ? from + k - 1 : s->n;
        wq_ingest_result_t res;
        int rc = tc_send(c, s, from, to, &res);
        if (rc != WQ_OK)
            fail_msg("ingest %s %" PRIu64 "..%" PRIu64 ": %s", s->agent, from, to, wq_strerror(rc));
        wq_ingest_result_clear(&res);
    }
}

/*  Run a query with "k=v" parameters (NULL-terminated); fails the test on error. */
static TC_UNUSED wq_table_t *
tc_query(wq_central_t *c, const char *name, ...)
{
    wq_param_t params[16];
    size_t n = 0;
    char *copies[16];
    va_list ap;
    va_start(ap, name);
    for (const char *kv; (kv = va_arg(ap, const char *)) && n < 16;) {
        copies[n] = strdup(kv);
        char *eq = strchr(copies[n], '=');
        assert_non_null(eq);
        *eq = '\0';
        params[n].key = copies[n];
        params[n].value = eq + 1;
        n++;
    }
    va_end(ap);
    wq_table_t *t = NULL;
    wq_err_t err;
    int rc = wq_central_query(c, name, params, n, &t, &err);
    for (size_t i = 0; i < n; i++)
        free(copies[i]);
    if (rc != WQ_OK)
        fail_msg("query %s: %s: %s", name, err.field, err.text);
    return t;
}

/*  Cell lookup by row and column name: integer (NULL cell -> -1). */
static TC_UNUSED int64_t
tc_int(const wq_table_t *t, size_t row, const char *col)
{
    int c = wq_table_find_col(t, col);
    if (c < 0)
        fail_msg("no column %s", col);
    const wq_cell_t *cell = wq_table_cell(t, row, (size_t) c);
    if (cell->kind == WQ_CELL_NULL)
        return -1;
    if (cell->kind != WQ_CELL_INT)
        fail_msg("column %s is not an integer", col);
    return cell->i;
}

static TC_UNUSED const char *
tc_str(const wq_table_t *t, size_t row, const char *col)
{
    int c = wq_table_find_col(t, col);
    if (c < 0)
        fail_msg("no column %s", col);
    const wq_cell_t *cell = wq_table_cell(t, row, (size_t) c);
    if (cell->kind == WQ_CELL_NULL)
        return NULL;
    if (cell->kind != WQ_CELL_STR)
        fail_msg("column %s is not text", col);
    return cell->s;
}

/*  Row whose column col has text value v, or fail. */
static TC_UNUSED size_t
tc_row(const wq_table_t *t, const char *col, const char *v)
{
    for (size_t r = 0; r < wq_table_nrows(t); r++) {
        const char *s = tc_str(t, r, col);
        if (s && !strcmp(s, v))
            return r;
    }
    fail_msg("no row with %s = %s", col, v);
    return 0;
}

/*  Two tables equal cell by cell; returns true if so. */
static TC_UNUSED bool
tc_tables_equal(const wq_table_t *a, const wq_table_t *b)
{
    if (wq_table_ncols(a) != wq_table_ncols(b) || wq_table_nrows(a) != wq_table_nrows(b))
        return false;
    for (size_t c = 0; c < wq_table_ncols(a); c++)
        if (strcmp(wq_table_col(a, c), wq_table_col(b, c)))
            return false;
    for (size_t r = 0; r < wq_table_nrows(a); r++)
        for (size_t c = 0; c < wq_table_ncols(a); c++) {
            const wq_cell_t *x = wq_table_cell(a, r, c), *y = wq_table_cell(b, r, c);
            if (x->kind != y->kind)
                return false;
            if (x->kind == WQ_CELL_INT && x->i != y->i)
                return false;
            if (x->kind == WQ_CELL_STR && strcmp(x->s, y->s))
                return false;
        }
    return true;
}

#endif
