/*  The campaign generator (common/generate.c): every line it writes is
    imported the way the agent does it (JSON parse, wq_record_from_json,
    "@N" resolved to that line's id, identity set, wq_record_validate), and
    its statistics are recomputed here by an independent fold of the
    imported records, field by field. Also: reproducibility from the seed,
    full coverage of every enum value, date bounds, credit codes, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/date.h"
#include "common/generate.h"
#include "common/json.h"
#include "common/record.h"

#define AGENT "t-01"
#define INC 0x00c0ffeeu

/*  ---- running the generator ----------------------------------------- */

typedef struct {
    char *text;
    size_t len;
    wq_generate_stats_t st;
    char **lines;           /* pointers into text */
    size_t nlines;
    wq_record_t **recs;     /* recs[i] is line i + 1 */
} s_run_t;

static int
s_generate(s_run_t *run, const char *county, const char *start, const char *end, uint64_t seed,
           size_t n, wq_err_t *err)
{
    memset(run, 0, sizeof *run);
    FILE *f = open_memstream(&run->text, &run->len);
    assert_non_null(f);
    int rc = wq_generate(f, county, start, end, seed, n, &run->st, err);
    assert_int_equal(fclose(f), 0);
    return rc;
}

/*  Import every line as the agent would; fail the test on any bad line. */
static void
s_import(s_run_t *run)
{
    size_t cap = 0;
    char *p = run->text;
    while (*p) {
        char *nl = strchr(p, '\n');
        assert_non_null(nl);    /* every line ends with a newline */
        *nl = '\0';
        if (run->nlines == cap) {
            cap = cap ? cap * 2 : 256;
            run->lines = realloc(run->lines, cap * sizeof *run->lines);
            assert_non_null(run->lines);
        }
        run->lines[run->nlines++] = p;
        p = nl + 1;
    }
    run->recs = calloc(run->nlines ? run->nlines : 1, sizeof *run->recs);
    assert_non_null(run->recs);
    for (size_t i = 0; i < run->nlines; i++) {
        const char *line = run->lines[i];
        wq_json_object_t *obj = NULL;
        wq_record_t *r = NULL;
        wq_err_t err;
        if (wq_json_parse_object(line, strlen(line), &obj, &err) != WQ_OK)
            fail_msg("line %zu is not JSON (%s): %s", i + 1, err.text, line);
        if (wq_record_from_json(obj, &r, &err) != WQ_OK)
            fail_msg("line %zu: %s: %s: %s", i + 1, err.field, err.text, line);
        wq_json_object_destroy(&obj);
        /* Resolve "@N" to the id of line N, which must come earlier. */
        static const char *const refs[] = {"visit", "problem", "consultation", "target"};
        for (size_t k = 0; k < 4; k++) {
            wq_field_t f = wq_field_parse(refs[k]);
            if (!(r->present & (1ull << f)))
                continue;
            const char *v = f == WQ_F_VISIT     ? r->visit
                            : f == WQ_F_PROBLEM ? r->problem
                            : f == WQ_F_TARGET  ? r->target
                                                : r->consultation;
            unsigned long n = 0;
            if (!wq_event_ref_is_line(v, &n))
                fail_msg("line %zu: %s is not a line reference: %s", i + 1, refs[k], v);
            if (n < 1 || n > i)
                fail_msg("line %zu refers to line %lu, not an earlier one", i + 1, n);
            char id[WQ_EVENT_ID_MAX];
            wq_event_id_format(AGENT, INC, n, id);
            assert_int_equal(wq_record_set_text(r, refs[k], id, &err), WQ_OK);
        }
        wq_record_set_identity(r, AGENT, INC, i + 1, 1560000000000ull + i);
        if (wq_record_validate(r, &err) != WQ_OK)
            fail_msg("line %zu: %s: %s: %s", i + 1, err.field, err.text, line);
        /* The record round-trips through msgpack too. */
        uint8_t *b;
        size_t n;
        assert_int_equal(wq_record_encode(r, &b, &n), WQ_OK);
        wq_record_t *d = NULL;
        assert_int_equal(wq_record_decode(b, n, &d, &err), WQ_OK);
        assert_int_equal(wq_record_validate(d, &err), WQ_OK);
        wq_record_destroy(&d);
        free(b);
        run->recs[i] = r;
    }
}

static void
s_free(s_run_t *run)
{
    for (size_t i = 0; run->recs && i < run->nlines; i++)
        wq_record_destroy(&run->recs[i]);
    free(run->recs);
    free(run->lines);
    free(run->text);
    memset(run, 0, sizeof *run);
}

/*  Line number (1-based) of the event an id field names. */
static size_t
s_line_of(const char *id)
{
    char agent[WQ_AGENT_ID_MAX + 1];
    uint32_t inc;
    uint64_t seq;
    assert_int_equal(wq_event_id_parse(id, agent, &inc, &seq, NULL), WQ_OK);
    assert_string_equal(agent, AGENT);
    return (size_t) seq;
}

/*  (date, line) later than (date2, line2)? The collector's fold order. */
static bool
s_later(const wq_record_t *a, size_t la, const wq_record_t *b, size_t lb)
{
    int c = strcmp(a->date, b->date);
    return c > 0 || (c == 0 && la > lb);
}

/*  ---- an independent fold of the imported records -------------------- */

static void
s_fold(const s_run_t *run, const char *end_date, wq_generate_stats_t *st)
{
    size_t n = run->nlines;
    memset(st, 0, sizeof *st);
    bool *retracted = calloc(n + 1, sizeof *retracted);
    size_t *correction_of = calloc(n + 1, sizeof *correction_of);   /* line of its correction */
    assert_non_null(retracted);
    assert_non_null(correction_of);
    for (size_t i = 0; i < n; i++) {
        const wq_record_t *r = run->recs[i];
        if (r->type == WQ_REC_RETRACTION)
            retracted[s_line_of(r->target)] = true;
        if (r->type == WQ_REC_CORRECTION) {
            size_t t = s_line_of(r->target);
            assert_int_equal(correction_of[t], 0);    /* at most one per target */
            correction_of[t] = i + 1;
        }
    }
    st->records = n;
    for (size_t i = 0; i < n; i++) {
        const wq_record_t *r = run->recs[i];
        size_t line = i + 1;
        st->by_type[r->type]++;
        switch (r->type) {
        case WQ_REC_ENTERPRISE: {
            bool first = true;
            for (size_t j = 0; j < i; j++)
                if (run->recs[j]->type == WQ_REC_ENTERPRISE && !strcmp(run->recs[j]->ent, r->ent))
                    first = false;
            if (!first) {
                st->enterprise_updates++;
                break;
            }
            st->enterprises++;
            if (r->above_size)
                st->enterprises_above_size++;
            st->enterprises_by_focus[(r->present & (1ull << WQ_F_FOCUS)) ? r->focus : 0]++;
            bool visited = false, classified = false, reclassified = false;
            const wq_record_t *last_class = NULL;
            size_t last_class_line = 0;
            for (size_t j = 0; j < n; j++) {
                const wq_record_t *o = run->recs[j];
                if (strcmp(o->ent, r->ent) != 0)
                    continue;
                if (o->type == WQ_REC_VISIT)
                    visited = true;
                if (o->type == WQ_REC_CLASSIFICATION) {
                    reclassified = classified;
                    classified = true;
                    if (!last_class || s_later(o, j + 1, last_class, last_class_line)) {
                        last_class = o;
                        last_class_line = j + 1;
                    }
                }
            }
            if (visited)
                st->enterprises_visited++;
            if (reclassified)
                st->reclassified++;
            if (last_class)
                st->enterprises_by_class[last_class->klass]++;
            break;
        }
        case WQ_REC_VISIT:
            st->visits++;
            st->visits_by_method[r->method]++;
            break;
        case WQ_REC_PROBLEM: {
            st->problems++;
            st->problems_by_category[r->category]++;
            st->problems_by_severity[r->severity]++;
            const wq_record_t *last_plan = NULL, *last_prog = NULL;
            size_t lp = 0, lg = 0;
            int nplans = 0;
            for (size_t j = i + 1; j < n; j++) {
                const wq_record_t *o = run->recs[j];
                if ((o->type != WQ_REC_PLAN && o->type != WQ_REC_PROGRESS)
                    || s_line_of(o->problem) != line)
                    continue;
                if (o->type == WQ_REC_PLAN) {
                    nplans++;
                    if (!last_plan || s_later(o, j + 1, last_plan, lp)) {
                        last_plan = o;
                        lp = j + 1;
                    }
                } else if (!last_prog || s_later(o, j + 1, last_prog, lg)) {
                    last_prog = o;
                    lg = j + 1;
                }
            }
            wq_status_t status = last_prog ? last_prog->status : WQ_STATUS_OPEN;
            st->problems_by_status[status]++;
            if (last_plan) {
                st->problems_with_plan++;
                if (nplans > 1)
                    st->plans_revised++;
                const char *deadline = last_plan->deadline;
                if (correction_of[lp]) {
                    const wq_record_t *c = run->recs[correction_of[lp] - 1];
                    assert_int_equal(c->of, WQ_REC_PLAN);
                    assert_true(c->set->present & (1ull << WQ_F_DEADLINE));
                    deadline = c->set->deadline;
                }
                if (strcmp(deadline, end_date) < 0 && status != WQ_STATUS_RECTIFIED
                    && status != WQ_STATUS_VERIFIED)
                    st->overdue++;
            }
            /* On time or late (lines are in fold order): the day it was last
               resolved against the deadline in force that day. */
            char tog[16][11];
            int ntog = 0;
            bool resolved = false;
            for (size_t j = i + 1; j < n; j++) {
                const wq_record_t *o = run->recs[j];
                if (o->type != WQ_REC_PROGRESS || s_line_of(o->problem) != line)
                    continue;
                bool now = o->status == WQ_STATUS_RECTIFIED || o->status == WQ_STATUS_VERIFIED;
                if (now != resolved) {
                    if (ntog > 0 && strcmp(tog[ntog - 1], o->date) == 0)
                        ntog--;
                    else
                        snprintf(tog[ntog++], 11, "%s", o->date);
                }
                resolved = now;
            }
            if (ntog % 2 == 1) {
                const char *dl = NULL;
                for (size_t j = i + 1; j < n; j++) {
                    const wq_record_t *o = run->recs[j];
                    if (o->type != WQ_REC_PLAN || s_line_of(o->problem) != line ||
                        strcmp(o->date, tog[ntog - 1]) > 0)
                        continue;
                    dl = o->deadline;
                    if (correction_of[j + 1])
                        dl = run->recs[correction_of[j + 1] - 1]->set->deadline;
                }
                if (dl && strcmp(tog[ntog - 1], dl) > 0)
                    st->rectified_late++;
                else
                    st->rectified_on_time++;
            }
            break;
        }
        case WQ_REC_PLAN:
            st->plans++;
            break;
        case WQ_REC_PROGRESS:
            st->progress++;
            break;
        case WQ_REC_SERVICE:
            if (retracted[line])
                break;
            st->services++;
            st->services_by_kind[r->kind]++;
            break;
        case WQ_REC_CONSULTATION: {
            st->consultations++;
            st->consultations_by_channel[r->channel]++;
            int answers = 0;
            for (size_t j = i + 1; j < n; j++) {
                const wq_record_t *o = run->recs[j];
                if (o->type == WQ_REC_ANSWER && s_line_of(o->consultation) == line) {
                    answers++;
                    st->answer_days_total += (size_t) (wq_date_days(o->date) - wq_date_days(r->date));
                }
            }
            assert_true(answers <= 1);
            if (answers)
                st->consultations_answered++;
            else
                st->consultations_unanswered++;
            break;
        }
        case WQ_REC_ANSWER:     /* counted with its consultation */
            break;
        case WQ_REC_CLASSIFICATION:
            st->classifications++;
            break;
        case WQ_REC_GRADING: {
            st->gradings++;
            bool later = false;     /* a later grading of the same enterprise */
            for (size_t j = i + 1; j < n && !later; j++)
                later = run->recs[j]->type == WQ_REC_GRADING && !strcmp(run->recs[j]->ent, r->ent);
            if (!later)
                st->enterprises_by_grade[r->grade]++;
            break;
        }
        case WQ_REC_CORRECTION:
            st->corrections++;
            break;
        case WQ_REC_RETRACTION:
            st->retractions++;
            /* only services are ever retracted */
            assert_int_equal(run->recs[s_line_of(r->target) - 1]->type, WQ_REC_SERVICE);
            break;
        default:
            fail();
        }
    }
    free(retracted);
    free(correction_of);
}

static void
s_compare(const wq_generate_stats_t *a, const wq_generate_stats_t *b)
{
    char *ta = NULL, *tb = NULL;
    size_t la = 0, lb = 0;
    FILE *fa = open_memstream(&ta, &la), *fb = open_memstream(&tb, &lb);
    wq_generate_stats_t x = *a, y = *b;
    x.sample_ent[0] = y.sample_ent[0] = '\0';
    assert_int_equal(wq_generate_stats_write(&x, fa), WQ_OK);
    assert_int_equal(wq_generate_stats_write(&y, fb), WQ_OK);
    fclose(fa);
    fclose(fb);
    if (strcmp(ta, tb) != 0)
        fail_msg("generator stats differ from the fold:\n--- generator\n%s--- fold\n%s", ta, tb);
    free(ta);
    free(tb);
}

/*  ---- tests ------------------------------------------------------------ */

static void
s_check_campaign(const char *county, const char *start, const char *end, uint64_t seed, size_t n)
{
    s_run_t run;
    wq_err_t err;
    if (s_generate(&run, county, start, end, seed, n, &err) != WQ_OK)
        fail_msg("generate %s: %s: %s", county, err.field, err.text);
    s_import(&run);
    assert_int_equal(run.nlines, run.st.records);
    wq_generate_stats_t fold;
    s_fold(&run, end ? end : "2019-12-31", &fold);
    s_compare(&run.st, &fold);
    /* Every line carries the county and a date inside the window. */
    int32_t lo = wq_date_days(start ? start : "2019-02-01");
    int32_t hi = wq_date_days(end ? end : "2019-12-31");
    const char *prev = "";
    for (size_t i = 0; i < run.nlines; i++) {
        const wq_record_t *r = run.recs[i];
        assert_string_equal(r->county, county);
        int32_t d = wq_date_days(r->date);
        assert_true(d >= lo && d <= hi);
        assert_true(strcmp(prev, r->date) <= 0);    /* lines are in date order */
        prev = r->date;
    }
    /* sample_ent is an enterprise with the most lines. */
    if (n > 0) {
        size_t best = 0, of_sample = 0;
        for (size_t i = 0; i < run.nlines; i++) {
            const wq_record_t *r = run.recs[i];
            if (r->type != WQ_REC_ENTERPRISE)
                continue;
            size_t c = 0;
            for (size_t j = 0; j < run.nlines; j++)
                if (!strcmp(run.recs[j]->ent, r->ent))
                    c++;
            if (c > best)
                best = c;
            if (!strcmp(r->ent, run.st.sample_ent))
                of_sample = c;
        }
        assert_true(of_sample > 0);
        assert_int_equal(of_sample, best);
    }
    s_free(&run);
}

static void
test_lines_validate_and_stats_fold(void **state)
{
    (void) state;
    s_check_campaign("130102", NULL, NULL, 1, 40);
    s_check_campaign("130102", NULL, NULL, 2, 12);
    s_check_campaign("130521", "2019-02-01", "2019-12-31", 7, 25);  /* retired in 2020 */
    s_check_campaign("130171", "2019-03-01", "2020-06-30", 3, 20);  /* a functional zone */
    s_check_campaign("131182", "2021-01-01", "2021-12-31", 4, 15);  /* today's list */
    s_check_campaign("130102", "2019-06-01", "2019-06-01", 5, 10);  /* a one-day window */
    s_check_campaign("130102", NULL, NULL, 6, 1);
    s_check_campaign("130102", NULL, NULL, 6, 0);
}

static void
test_many_seeds(void **state)
{
    (void) state;
    for (uint64_t seed = 100; seed < 110; seed++)
        s_check_campaign("130123", NULL, NULL, seed, 30);
}

static void
test_reproducible(void **state)
{
    (void) state;
    s_run_t a, b, c, d;
    wq_err_t err;
    assert_int_equal(s_generate(&a, "130102", NULL, NULL, 42, 30, &err), WQ_OK);
    assert_int_equal(s_generate(&b, "130102", NULL, NULL, 42, 30, &err), WQ_OK);
    assert_int_equal(s_generate(&c, "130102", NULL, NULL, 43, 30, &err), WQ_OK);
    assert_int_equal(s_generate(&d, "130104", NULL, NULL, 42, 30, &err), WQ_OK);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.text, b.text, a.len);
    assert_memory_equal(&a.st, &b.st, sizeof a.st);
    assert_true(a.len != c.len || memcmp(a.text, c.text, a.len) != 0);
    assert_true(a.len != d.len || memcmp(a.text, d.text, a.len) != 0);
    /* Pin the first line of one campaign: the stream must not drift
       between platforms or releases without the test saying so. */
    const char *nl = strchr(a.text, '\n');
    assert_non_null(nl);
    char first[600];
    snprintf(first, sizeof first, "%.*s", (int) (nl - a.text), a.text);
    assert_string_equal(first,
                        "{\"type\":\"enterprise\",\"date\":\"2019-02-01\",\"county\":\"130102\","
                        "\"ent\":\"91130102MA039XA3E2\",\"by\":\"吴晓东\",\"name\":\"长安安金精细化工有限公司\","
                        "\"industry\":\"C2619\",\"address\":\"长安区建设大街102号\",\"above_size\":true,"
                        "\"focus\":\"discharger\",\"cadre\":\"吴晓东\"}");
    assert_int_equal(a.st.records, 379);   /* 369 before gradings (their own random stream) */
    /* Credit codes: never shared between two counties' campaigns. */
    s_import(&a);
    s_import(&d);
    size_t other_region = 0;
    for (size_t i = 0; i < a.nlines; i++) {
        if (a.recs[i]->type != WQ_REC_ENTERPRISE)
            continue;
        if (memcmp(a.recs[i]->ent + 2, "130102", 6) != 0)
            other_region++;
        for (size_t j = 0; j < d.nlines; j++)
            assert_string_not_equal(a.recs[i]->ent, d.recs[j]->ent);
    }
    assert_true(other_region > 0);     /* some registered elsewhere */
    s_free(&a);
    s_free(&b);
    s_free(&c);
    s_free(&d);
}

static void
test_credit_codes_unique(void **state)
{
    (void) state;
    s_run_t a;
    wq_err_t err;
    assert_int_equal(s_generate(&a, "130102", NULL, NULL, 9, 300, &err), WQ_OK);
    s_import(&a);
    char (*codes)[19] = calloc(a.st.enterprises, sizeof *codes);
    size_t k = 0;
    for (size_t i = 0; i < a.nlines; i++) {
        const wq_record_t *r = a.recs[i];
        if (r->type != WQ_REC_ENTERPRISE)
            continue;
        bool seen = false;
        for (size_t j = 0; j < k; j++)
            seen = seen || !strcmp(codes[j], r->ent);
        if (!seen) {
            assert_true(k < a.st.enterprises);
            memcpy(codes[k++], r->ent, 19);
        }
    }
    assert_int_equal(k, 300);
    assert_int_equal(a.st.enterprises, 300);
    free(codes);
    s_free(&a);
}

static void
test_coverage(void **state)
{
    (void) state;
    for (uint64_t seed = 1; seed <= 8; seed++) {
        s_run_t a;
        wq_err_t err;
        assert_int_equal(s_generate(&a, "130102", NULL, NULL, seed, WQ_GENERATE_FULL_COVERAGE,
                                    &err), WQ_OK);
        const wq_generate_stats_t *s = &a.st;
        for (int t = 1; t < WQ_REC_TYPE_COUNT; t++)
            assert_true(s->by_type[t] > 0);
        for (int v = 0; v < WQ_FOCUS_COUNT; v++)
            assert_true(s->enterprises_by_focus[v] > 0);
        for (int v = 1; v < WQ_GRADE_COUNT; v++)
            assert_true(s->enterprises_by_grade[v] > 0);
        assert_true(s->rectified_on_time > 0);
        assert_true(s->rectified_late > 0);
        for (int v = 1; v < WQ_METHOD_COUNT; v++)
            assert_true(s->visits_by_method[v] > 0);
        for (int v = 1; v < WQ_CAT_COUNT; v++)
            assert_true(s->problems_by_category[v] > 0);
        for (int v = 1; v < WQ_SEV_COUNT; v++)
            assert_true(s->problems_by_severity[v] > 0);
        for (int v = 1; v < WQ_STATUS_COUNT; v++)
            assert_true(s->problems_by_status[v] > 0);
        for (int v = 1; v < WQ_SERVICE_COUNT; v++)
            assert_true(s->services_by_kind[v] > 0);
        for (int v = 1; v < WQ_CHANNEL_COUNT; v++)
            assert_true(s->consultations_by_channel[v] > 0);
        for (int v = 1; v < WQ_CLASS_COUNT; v++)
            assert_true(s->enterprises_by_class[v] > 0);
        assert_true(s->consultations_unanswered > 0);
        assert_true(s->consultations_answered > 0);
        assert_true(s->overdue > 0);
        assert_true(s->corrections >= 3);
        assert_true(s->retractions > 0);
        assert_true(s->enterprise_updates > 0);
        assert_true(s->reclassified > 0);
        assert_true(s->plans_revised > 0);
        assert_int_equal(s->enterprises, WQ_GENERATE_FULL_COVERAGE);
        assert_int_equal(s->enterprises_visited, WQ_GENERATE_FULL_COVERAGE);
        s_free(&a);
    }
}

static void
test_errors(void **state)
{
    (void) state;
    s_run_t a;
    wq_err_t err;
    assert_int_equal(s_generate(&a, "139999", NULL, NULL, 1, 5, &err), WQ_E_COUNTY);
    assert_int_equal(a.len, 0);
    free(a.text);
    assert_int_equal(s_generate(&a, "130100", NULL, NULL, 1, 5, &err), WQ_E_COUNTY);   /* a city */
    free(a.text);
    assert_int_equal(s_generate(&a, "abc", NULL, NULL, 1, 5, &err), WQ_E_FORMAT);
    free(a.text);
    assert_int_equal(s_generate(&a, "130521", "2020-06-01", "2021-03-01", 1, 5, &err),
                     WQ_E_COUNTY);   /* retired before the end */
    free(a.text);
    assert_int_equal(s_generate(&a, "130102", "2019-12-31", "2019-02-01", 1, 5, &err),
                     WQ_E_RANGE);
    assert_string_equal(err.field, "start_date");
    free(a.text);
    assert_int_equal(s_generate(&a, "130102", "2019-02-30", NULL, 1, 5, &err), WQ_E_FORMAT);
    assert_string_equal(err.field, "start_date");
    free(a.text);
    assert_int_equal(s_generate(&a, "130102", NULL, "2019-13-01", 1, 5, &err), WQ_E_FORMAT);
    assert_string_equal(err.field, "end_date");
    free(a.text);
    assert_int_equal(s_generate(&a, "130102", NULL, NULL, 1, 900001, &err), WQ_E_RANGE);
    free(a.text);
    /* Nothing to write. */
    assert_int_equal(s_generate(&a, "130102", NULL, NULL, 1, 0, &err), WQ_OK);
    assert_int_equal(a.len, 0);
    assert_int_equal(a.st.records, 0);
    free(a.text);
    /* A full disk. */
    FILE *full = fopen("/dev/full", "w");
    if (full) {
        wq_generate_stats_t st;
        assert_int_equal(wq_generate(full, "130102", NULL, NULL, 1, 50, &st, &err), WQ_E_IO);
        fclose(full);
    }
    /* Stats may be NULL. */
    FILE *null = fopen("/dev/null", "w");
    assert_non_null(null);
    assert_int_equal(wq_generate(null, "130102", NULL, NULL, 1, 5, NULL, &err), WQ_OK);
    fclose(null);
}

static void
test_stats_write(void **state)
{
    (void) state;
    s_run_t a;
    wq_err_t err;
    assert_int_equal(s_generate(&a, "130102", NULL, NULL, 11, 20, &err), WQ_OK);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_int_equal(wq_generate_stats_write(&a.st, f), WQ_OK);
    fclose(f);
    char want[64];
    snprintf(want, sizeof want, "records %zu\n", a.st.records);
    assert_true(strncmp(text, want, strlen(want)) == 0);
    snprintf(want, sizeof want, "\nvisits_by_method.symposium %zu\n", a.st.visits_by_method[2]);
    assert_non_null(strstr(text, want));
    snprintf(want, sizeof want, "\nsample_ent %s\n", a.st.sample_ent);
    assert_non_null(strstr(text, want));
    /* one line per count: 1 + 11 types + 6 + 5 focus + ... */
    size_t lines = 0;
    for (const char *p = text; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 1 + 12 + 3 + 5 + 2 + 1 + 4 + 1 + 9 + 3 + 5 + 5 + 1 + 5 + 1 + 3 + 3 +
                                2 + 5 + 2 + 2 + 1 + 6);
    free(text);
    free(a.text);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines_validate_and_stats_fold),
        cmocka_unit_test(test_many_seeds),
        cmocka_unit_test(test_reproducible),
        cmocka_unit_test(test_credit_codes_unique),
        cmocka_unit_test(test_coverage),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_stats_write),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
