/*  System test: the real programs end to end, as in production.

    A real `wanqi-collector run` and a real `wanqi-agent run` for each of
    four counties in three cities, one of them 130521 邢台县 (a 2019 code
    retired in 2020) with a 2019 campaign, the others with 2019 or 2020
    campaigns, all on 127.0.0.1 with ephemeral ports. Each county's
    campaign comes from `wanqi-agent generate --stats FILE` and is imported
    while two agents run and two do not (an offline backlog, drained once
    they start). When every outbox has drained (`wanqi-agent status`):
      - `wanqi-query summary --level county` equals the generator's stats,
        county by county and figure by figure (every column is mapped to
        its stats name; the answer-days median, which the stats do not
        hold, is computed from the generated lines), and every other
        county is all zeros;
      - city and province rows equal the sums of their counties (the
        median: that of the union of their answers);
      - the collector's stream marks equal the lines, nothing quarantined;
      - `wanqi-collector verify` exits 0;
      - `wanqi-query enterprise CODE` of the generator's sample enterprise
        lists exactly its events, counted from the JSON Lines.
    Then the collector is restarted (SIGTERM) and one agent killed
    (SIGKILL) and restarted, and once every agent has reconnected every
    figure is checked again and is byte for byte what it was.

    The plumbing of the collector's integration tests (it_collector.h:
    starting the collector, parsing wanqi-query's JSON) is reused; the
    agents here are the real program. */
#include "tests/collector/it_collector.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <sys/types.h>
#include "common/date.h"

#define SYS_ENTERPRISES "15"    /* at least WQ_GENERATE_FULL_COVERAGE: every figure non-zero */
#define SYS_WAIT_MS 60000       /* upper bound for a drain or reconnect; never a measurement */
#define SYS_MAX_STATS 128
#define SYS_MAX_DAYS 65536

typedef struct {
    /* configuration */
    const char *id;
    const char *county;
    const char *from, *to;      /* campaign window (NULL, NULL: the 2019 default) */
    const char *asof;           /* the campaign's end: the generator's overdue is as of it */
    const char *seed;
    bool online;                /* running while its campaign is imported */
    /* state */
    char *dir, *log, *jsonl, *stats_path;
    pid_t pid;
    long lines;
    char stat_name[SYS_MAX_STATS][64];
    long long stat_value[SYS_MAX_STATS];
    size_t nstats;
    char sample_ent[19];
    long sample_events;         /* lines of the sample enterprise's case file */
    int days[SYS_MAX_DAYS];     /* answer days of each answered consultation */
    size_t ndays;
} sys_agent_t;

static sys_agent_t s_agents[] = {
    {.id = "sjz-changan", .county = "130102", .from = "2020-02-01", .to = "2020-12-31",
     .asof = "2020-12-31", .seed = "11", .online = true},
    {.id = "sjz-qiaoxi", .county = "130104", .asof = "2019-12-31", .seed = "12", .online = false},
    {.id = "ts-lubei", .county = "130203", .from = "2020-02-01", .to = "2020-12-31",
     .asof = "2020-12-31", .seed = "13", .online = false},
    {.id = "xt-xingtaixian", .county = "130521", .asof = "2019-12-31", .seed = "14", .online = true},
};
#define SYS_NAGENTS (sizeof s_agents / sizeof s_agents[0])

/*  ---- small helpers --------------------------------------------------------- */

static char *
s_run_ok(char *const argv[])
{
    char *out = NULL, *err = NULL;
    int rc = ts_run(argv, NULL, &out, &err, 60000, NULL);
    if (rc != 0)
        fail_msg("%s %s exited %d: %s", argv[0], argv[1], rc, err ? err : "");
    free(err);
    return out;
}

static int
s_cmp_int(const void *a, const void *b)
{
    int x = *(const int *) a, y = *(const int *) b;
    return (x > y) - (x < y);
}

/*  Lower median of days[0..n), or -1 if n is 0. Sorts days. */
static int
s_lower_median(int *days, size_t n)
{
    if (n == 0)
        return -1;
    qsort(days, n, sizeof *days, s_cmp_int);
    return days[(n - 1) / 2];
}

/*  ---- the generated campaign ------------------------------------------------- */

static long long
s_stat(const sys_agent_t *a, const char *name)
{
    for (size_t i = 0; i < a->nstats; i++)
        if (strcmp(a->stat_name[i], name) == 0)
            return a->stat_value[i];
    fail_msg("%s: no \"%s\" in the generator's stats %s", a->county, name, a->stats_path);
    return -1;
}

static void
s_read_stats(sys_agent_t *a)
{
    FILE *f = fopen(a->stats_path, "r");
    if (!f)
        fail_msg("open %s: %s", a->stats_path, strerror(errno));
    char line[256];
    a->nstats = 0;
    while (fgets(line, sizeof line, f)) {
        char name[64], value[64];
        if (sscanf(line, "%63s %63s", name, value) != 2)
            fail_msg("bad stats line in %s: %s", a->stats_path, line);
        if (strcmp(name, "sample_ent") == 0) {
            assert_int_equal(strlen(value), 18);
            memcpy(a->sample_ent, value, 19);
            continue;
        }
        assert_true(a->nstats < SYS_MAX_STATS);
        snprintf(a->stat_name[a->nstats], sizeof a->stat_name[0], "%s", name);
        a->stat_value[a->nstats] = atoll(value);
        a->nstats++;
    }
    fclose(f);
    assert_true(a->nstats > 50);
    assert_int_equal(s_stat(a, "records"), a->lines);
}

static long
s_ref_line(const wq_json_object_t *obj, const char *key, long lineno)
{
    const wq_json_member_t *m = wq_json_get(obj, key);
    if (!m || m->kind != WQ_JSON_STRING || m->text[0] != '@')
        return 0;
    long n = atol(m->text + 1);
    if (n < 1 || n >= lineno)
        fail_msg("line %ld: \"%s\":\"%s\" does not name an earlier line", lineno, key, m->text);
    return n;
}

/*  From the JSON Lines: the answer days of each answered consultation, and
    the events of the sample enterprise's case file (its own events, and
    those of its problems and consultations, corrections and retractions
    included: a line belongs if its "ent" is the sample's or if it refers
    to a line that belongs). */
static void
s_scan_lines(sys_agent_t *a)
{
    FILE *f = fopen(a->jsonl, "r");
    if (!f)
        fail_msg("open %s: %s", a->jsonl, strerror(errno));
    size_t cap = (size_t) a->lines + 1;
    int32_t *date = calloc(cap, sizeof *date);
    bool *consultation = calloc(cap, sizeof *consultation);
    bool *belongs = calloc(cap, sizeof *belongs);
    bool *answered = calloc(cap, sizeof *answered);
    assert_true(date && consultation && belongs && answered);
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    long no = 0;
    a->ndays = 0;
    a->sample_events = 0;
    static const char *const refs[] = {"visit", "problem", "consultation", "target"};
    while ((len = getline(&line, &lcap, f)) > 0) {
        no++;
        assert_true(no <= a->lines);
        wq_json_object_t *obj = NULL;
        wq_err_t err;
        if (wq_json_parse_object(line, (size_t) len, &obj, &err) != WQ_OK)
            fail_msg("%s line %ld: %s", a->jsonl, no, err.text);
        const char *type = it_cell(obj, "type"), *d = it_cell(obj, "date"), *ent = it_cell(obj, "ent");
        assert_non_null(type);
        assert_non_null(d);
        assert_string_equal(it_cell(obj, "county"), a->county);
        date[no] = wq_date_days(d);
        consultation[no] = strcmp(type, "consultation") == 0;
        belongs[no] = ent && strcmp(ent, a->sample_ent) == 0;
        for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++) {
            long r = s_ref_line(obj, refs[i], no);
            if (r && belongs[r])
                belongs[no] = true;
        }
        if (strcmp(type, "answer") == 0) {
            long q = s_ref_line(obj, "consultation", no);
            assert_true(q > 0 && consultation[q]);
            assert_false(answered[q]);      /* the generator answers each at most once */
            answered[q] = true;
            int days = date[no] - date[q];
            assert_true(a->ndays < SYS_MAX_DAYS);
            a->days[a->ndays++] = days < 0 ? 0 : days;
        }
        if (belongs[no])
            a->sample_events++;
        wq_json_object_destroy(&obj);
    }
    free(line);
    fclose(f);
    assert_int_equal(no, a->lines);
    assert_int_equal((long long) a->ndays, s_stat(a, "consultations_answered"));
    assert_true(a->sample_events > 0);
    free(date);
    free(consultation);
    free(belongs);
    free(answered);
}

static void
s_generate(it_env_t *env, sys_agent_t *a)
{
    a->jsonl = ts_strf("%s/campaign-%s.jsonl", env->tmp, a->county);
    a->stats_path = ts_strf("%s/campaign-%s.stats", env->tmp, a->county);
    /* WANQI_SYSTEM_SEED / WANQI_SYSTEM_ENTERPRISES explore other campaigns. */
    const char *ents = getenv("WANQI_SYSTEM_ENTERPRISES") ? getenv("WANQI_SYSTEM_ENTERPRISES") : SYS_ENTERPRISES;
    char *seed = ts_strf("%lld", atoll(a->seed) + (getenv("WANQI_SYSTEM_SEED") ? atoll(getenv("WANQI_SYSTEM_SEED")) : 0));
    char *argv[] = {(char *) ts_bin("wanqi-agent"), "generate", "--county", (char *) a->county, "--enterprises",
                    (char *) ents, "--seed", seed, "--stats", a->stats_path,
                    a->from ? "--from" : NULL, (char *) a->from, "--to", (char *) a->to, NULL};
    char *out = s_run_ok(argv);
    free(seed);
    ts_write_file(a->jsonl, out);
    a->lines = 0;
    for (const char *p = out; *p; p++)
        a->lines += *p == '\n';
    free(out);
    assert_true(a->lines > 100);
    s_read_stats(a);
    s_scan_lines(a);
}

/*  ---- the real agents ---------------------------------------------------------- */

static void
s_agent_init(it_env_t *env, sys_agent_t *a)
{
    a->dir = ts_strf("%s/agent-%s", env->tmp, a->id);
    a->log = ts_strf("%s/agent-%s.log", env->tmp, a->id);
    a->pid = 0;
    char *argv[] = {(char *) ts_bin("wanqi-agent"), "init", "--dir", a->dir, "--agent-id", (char *) a->id,
                    "--county", (char *) a->county, "--collector", env->ingest, "--collector-key", env->key,
                    "--config", "poll_ms=50", "--config", "backoff_min_ms=100", "--config",
                    "backoff_max_ms=1000", "--config", "heartbeat_ms=1000", NULL};
    char *out = s_run_ok(argv);
    const char *pk = strstr(out, "public key: ");
    if (!pk || strlen(pk) < 12 + 40)
        fail_msg("wanqi-agent init printed no public key: %s", out);
    char key[41];
    memcpy(key, pk + 12, 40);
    key[40] = 0;
    free(out);
    char *auth[] = {(char *) ts_bin("wanqi-collector"), "authorize", "agent", "--dir", env->cdir, "--key", key,
                    "--agent-id", (char *) a->id, "--county", (char *) a->county, NULL};
    free(s_run_ok(auth));
}

static void
s_agent_start(sys_agent_t *a)
{
    assert_int_equal(a->pid, 0);
    char *argv[] = {(char *) ts_bin("wanqi-agent"), "run", "--dir", a->dir, NULL};
    a->pid = ts_spawn(argv, a->log, NULL);
    assert_true(a->pid > 0);
}

static void
s_import(sys_agent_t *a)
{
    char *argv[] = {(char *) ts_bin("wanqi-agent"), "import", a->jsonl, "--repeat", "--dir", a->dir, NULL};
    free(s_run_ok(argv));
}

/*  A number from `wanqi-agent status --format json` (-1 for null). */
static long long
s_status_num(const sys_agent_t *a, const char *key)
{
    char *argv[] = {(char *) ts_bin("wanqi-agent"), "status", "--format", "json", "--dir", a->dir, NULL};
    char *out = s_run_ok(argv);
    char *pat = ts_strf("\"%s\":", key);
    const char *p = strstr(out, pat);
    if (!p)
        fail_msg("no \"%s\" in the status of %s: %s", key, a->id, out);
    p += strlen(pat);
    long long v = strncmp(p, "null", 4) == 0 ? -1 : strtoll(p, NULL, 10);
    free(pat);
    free(out);
    return v;
}

/*  ---- queries -------------------------------------------------------------------- */

/*  wanqi-query with the test client and args (NULL-terminated); its stdout. */
static char *
s_query(it_env_t *env, const char *const args[])
{
    char *argv[32] = {(char *) ts_bin("wanqi-query"), "--dir", env->qdir, "--collector", env->query,
                      "--collector-key", env->key, "--timeout", "30"};
    int n = 9;
    for (int i = 0; args[i]; i++) {
        assert_true(n < 31);
        argv[n++] = (char *) args[i];
    }
    argv[n] = NULL;
    return s_run_ok(argv);
}

static it_rows_t
s_summary(it_env_t *env, const char *level, const char *asof, char **text)
{
    const char *args[] = {"summary", "--level", level, "--asof", asof, "--format", "json", NULL};
    *text = s_query(env, args);
    return it_json_rows(*text);
}

/*  Every agent's outbox drained: all acknowledged, nothing queued. */
static bool
s_drained(void *arg)
{
    (void) arg;
    for (size_t i = 0; i < SYS_NAGENTS; i++) {
        const sys_agent_t *a = &s_agents[i];
        if (s_status_num(a, "acknowledged") != a->lines || s_status_num(a, "queued") != 0)
            return false;
    }
    return true;
}

static void
s_wait_drained(it_env_t *env)
{
    if (!ts_wait_until(s_drained, NULL, SYS_WAIT_MS))
        fail_msg("not every outbox drained within %d s (logs in %s)", SYS_WAIT_MS / 1000, env->tmp);
    for (size_t i = 0; i < SYS_NAGENTS; i++) {
        const sys_agent_t *a = &s_agents[i];
        assert_int_equal(s_status_num(a, "last_seq"), a->lines);
        assert_int_equal(s_status_num(a, "quarantined_count"), 0);
        assert_int_equal(s_status_num(a, "skipped_count"), 0);
    }
    /* The collector's side: one stream per agent, its mark at the last line. */
    const char *args[] = {"agents", "--format", "json", NULL};
    char *text = s_query(env, args);
    it_rows_t rows = it_json_rows(text);
    assert_int_equal(rows.count, SYS_NAGENTS);
    for (size_t i = 0; i < SYS_NAGENTS; i++) {
        const sys_agent_t *a = &s_agents[i];
        const wq_json_object_t *row = NULL;
        assert_int_equal(it_rows_where(&rows, "agent", a->id, &row), 1);
        assert_string_equal(it_cell(row, "county"), a->county);
        assert_int_equal(it_int(row, "hwm"), a->lines);
        assert_int_equal(it_int(row, "stored"), a->lines);
        assert_int_equal(it_int(row, "quarantined"), 0);
    }
    it_rows_free(&rows);
    free(text);
}

/*  ---- the figures ------------------------------------------------------------------ */

/*  Each summary column and the stats names whose sum it must equal
    (docs/STORE.md section 4, common/generate.h). A reopened problem counts
    as open in the collector's status columns. */
typedef struct {
    const char *column;
    const char *stats[2];
} s_map_t;

static const s_map_t s_map[] = {
    {"enterprises_registered", {"enterprises"}},
    {"enterprises_visited", {"enterprises_visited"}},
    {"visits", {"visits"}},
    {"visits_field_visit", {"visits_by_method.field_visit"}},
    {"visits_symposium", {"visits_by_method.symposium"}},
    {"visits_expert_consultation", {"visits_by_method.expert_consultation"}},
    {"visits_enforcement_inspection", {"visits_by_method.enforcement_inspection"}},
    {"problems", {"problems"}},
    {"problems_air", {"problems_by_category.air"}},
    {"problems_water", {"problems_by_category.water"}},
    {"problems_solid_waste", {"problems_by_category.solid_waste"}},
    {"problems_noise", {"problems_by_category.noise"}},
    {"problems_soil", {"problems_by_category.soil"}},
    {"problems_permits", {"problems_by_category.permits"}},
    {"problems_monitoring", {"problems_by_category.monitoring"}},
    {"problems_over_standard", {"problems_by_category.over_standard"}},
    {"problems_other", {"problems_by_category.other"}},
    {"problems_open", {"problems_by_status.open", "problems_by_status.reopened"}},
    {"problems_in_progress", {"problems_by_status.in_progress"}},
    {"problems_rectified", {"problems_by_status.rectified"}},
    {"problems_verified", {"problems_by_status.verified"}},
    {"plans", {"plans"}},
    {"overdue", {"overdue"}},
    {"services", {"services"}},
    {"services_law", {"services_by_kind.law"}},
    {"services_policy", {"services_by_kind.policy"}},
    {"services_technology", {"services_by_kind.technology"}},
    {"services_plan", {"services_by_kind.plan"}},
    {"services_service", {"services_by_kind.service"}},
    {"consultations", {"consultations"}},
    {"consultations_answered", {"consultations_answered"}},
    {"class_support", {"enterprises_by_class.support"}},
    {"class_normal", {"enterprises_by_class.normal"}},
    {"class_strict", {"enterprises_by_class.strict"}},
    {"class_shutdown", {"enterprises_by_class.shutdown"}},
    {"class_punish", {"enterprises_by_class.punish"}},
};
#define S_NMAP (sizeof s_map / sizeof s_map[0])
#define S_MEDIAN "answer_days_median"

static bool
s_is_label(const char *column)
{
    return !strcmp(column, "area") || !strcmp(column, "area_name") || !strcmp(column, "level");
}

/*  The expected median over the agents whose county starts with prefix. */
static int
s_median_under(const char *prefix)
{
    static int days[SYS_MAX_DAYS * 4];   /* 1 MiB, static: not on the stack */
    size_t n = 0;
    for (size_t i = 0; i < SYS_NAGENTS; i++) {
        const sys_agent_t *a = &s_agents[i];
        if (strncmp(a->county, prefix, strlen(prefix)) != 0)
            continue;
        assert_true(n + a->ndays <= sizeof days / sizeof days[0]);
        memcpy(days + n, a->days, a->ndays * sizeof *days);
        n += a->ndays;
    }
    return s_lower_median(days, n);
}

static void
s_expect_median(const wq_json_object_t *row, const char *prefix)
{
    int want = s_median_under(prefix);
    const char *got = it_cell(row, S_MEDIAN);
    if (want < 0) {
        if (got)
            fail_msg("%s: %s is %s, expected null (nothing answered)", it_cell(row, "area"), S_MEDIAN, got);
    } else if (!got || atoi(got) != want)
        fail_msg("%s: %s is %s, expected %d", it_cell(row, "area"), S_MEDIAN, got ? got : "null", want);
}

/*  Every column of the county rows against the generator's stats (overdue
    only for the campaigns that end on asof); every other county all zero. */
static void
s_check_counties(const it_rows_t *rows, const char *asof)
{
    size_t ours = 0;
    for (size_t r = 0; r < rows->count; r++) {
        const wq_json_object_t *row = rows->rows[r];
        const char *area = it_cell(row, "area");
        assert_non_null(area);
        assert_string_equal(it_cell(row, "level"), "county");
        const sys_agent_t *a = NULL;
        for (size_t i = 0; i < SYS_NAGENTS; i++)
            if (strcmp(s_agents[i].county, area) == 0)
                a = &s_agents[i];
        ours += a != NULL;
        /* every column is known: a new one must be mapped here */
        for (size_t m = 0; m < row->count; m++) {
            const char *col = row->members[m].key;
            bool known = s_is_label(col) || !strcmp(col, S_MEDIAN);
            for (size_t k = 0; k < S_NMAP && !known; k++)
                known = strcmp(s_map[k].column, col) == 0;
            if (!known)
                fail_msg("summary column %s is not compared with the generator's stats", col);
        }
        for (size_t k = 0; k < S_NMAP; k++) {
            long long got = it_int(row, s_map[k].column), want = 0;
            if (a) {
                if (!strcmp(s_map[k].column, "overdue") && strcmp(a->asof, asof) != 0)
                    continue;
                for (size_t j = 0; j < 2 && s_map[k].stats[j]; j++)
                    want += s_stat(a, s_map[k].stats[j]);
                if (want == 0)
                    fail_msg("%s: %s is 0 in the campaign: the test must cover every figure", area,
                             s_map[k].column);
            }
            if (got != want)
                fail_msg("county %s (%s), as of %s: %s is %lld, the generator's stats say %lld", area,
                         it_cell(row, "area_name"), asof, s_map[k].column, got, want);
        }
        s_expect_median(row, area);
    }
    assert_int_equal(ours, SYS_NAGENTS);
}

/*  The rows of a level against the sums of the county rows under each. */
static void
s_check_rollup(const it_rows_t *counties, const it_rows_t *upper, const char *level, size_t prefix_len)
{
    assert_true(upper->count > 0);
    for (size_t r = 0; r < upper->count; r++) {
        const wq_json_object_t *row = upper->rows[r];
        const char *area = it_cell(row, "area");
        assert_non_null(area);
        assert_string_equal(it_cell(row, "level"), level);
        char prefix[7];
        snprintf(prefix, sizeof prefix, "%.*s", (int) prefix_len, area);
        for (size_t k = 0; k < S_NMAP; k++) {
            long long sum = 0;
            size_t under = 0;
            for (size_t c = 0; c < counties->count; c++)
                if (strncmp(it_cell(counties->rows[c], "area"), prefix, prefix_len) == 0) {
                    sum += it_int(counties->rows[c], s_map[k].column);
                    under++;
                }
            if (under == 0)
                fail_msg("no county rows under %s %s", level, area);
            long long got = it_int(row, s_map[k].column);
            if (got != sum)
                fail_msg("%s %s: %s is %lld, its counties sum to %lld", level, area, s_map[k].column, got, sum);
        }
        s_expect_median(row, prefix);
    }
}

typedef struct {
    char *text[2][3];           /* [asof][level] outputs, for the comparison after the restarts */
} s_figures_t;

static const char *const s_asofs[2] = {"2019-12-31", "2020-12-31"};
static const char *const s_levels[3] = {"county", "city", "province"};

/*  Query every level as of both campaign ends and check every figure. */
static void
s_check_figures(it_env_t *env, s_figures_t *fig)
{
    for (int t = 0; t < 2; t++) {
        it_rows_t rows[3];
        for (int l = 0; l < 3; l++)
            rows[l] = s_summary(env, s_levels[l], s_asofs[t], &fig->text[t][l]);
        s_check_counties(&rows[0], s_asofs[t]);
        s_check_rollup(&rows[0], &rows[1], "city", 4);
        assert_int_equal(rows[2].count, 1);
        assert_string_equal(it_cell(rows[2].rows[0], "area"), "130000");
        s_check_rollup(&rows[0], &rows[2], "province", 2);
        /* The three cities of the campaigns are there and not empty. */
        static const char *const cities[] = {"130100", "130200", "130500"};
        for (size_t c = 0; c < 3; c++) {
            const wq_json_object_t *row = NULL;
            assert_int_equal(it_rows_where(&rows[1], "area", cities[c], &row), 1);
            assert_true(it_int(row, "visits") > 0);
        }
        for (int l = 0; l < 3; l++)
            it_rows_free(&rows[l]);
    }
}

static void
s_figures_free(s_figures_t *fig)
{
    for (int t = 0; t < 2; t++)
        for (int l = 0; l < 3; l++) {
            free(fig->text[t][l]);
            fig->text[t][l] = NULL;
        }
}

static void
s_verify(it_env_t *env)
{
    char *argv[] = {(char *) ts_bin("wanqi-collector"), "verify", "--dir", env->cdir, NULL};
    char *out = NULL, *err = NULL;
    int rc = ts_run(argv, NULL, &out, &err, 60000, NULL);
    if (rc != 0)
        fail_msg("wanqi-collector verify exited %d:\n%s%s", rc, out ? out : "", err ? err : "");
    free(out);
    free(err);
}

/*  The sample enterprise's case file lists exactly its events. */
static void
s_check_casefile(it_env_t *env, const sys_agent_t *a)
{
    const char *args[] = {"enterprise", a->sample_ent, "--format", "json", NULL};
    char *text = s_query(env, args);
    it_rows_t rows = it_json_rows(text);
    if ((long) rows.count != a->sample_events)
        fail_msg("enterprise %s: %zu events in the case file, %ld in the generated lines", a->sample_ent,
                 rows.count, a->sample_events);
    for (size_t i = 0; i < rows.count; i++) {
        assert_string_equal(it_cell(rows.rows[i], "county"), a->county);
        const char *effect = it_cell(rows.rows[i], "effect");
        assert_non_null(effect);
        assert_true(strcmp(effect, "ignored") != 0);    /* the generator's fixes all take effect */
    }
    it_rows_free(&rows);
    free(text);
}

/*  ---- reconnection ------------------------------------------------------------------ */

typedef struct {
    it_env_t *env;
    size_t offset;              /* where the restarted collector's log starts */
} s_reconnect_t;

static bool
s_all_connected(void *arg)
{
    s_reconnect_t *r = arg;
    char *log = ts_read_file(r->env->log);
    bool all = log && strlen(log) > r->offset;
    for (size_t i = 0; all && i < SYS_NAGENTS; i++) {
        char *needle = ts_strf("agent %s (county %s) connected", s_agents[i].id, s_agents[i].county);
        all = strstr(log + r->offset, needle) != NULL;
        free(needle);
    }
    free(log);
    return all;
}

/*  ---- the test ------------------------------------------------------------------------ */

static it_env_t s_env;          /* global so that the teardown can stop the collector */

static void
test_it_system(void **state)
{
    (void) state;
    it_setup(&s_env);
    /* Heartbeats of a second, so that a restarted collector is noticed fast. */
    char *conf = ts_strf("%s/collector.conf", s_env.cdir);
    FILE *f = fopen(conf, "a");
    assert_non_null(f);
    fprintf(f, "heartbeat_ms = 1000\n");
    assert_int_equal(fclose(f), 0);
    free(conf);

    for (size_t i = 0; i < SYS_NAGENTS; i++) {
        s_agent_init(&s_env, &s_agents[i]);
        s_generate(&s_env, &s_agents[i]);
    }
    it_start(&s_env);

    /* Two agents run while their campaigns are imported; two are offline. */
    for (size_t i = 0; i < SYS_NAGENTS; i++)
        if (s_agents[i].online)
            s_agent_start(&s_agents[i]);
    for (size_t i = 0; i < SYS_NAGENTS; i++)
        s_import(&s_agents[i]);
    for (size_t i = 0; i < SYS_NAGENTS; i++) {
        sys_agent_t *a = &s_agents[i];
        if (a->online)
            continue;
        assert_int_equal(s_status_num(a, "last_seq"), a->lines);
        assert_int_equal(s_status_num(a, "acknowledged"), 0);
        assert_int_equal(s_status_num(a, "queued"), a->lines);
        s_agent_start(a);
    }
    s_wait_drained(&s_env);

    s_figures_t before = {0}, after = {0};
    s_check_figures(&s_env, &before);
    s_verify(&s_env);
    s_check_casefile(&s_env, &s_agents[0]);
    s_check_casefile(&s_env, &s_agents[3]);

    /* Restart the collector cleanly and kill one agent hard. */
    char *log = ts_read_file(s_env.log);
    s_reconnect_t rc = {&s_env, log ? strlen(log) : 0};
    free(log);
    char *ingest = strdup(s_env.ingest);
    it_stop(&s_env);
    sys_agent_t *victim = &s_agents[3];
    ts_kill(victim->pid, SIGKILL);
    assert_int_equal(ts_wait(victim->pid, 10000), 128 + SIGKILL);
    victim->pid = 0;
    it_start(&s_env);
    assert_string_equal(s_env.ingest, ingest);  /* the agents know this endpoint */
    free(ingest);
    s_agent_start(victim);
    if (!ts_wait_until(s_all_connected, &rc, SYS_WAIT_MS))
        fail_msg("not every agent reconnected to the restarted collector within %d s (log %s)",
                 SYS_WAIT_MS / 1000, s_env.log);
    s_wait_drained(&s_env);
    s_check_figures(&s_env, &after);
    for (int t = 0; t < 2; t++)
        for (int l = 0; l < 3; l++)
            if (strcmp(before.text[t][l], after.text[t][l]) != 0)
                fail_msg("summary --level %s --asof %s changed across the restarts:\n%s\n---\n%s", s_levels[l],
                         s_asofs[t], before.text[t][l], after.text[t][l]);
    s_verify(&s_env);
    s_check_casefile(&s_env, &s_agents[1]);

    for (size_t i = 0; i < SYS_NAGENTS; i++) {
        sys_agent_t *a = &s_agents[i];
        assert_int_equal(ts_stop(a->pid), 0);     /* SIGTERM: a clean exit */
        a->pid = 0;
    }
    it_stop(&s_env);
    s_figures_free(&before);
    s_figures_free(&after);
    for (size_t i = 0; i < SYS_NAGENTS; i++) {
        sys_agent_t *a = &s_agents[i];
        free(a->dir);
        free(a->log);
        free(a->jsonl);
        free(a->stats_path);
    }
    it_teardown(&s_env);
}

/*  A failed assertion leaves processes running: stop them. */
static int
s_teardown(void **state)
{
    (void) state;
    for (size_t i = 0; i < SYS_NAGENTS; i++)
        if (s_agents[i].pid > 0) {
            ts_stop(s_agents[i].pid);
            s_agents[i].pid = 0;
        }
    if (s_env.tmp)
        it_teardown(&s_env);
    return 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_it_system, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
