/*  =========================================================================
    test_fold_incr - the incremental fold gives what a full fold gives

    Ingest applies a new event to an entity's stored state alone
    (wq_fold_append) when it sorts after everything the entity holds and
    rewrites no history; else it folds the entity from all its events. The
    two must agree byte for byte, or the views would depend on arrival
    order. Two checks, on random histories (fixed seeds):

      1. one entity at a time, in memory: for every arrival k, the state a
         full fold of the first k events gives is compared with the state
         of the first k-1 events (encoded and decoded, as the store keeps
         it) with event k applied, whenever wq_fold_append applies it; and
         the chained state (incremental where possible, as ingest does) is
         compared at each step. Enterprises, problems and consultations,
         with foreign events, corrections (also of dates) and retractions,
         arriving in date order and shuffled;
      2. through the central store: events delivered in small batches in
         date order and out of order; after each batch verify (which folds
         every entity afresh and compares states, counters and marks) finds
         0 differences, and ingest did fold incrementally.
    =========================================================================
*/
#include "test_central_fixture.h"

#include <lmdb.h>

#include "collector/fold.h"
#include "common/date.h"
#include "tests/support/testsupport.h"

static uint64_t s_rng;

static uint32_t
rnd(uint32_t n)
{
    s_rng ^= s_rng << 13;
    s_rng ^= s_rng >> 7;
    s_rng ^= s_rng << 17;
    return (uint32_t) (s_rng % n);
}

#define NAGENTS 3
#define MAXEV 48

/*  Two workstations of the owner county, one of another (foreign). */
static const struct {
    const char *agent, *county;
    uint32_t inc;
} s_agents[NAGENTS] = {
    {"130102-01", "130102", 0xa1},
    {"130102-02", "130102", 0xb1},
    {"130521-01", "130521", 0xc1},
};

typedef struct {
    tc_stream_t s[NAGENTS];
    struct {
        int agent;
        uint64_t seq;
        wq_rec_type_t type;
        char id[WQ_EVENT_ID_MAX];
    } ev[MAXEV];
    size_t n;
    char entity[WQ_ENTITY_MAX];
} hist_t;

static void
s_date(bool inorder, size_t i, char out[11])
{
    /* In order: two events a day on average, so that some share a date. */
    int32_t d = inorder ? (int32_t) (i / 2 + rnd(2)) : (int32_t) rnd(40);
    wq_date_from_days(wq_date_days("2019-03-01") + d, out);
}

static const char *
s_enum(wq_field_t f, int count)
{
    return wq_enum_name(f, 1 + (int) rnd((uint32_t) count - 1));
}

/*  One more event of the entity: mostly base events of its kind, some from
    the foreign county, some corrections and retractions of earlier ones. */
static void
s_gen(hist_t *h, char kind, const char *code, bool inorder)
{
    size_t i = h->n;
    int a = rnd(8) == 0 ? 2 : (int) rnd(2);
    tc_stream_t *s = &h->s[a];
    char date[11], d2[11];
    s_date(inorder, i, date);
    wq_date_from_days(wq_date_days(date) + 10 + (int32_t) rnd(40), d2);
    wq_rec_type_t type;
    uint64_t seq;
    uint32_t k = rnd(100);
    if (i > 0 && k < 8) {
        /* A correction of an earlier event (possibly of its date). */
        size_t t = rnd((uint32_t) i);
        type = WQ_REC_CORRECTION;
        const char *f = NULL, *v = NULL;
        switch (h->ev[t].type) {
        case WQ_REC_ENTERPRISE: f = "name"; v = "改名"; break;
        case WQ_REC_VISIT: f = "method"; v = s_enum(WQ_F_METHOD, WQ_METHOD_COUNT); break;
        case WQ_REC_PLAN: f = "deadline"; v = d2; break;
        case WQ_REC_PROGRESS: f = "status"; v = s_enum(WQ_F_STATUS, WQ_STATUS_COUNT); break;
        case WQ_REC_SERVICE: f = "kind"; v = s_enum(WQ_F_KIND, WQ_SERVICE_COUNT); break;
        case WQ_REC_CLASSIFICATION: f = "class"; v = s_enum(WQ_F_CLASS, WQ_CLASS_COUNT); break;
        case WQ_REC_GRADING: f = "grade"; v = s_enum(WQ_F_GRADE, WQ_GRADE_COUNT); break;
        case WQ_REC_ANSWER: f = "answer"; v = "改答"; break;
        default: f = NULL; break;
        }
        if (!f || rnd(3) == 0) {
            f = "date";
            v = d2;
        }
        if (h->ev[t].type == WQ_REC_CORRECTION || h->ev[t].type == WQ_REC_RETRACTION) {
            type = WQ_REC_RETRACTION;
            seq = tc_add(s, type, date, "target", h->ev[t].id, "reason", "撤回", NULL);
        } else {
            char setf[32];
            snprintf(setf, sizeof setf, "set.%s", f);
            seq = tc_add(s, type, date, "target", h->ev[t].id, "of",
                         wq_rec_type_name(h->ev[t].type), setf, v, "reason", "更正", NULL);
        }
    } else if (i > 0 && k < 12) {
        size_t t = rnd((uint32_t) i);
        type = WQ_REC_RETRACTION;
        seq = tc_add(s, type, date, "target", h->ev[t].id, "reason", "撤回", NULL);
    } else if (kind == 'E') {
        static const wq_rec_type_t mix[] = {WQ_REC_ENTERPRISE, WQ_REC_VISIT, WQ_REC_VISIT,
                                            WQ_REC_VISIT, WQ_REC_SERVICE, WQ_REC_CLASSIFICATION,
                                            WQ_REC_GRADING};
        type = i == 0 && rnd(4) ? WQ_REC_ENTERPRISE : mix[rnd(7)];
        switch (type) {
        case WQ_REC_ENTERPRISE:
            seq = tc_add(s, type, date, "ent", code, "name", rnd(2) ? "甲化工" : "乙化工",
                         "industry", "C3110", "focus", s_enum(WQ_F_FOCUS, WQ_FOCUS_COUNT),
                         "above_size", rnd(2) ? "true" : "false", NULL);
            break;
        case WQ_REC_VISIT:
            seq = tc_add(s, type, date, "ent", code, "cadres", rnd(2) ? "张三" : "张三,李四",
                         "method", s_enum(WQ_F_METHOD, 3), NULL);
            break;
        case WQ_REC_SERVICE:
            seq = tc_add(s, type, date, "ent", code, "kind", s_enum(WQ_F_KIND, WQ_SERVICE_COUNT),
                         "content", "服务", NULL);
            break;
        case WQ_REC_CLASSIFICATION:
            seq = tc_add(s, type, date, "ent", code, "class", s_enum(WQ_F_CLASS, WQ_CLASS_COUNT),
                         "reason", "分类", NULL);
            break;
        default:
            seq = tc_add(s, type, date, "ent", code, "industry", "C3110", "grade",
                         s_enum(WQ_F_GRADE, WQ_GRADE_COUNT), NULL);
            break;
        }
    } else if (kind == 'P') {
        if (i == 0) {
            /* The problem itself, from the owner county. */
            a = 0;
            s = &h->s[0];
            type = WQ_REC_PROBLEM;
            seq = tc_add(s, type, date, "ent", code, "category",
                         s_enum(WQ_F_CATEGORY, WQ_CAT_COUNT), "severity", "general",
                         "description", "问题", NULL);
            snprintf(h->entity, sizeof h->entity, "P:%s", tc_id(s, seq));
        } else if (rnd(2)) {
            type = WQ_REC_PLAN;
            seq = tc_add(s, type, date, "ent", code, "problem", h->entity + 2, "measures", "措施",
                         "deadline", d2, NULL);
        } else {
            type = WQ_REC_PROGRESS;
            seq = tc_add(s, type, date, "ent", code, "problem", h->entity + 2, "status",
                         s_enum(WQ_F_STATUS, WQ_STATUS_COUNT), NULL);
        }
    } else {
        if (i == 0) {
            a = 0;
            s = &h->s[0];
            type = WQ_REC_CONSULTATION;
            seq = tc_add(s, type, date, "ent", code, "channel",
                         s_enum(WQ_F_CHANNEL, WQ_CHANNEL_COUNT), "question", "问", NULL);
            snprintf(h->entity, sizeof h->entity, "C:%s", tc_id(s, seq));
        } else {
            type = WQ_REC_ANSWER;
            seq = tc_add(s, type, date, "ent", code, "consultation", h->entity + 2, "answer", "答",
                         NULL);
        }
    }
    h->ev[i].agent = a;
    h->ev[i].seq = seq;
    h->ev[i].type = type;
    snprintf(h->ev[i].id, sizeof h->ev[i].id, "%s", tc_id(s, seq));
    h->n++;
}

static void
s_hist_make(hist_t *h, char kind, size_t n, bool inorder)
{
    char code[19];
    memset(h, 0, sizeof *h);
    for (int i = 0; i < NAGENTS; i++)
        tc_stream_init(&h->s[i], s_agents[i].agent, s_agents[i].county, s_agents[i].inc);
    tc_code(7, code);
    snprintf(h->entity, sizeof h->entity, "E:%s", code);
    while (h->n < n)
        s_gen(h, kind, code, inorder);
}

static void
s_hist_free(hist_t *h)
{
    for (int i = 0; i < NAGENTS; i++)
        tc_stream_free(&h->s[i]);
}

static wq_record_t *
s_decode(const hist_t *h, size_t i)
{
    const tc_stream_t *s = &h->s[h->ev[i].agent];
    wq_record_t *r = NULL;
    wq_err_t err;
    assert_int_equal(wq_record_decode(s->data[h->ev[i].seq - 1], s->size[h->ev[i].seq - 1], &r,
                                      &err), WQ_OK);
    return r;
}

/*  Full fold of the placed events, encoded into *out. */
static void
s_full(const hist_t *h, const bool *placed, wq_buf_t *out, wq_fold_state_t *st)
{
    wq_fold_item_t *items = calloc(h->n, sizeof *items);
    wq_err_t err;
    size_t k = 0;
    assert_non_null(items);
    for (size_t i = 0; i < h->n; i++) {
        if (!placed[i])
            continue;
        items[k].rec = s_decode(h, i);
        wq_record_id(items[k].rec, items[k].id);
        k++;
    }
    assert_int_equal(wq_fold_compute(h->entity, items, k, st, &err), WQ_OK);
    out->len = 0;
    wq_fold_state_encode(st, out);
    assert_false(out->oom);
    wq_fold_items_free(&items, k);
}

static void
s_copy(const wq_buf_t *b, wq_fold_state_t *st)
{
    wq_err_t err;
    assert_int_equal(wq_fold_state_decode(b->data, b->len, st, &err), WQ_OK);
}

static bool
s_same(const wq_buf_t *a, const wq_buf_t *b)
{
    return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

/*  Index of the event a correction or retraction i targets (-1 if none). */
static int
s_target(const hist_t *h, size_t i)
{
    wq_record_t *r = s_decode(h, i);
    int t = -1;
    for (size_t j = 0; j < h->n && t < 0; j++)
        if (!strcmp(h->ev[j].id, r->target))
            t = (int) j;
    wq_record_destroy(&r);
    return t;
}

/*  Event i arrives: the store places it in the entity, or, a correction or
    retraction whose target has not arrived, keeps it pending; placing an
    event places what waited for it. Returns how many waiters were placed
    (the store then folds the entity in full). */
static size_t
s_arrive(const hist_t *h, const int *target, bool *arrived, bool *placed, size_t i)
{
    size_t released = 0;
    arrived[i] = true;
    if (target[i] >= 0 && !placed[target[i]])
        return 0;
    placed[i] = true;
    for (bool more = true; more;) {
        more = false;
        for (size_t j = 0; j < h->n; j++)
            if (arrived[j] && !placed[j] && target[j] >= 0 && placed[target[j]]) {
                placed[j] = true;
                released++;
                more = true;
            }
    }
    return released;
}

/*  Check 1 over one history and arrival order; returns how many arrivals
    were applied incrementally. */
static size_t
s_check_history(const hist_t *h, const size_t *order)
{
    wq_buf_t full = {0}, prev = {0}, chain = {0}, inc = {0};
    wq_fold_state_t st, cst;
    bool arrived[MAXEV] = {false}, placed[MAXEV] = {false};
    int target[MAXEV];
    size_t applied_n = 0;
    wq_err_t err;
    memset(&cst, 0, sizeof cst);
    for (size_t i = 0; i < h->n; i++)
        target[i] = h->ev[i].type == WQ_REC_CORRECTION || h->ev[i].type == WQ_REC_RETRACTION
                        ? s_target(h, i) : -1;
    for (size_t k = 1; k <= h->n; k++) {
        size_t e = order[k - 1];
        bool before = placed[e];
        size_t released = s_arrive(h, target, arrived, placed, e);
        if (!placed[e] && !before)
            continue;       /* pending: the entity does not change */
        s_full(h, placed, &full, &st);
        wq_fold_state_clear(&st);
        wq_record_t *r = s_decode(h, e);
        char id[WQ_EVENT_ID_MAX];
        wq_record_id(r, id);
        bool applied = false;
        if (prev.len > 0 && released == 0) {
            /* From the full state before the event, as the store keeps it. */
            wq_fold_state_t p;
            s_copy(&prev, &p);
            assert_int_equal(wq_fold_append(h->entity, &p, r, id, 0, &applied, &err), WQ_OK);
            if (applied) {
                inc.len = 0;
                wq_fold_state_encode(&p, &inc);
                if (!s_same(&inc, &full))
                    fail_msg("%s: arrival %zu (%s, %s) applied to the state differs from a "
                             "full fold", h->entity, k, id, wq_rec_type_name(r->type));
                applied_n++;
            } else {
                /* Not applied: the state is left as it was. */
                inc.len = 0;
                wq_fold_state_encode(&p, &inc);
                assert_true(s_same(&inc, &prev));
            }
            wq_fold_state_clear(&p);
            /* The chain, as ingest keeps it: incremental where possible. */
            bool ca = false;
            assert_int_equal(wq_fold_append(h->entity, &cst, r, id, 0, &ca, &err), WQ_OK);
            assert_int_equal(ca, applied);
            if (ca) {
                chain.len = 0;
                wq_fold_state_encode(&cst, &chain);
                if (!s_same(&chain, &full))
                    fail_msg("%s: chained incremental state differs after arrival %zu",
                             h->entity, k);
            }
        }
        wq_record_destroy(&r);
        if (!applied) {
            wq_fold_state_clear(&cst);
            s_copy(&full, &cst);
        }
        prev.len = 0;
        wq_buf_put(&prev, full.data, full.len);
    }
    wq_fold_state_clear(&cst);
    wq_buf_free(&full);
    wq_buf_free(&prev);
    wq_buf_free(&chain);
    wq_buf_free(&inc);
    return applied_n;
}

/*  Arrival order: by fold order of the generated events (date order) or
    shuffled. */
static void
s_order(const hist_t *h, size_t *order, bool shuffle)
{
    for (size_t i = 0; i < h->n; i++)
        order[i] = i;
    if (!shuffle)
        return;
    for (size_t i = h->n; i > 1; i--) {
        size_t j = rnd((uint32_t) i);
        size_t t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }
}

static void
test_random_histories(void **state)
{
    (void) state;
    static const char kinds[3] = {'E', 'P', 'C'};
    size_t applied[3][2] = {{0}}, arrivals[3][2] = {{0}};
    for (int kind = 0; kind < 3; kind++) {
        for (int shuffle = 0; shuffle < 2; shuffle++) {
            for (uint64_t seed = 1; seed <= 40; seed++) {
                hist_t h;
                size_t order[MAXEV];
                s_rng = seed * 7919 + (uint64_t) kind * 104729 + (uint64_t) shuffle;
                s_hist_make(&h, kinds[kind], 8 + rnd(MAXEV - 8), !shuffle);
                s_order(&h, order, shuffle);
                applied[kind][shuffle] += s_check_history(&h, order);
                arrivals[kind][shuffle] += h.n;
                s_hist_free(&h);
            }
            printf("# %c %s: %zu of %zu arrivals applied incrementally\n", kinds[kind],
                   shuffle ? "shuffled" : "in date order", applied[kind][shuffle],
                   arrivals[kind][shuffle]);
        }
        /* In date order most events are applied alone (those that are not:
           corrections, retractions, ties of a date, registrations that decide
           an owner); the check above is then not vacuous. */
        assert_true(applied[kind][0] * 3 > arrivals[kind][0]);
    }
}

/*  Check 2: through the store, verify after every batch. */
static void
s_store_run(bool inorder, uint64_t seed, uint64_t *incremental)
{
    char *dir = ts_tmpdir();
    wq_central_t *c = NULL;
    wq_err_t err;
    assert_int_equal(wq_central_open(dir, 0, &c, &err), WQ_OK);
    s_rng = seed;
    /* Several entities of each kind, their events interleaved in date order
       (or not) and delivered stream by stream in small batches. */
    hist_t h[6];
    static const char kinds[6] = {'E', 'E', 'P', 'P', 'C', 'E'};
    for (int e = 0; e < 6; e++) {
        char code[19];
        memset(&h[e], 0, sizeof h[e]);
        for (int i = 0; i < NAGENTS; i++)
            tc_stream_init(&h[e].s[i], s_agents[i].agent, s_agents[i].county, s_agents[i].inc);
        tc_code(20 + e, code);
        snprintf(h[e].entity, sizeof h[e].entity, "E:%s", code);
    }
    /* One set of streams for the store: generate into h[0]'s streams by
       swapping them in, so that every entity's events share the agents. */
    tc_stream_t s[NAGENTS];
    for (int i = 0; i < NAGENTS; i++)
        tc_stream_init(&s[i], s_agents[i].agent, s_agents[i].county, s_agents[i].inc);
    for (size_t step = 0; step < 40; step++) {
        for (int e = 0; e < 6; e++) {
            char code[19];
            tc_code(20 + e, code);
            memcpy(h[e].s, s, sizeof s);
            s_gen(&h[e], kinds[e], code, inorder);
            memcpy(s, h[e].s, sizeof s);
        }
    }
    uint64_t sent[NAGENTS] = {0};
    for (;;) {
        int a = (int) rnd(NAGENTS);
        if (sent[a] >= s[a].n) {
            bool left = false;
            for (int i = 0; i < NAGENTS; i++)
                left = left || sent[i] < s[i].n;
            if (!left)
                break;
            continue;
        }
        uint64_t to = sent[a] + 1 + rnd(6);
        if (to > s[a].n)
            to = s[a].n;
        wq_ingest_result_t res;
        assert_int_equal(tc_send(c, &s[a], sent[a] + 1, to, &res), WQ_OK);
        wq_ingest_result_clear(&res);
        sent[a] = to;
        uint64_t diffs = 0;
        assert_int_equal(wq_central_verify(c, NULL, &diffs, &err), WQ_OK);
        if (diffs != 0) {
            wq_central_verify(c, stderr, &diffs, &err);
            fail_msg("verify found %" PRIu64 " differences after a batch", diffs);
        }
    }
    uint64_t full = 0, fresh = 0;
    wq_central_fold_counts(c, incremental, &fresh, &full);
    printf("# store, %s: %" PRIu64 " incremental folds, %" PRIu64 " of new entities, %" PRIu64
           " full\n", inorder ? "in date order" : "out of order", *incremental, fresh, full);
    for (int i = 0; i < NAGENTS; i++)
        tc_stream_free(&s[i]);
    wq_central_destroy(&c);
    ts_tmpdir_remove(&dir);
}

static void
test_store_verify_each_batch(void **state)
{
    (void) state;
    uint64_t inc_inorder = 0, inc_random = 0;
    s_store_run(true, 11, &inc_inorder);
    s_store_run(false, 12, &inc_random);
    assert_true(inc_inorder > 0);
}

/*  The state blob of version 3 (format-2 stores): fixed-width counts, no
    incremental key. */
static void
s_encode_v3(const wq_fold_state_t *st, wq_buf_t *out)
{
    wq_buf_u8(out, 3);
    wq_buf_u8(out, (uint8_t) st->kind);
    wq_buf_u8(out, st->exists);
    wq_buf_str(out, st->county);
    wq_buf_str(out, st->month);
    wq_buf_str(out, st->date);
    wq_buf_str(out, st->ent);
    wq_buf_str(out, st->name);
    wq_buf_u8(out, (uint8_t) st->category);
    wq_buf_u8(out, (uint8_t) st->severity);
    wq_buf_u8(out, (uint8_t) st->status);
    wq_buf_u8(out, (uint8_t) st->klass);
    wq_buf_u8(out, (uint8_t) st->answered);
    wq_buf_str(out, st->deadline);
    wq_buf_str(out, st->toggles ? st->toggles : "");
    wq_buf_str(out, st->plans ? st->plans : "");
    wq_buf_str(out, st->rect_date);
    wq_buf_u8(out, (uint8_t) st->grade);
    wq_buf_u64(out, st->ncontribs);
    for (size_t i = 0; i < st->ncontribs; i++) {
        wq_buf_put(out, st->contribs[i].key, WQ_VKEY_LEN);
        wq_buf_u64(out, (uint64_t) st->contribs[i].n);
    }
    wq_buf_u64(out, st->nmarks);
    for (size_t i = 0; i < st->nmarks; i++) {
        wq_buf_u8(out, st->marks[i].len);
        wq_buf_put(out, st->marks[i].key, st->marks[i].len);
        wq_buf_u64(out, (uint64_t) st->marks[i].n);
    }
    wq_buf_u64(out, st->nforeign);
    wq_buf_u8(out, (uint8_t) st->nforeign_listed);
    for (size_t i = 0; i < st->nforeign_listed; i++) {
        wq_buf_str(out, st->foreign[i].id);
        wq_buf_str(out, st->foreign[i].county);
        wq_buf_str(out, st->foreign[i].owner);
        wq_buf_str(out, st->foreign[i].date);
        wq_buf_u8(out, st->foreign[i].type);
    }
    assert_false(out->oom);
}

/*  A store of format 2 or 3 (state version 3) is upgraded at open: every
    state is folded again in the current format; views and marks stay equal. */
static void
s_upgrade_from(uint8_t format)
{
    char *dir = ts_tmpdir();
    wq_central_t *c = NULL;
    wq_err_t err;
    uint64_t inc = 0;
    assert_int_equal(wq_central_open(dir, 0, &c, &err), WQ_OK);
    tc_stream_t s;
    char code[19];
    tc_stream_init(&s, "130102-01", "130102", 1);
    tc_code(3, code);
    tc_add(&s, WQ_REC_ENTERPRISE, "2019-03-01", "ent", code, "name", "甲", "industry", "C3110", NULL);
    uint64_t p = tc_add(&s, WQ_REC_PROBLEM, "2019-03-02", "ent", code, "category", "air",
                        "severity", "general", "description", "问题", NULL);
    tc_add(&s, WQ_REC_PLAN, "2019-03-03", "ent", code, "problem", tc_id(&s, p), "measures", "措施",
           "deadline", "2019-04-01", NULL);
    tc_add(&s, WQ_REC_VISIT, "2019-03-04", "ent", code, "cadres", "张三", "method",
           "field_visit", NULL);
    wq_ingest_result_t res;
    assert_int_equal(tc_send(c, &s, 1, s.n, &res), WQ_OK);
    wq_ingest_result_clear(&res);
    wq_central_destroy(&c);
    /* Make it a store of that format: its version, states in version 3. */
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_dbi meta, states;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 16), 0);
    assert_int_equal(mdb_env_open(env, dir, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "meta", 0, &meta), 0);
    assert_int_equal(mdb_dbi_open(txn, "states", 0, &states), 0);
    uint8_t two[8] = {0, 0, 0, 0, 0, 0, 0, format};
    MDB_val k = {7, "version"}, v = {8, two};
    assert_int_equal(mdb_put(txn, meta, &k, &v, 0), 0);
    MDB_cursor *cur;
    assert_int_equal(mdb_cursor_open(txn, states, &cur), 0);
    size_t n = 0;
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT), n++) {
        /* State version 3, as format-2 stores hold it. */
        wq_fold_state_t st;
        assert_int_equal(wq_fold_state_decode(v.mv_data, v.mv_size, &st, &err), WQ_OK);
        wq_buf_t old = {0};
        s_encode_v3(&st, &old);
        wq_fold_state_clear(&st);
        MDB_val ov = {old.len, old.data};
        assert_int_equal(mdb_cursor_put(cur, &k, &ov, MDB_CURRENT), 0);
        assert_int_equal(wq_fold_state_decode(old.data, old.len, &st, &err), WQ_OK);
        assert_string_equal(st.last_date, "");
        wq_fold_state_clear(&st);
        wq_buf_free(&old);
    }
    mdb_cursor_close(cur);
    assert_int_equal(n, 2);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    /* Read-only (verify's) open refuses it until the collector upgrades. */
    assert_int_equal(wq_central_open_readonly(dir, &c, &err), WQ_E_CORRUPT);
    assert_int_equal(wq_central_open(dir, 0, &c, &err), WQ_OK);
    uint64_t diffs = 1, full = 0, fresh = 0;
    assert_int_equal(wq_central_verify(c, NULL, &diffs, &err), WQ_OK);
    assert_int_equal(diffs, 0);
    /* And ingest goes on from the upgraded states. */
    tc_add(&s, WQ_REC_VISIT, "2019-03-05", "ent", code, "cadres", "李四", "method",
           "field_visit", NULL);
    assert_int_equal(tc_send(c, &s, s.n, s.n, &res), WQ_OK);
    wq_ingest_result_clear(&res);
    wq_central_fold_counts(c, &inc, &fresh, &full);
    assert_int_equal(inc, 1);
    assert_int_equal(wq_central_verify(c, NULL, &diffs, &err), WQ_OK);
    assert_int_equal(diffs, 0);
    wq_central_destroy(&c);
    assert_int_equal(wq_central_open_readonly(dir, &c, &err), WQ_OK);
    wq_central_destroy(&c);
    tc_stream_free(&s);
    ts_tmpdir_remove(&dir);
}

/*  A store of format 4 (no WQ_M_RECT_OPEN counters, no S / X marks) is
    upgraded at open from its R marks: verify finds nothing to report and
    the summaries as of several dates are those of the store as built. */
static void
test_upgrade_from_format_4(void **state)
{
    (void) state;
    char *dir = ts_tmpdir();
    wq_central_t *c = NULL;
    wq_err_t err;
    assert_int_equal(wq_central_open(dir, 0, &c, &err), WQ_OK);
    tc_stream_t s;
    char code[19];
    tc_stream_init(&s, "130102-01", "130102", 1);
    tc_code(4, code);
    for (int i = 0; i < 4; i++) {
        char d[11];
        snprintf(d, sizeof d, "2019-03-%02d", 2 + i);
        uint64_t p = tc_add(&s, WQ_REC_PROBLEM, d, "ent", code, "category", "air", "severity",
                            "general", "description", "问题", NULL);
        snprintf(d, sizeof d, "2019-04-%02d", 2 + 5 * i);
        tc_add(&s, WQ_REC_PROGRESS, d, "ent", code, "problem", tc_id(&s, p), "status", "rectified",
               NULL);
        if (i % 2 == 0) {
            snprintf(d, sizeof d, "2019-05-%02d", 2 + 3 * i);
            tc_add(&s, WQ_REC_PROGRESS, d, "ent", code, "problem", tc_id(&s, p), "status",
                   "reopened", NULL);
        }
    }
    wq_ingest_result_t res;
    assert_int_equal(tc_send(c, &s, 1, s.n, &res), WQ_OK);
    wq_ingest_result_clear(&res);
    static const char *const asofs[] = {"asof=2019-04-03", "asof=2019-04-20", "asof=2019-05-07",
                                        "asof=2019-12-31"};
    int64_t want[4];
    for (int i = 0; i < 4; i++) {
        wq_table_t *t = tc_query(c, "summary", asofs[i], NULL);
        want[i] = tc_int(t, 0, "rectify_days_median");
        wq_table_destroy(&t);
    }
    wq_central_destroy(&c);
    /* Make it a store of format 4: drop what format 5 adds. */
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_dbi meta, views, marks;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 16), 0);
    assert_int_equal(mdb_env_open(env, dir, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "meta", 0, &meta), 0);
    assert_int_equal(mdb_dbi_open(txn, "views", 0, &views), 0);
    assert_int_equal(mdb_dbi_open(txn, "marks", 0, &marks), 0);
    uint8_t four[8] = {0, 0, 0, 0, 0, 0, 0, 4};
    MDB_val k = {7, "version"}, v = {8, four};
    assert_int_equal(mdb_put(txn, meta, &k, &v, 0), 0);
    MDB_cursor *cur;
    size_t dropped = 0;
    assert_int_equal(mdb_cursor_open(txn, views, &cur), 0);
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
        if (((const uint8_t *) k.mv_data)[13] == WQ_M_RECT_OPEN) {
            assert_int_equal(mdb_cursor_del(cur, 0), 0);
            dropped++;
        }
    mdb_cursor_close(cur);
    assert_int_equal(mdb_cursor_open(txn, marks, &cur), 0);
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        char first = ((const char *) k.mv_data)[0];
        if (first == 'S' || first == 'X') {
            assert_int_equal(mdb_cursor_del(cur, 0), 0);
            dropped++;
        }
    }
    mdb_cursor_close(cur);
    assert_true(dropped >= 2 * 3 + 2 + 3);  /* counters and S marks at 3 levels, X marks */
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    assert_int_equal(wq_central_open_readonly(dir, &c, &err), WQ_E_CORRUPT);
    assert_int_equal(wq_central_open(dir, 0, &c, &err), WQ_OK);
    uint64_t diffs = 1;
    assert_int_equal(wq_central_verify(c, NULL, &diffs, &err), WQ_OK);
    assert_int_equal(diffs, 0);
    for (int i = 0; i < 4; i++) {
        wq_table_t *t = tc_query(c, "summary", asofs[i], NULL);
        assert_int_equal(tc_int(t, 0, "rectify_days_median"), want[i]);
        wq_table_destroy(&t);
    }
    wq_central_destroy(&c);
    tc_stream_free(&s);
    ts_tmpdir_remove(&dir);
}

static void
test_upgrade_from_format_2(void **state)
{
    (void) state;
    s_upgrade_from(2);
}

static void
test_upgrade_from_format_3(void **state)
{
    (void) state;
    s_upgrade_from(3);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_histories),
        cmocka_unit_test(test_store_verify_each_batch),
        cmocka_unit_test(test_upgrade_from_format_2),
        cmocka_unit_test(test_upgrade_from_format_3),
        cmocka_unit_test(test_upgrade_from_format_4),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
