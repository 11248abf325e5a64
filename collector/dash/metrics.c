/*  metrics - Prometheus text for operators (see metrics.h). */
#include "collector/dash/metrics.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "common/table.h"

static const char *const s_queries[] = {"summary", "overdue", "enterprise", "agents",
                                        "quarantine", "problems", "enterprises", "pending", "other"};
#define S_NQ (sizeof s_queries / sizeof s_queries[0])
static const double s_bounds[] = {0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5};
#define S_NB (sizeof s_bounds / sizeof s_bounds[0])

struct dash_metrics_t {
    atomic_uint_fast64_t buckets[S_NQ][S_NB + 1];   /* last: +Inf */
    atomic_uint_fast64_t count[S_NQ];
    atomic_uint_fast64_t sum_us[S_NQ];
};

dash_metrics_t *dash_metrics_new(void)
{
    return calloc(1, sizeof(dash_metrics_t));
}

void dash_metrics_destroy(dash_metrics_t **self)
{
    if (self && *self) {
        free(*self);
        *self = NULL;
    }
}

void dash_metrics_observe(dash_metrics_t *self, const char *name, double seconds)
{
    size_t q = 0;
    while (q < S_NQ - 1 && strcmp(s_queries[q], name) != 0)
        q++;
    size_t b = 0;
    while (b < S_NB && seconds > s_bounds[b])
        b++;
    atomic_fetch_add(&self->buckets[q][b], 1);
    atomic_fetch_add(&self->count[q], 1);
    atomic_fetch_add(&self->sum_us[q], (uint_fast64_t)(seconds * 1e6));
}

/*  "YYYY-MM-DD HH:MM:SS" China time (UTC+8) -> Unix seconds; 0 if not. */
static int64_t s_china_epoch(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (!s || !strptime(s, "%Y-%m-%d %H:%M:%S", &tm))
        return 0;
    return (int64_t)timegm(&tm) - 8 * 3600;
}

static void s_label(wq_wbuf_t *out, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '"' || *s == '\\')
            wq_wbuf_put(out, "\\", 1);
        if (*s == '\n')
            wq_wbuf_puts(out, "\\n");
        else
            wq_wbuf_put(out, s, 1);
    }
}

static const char *s_str(const wq_table_t *t, size_t r, const char *col)
{
    int c = wq_table_find_col(t, col);
    const wq_cell_t *cell = c >= 0 ? wq_table_cell(t, r, (size_t)c) : NULL;
    return cell && cell->kind == WQ_CELL_STR ? cell->s : NULL;
}

static int64_t s_int(const wq_table_t *t, size_t r, const char *col)
{
    int c = wq_table_find_col(t, col);
    const wq_cell_t *cell = c >= 0 ? wq_table_cell(t, r, (size_t)c) : NULL;
    return cell && cell->kind == WQ_CELL_INT ? cell->i : 0;
}

int dash_metrics_write(dash_metrics_t *self, wq_central_t *c, wq_wbuf_t *out, wq_err_t *err)
{
    wq_central_stats_t st;
    int rc = wq_central_stats(c, &st, err);
    if (rc != WQ_OK)
        return rc;
    struct {
        const char *name, *help;
        uint64_t v;
    } counters[] = {
        {"wanqi_records_ingested_total", "Records stored in the central store.", st.events},
        {"wanqi_batches_total", "Batches ingested (one write transaction each).", st.batches},
        {"wanqi_duplicates_total", "Records received again and dropped (exactly-once).", st.duplicates},
        {"wanqi_quarantined_total", "Records quarantined with a reason.", st.quarantined},
    };
    for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++)
        wq_wbuf_printf(out, "# HELP %s %s\n# TYPE %s counter\n%s %" PRIu64 "\n", counters[i].name,
                       counters[i].help, counters[i].name, counters[i].name, counters[i].v);
    wq_wbuf_printf(out, "# HELP wanqi_streams Agent streams (agent, incarnation) known.\n"
                        "# TYPE wanqi_streams gauge\nwanqi_streams %" PRIu64 "\n", st.streams);
    uint64_t used = 0, map = 0;
    if ((rc = wq_central_env_info(c, &used, &map, err)) != WQ_OK)
        return rc;
    wq_wbuf_printf(out, "# HELP wanqi_store_used_bytes Bytes of the LMDB map in use.\n"
                        "# TYPE wanqi_store_used_bytes gauge\nwanqi_store_used_bytes %" PRIu64 "\n"
                        "# HELP wanqi_store_map_bytes Size of the LMDB map (the store's limit).\n"
                        "# TYPE wanqi_store_map_bytes gauge\nwanqi_store_map_bytes %" PRIu64 "\n",
                   used, map);
    wq_table_t *t = NULL;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rc = wq_central_query(c, "agents", NULL, 0, &t, err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (rc != WQ_OK)
        return rc;
    dash_metrics_observe(self, "agents",
                         (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    wq_wbuf_puts(out, "# HELP wanqi_agent_last_contact_seconds Unix time of the agent stream's last "
                      "contact (0: never).\n# TYPE wanqi_agent_last_contact_seconds gauge\n");
    for (size_t r = 0; r < wq_table_nrows(t); r++) {
        wq_wbuf_puts(out, "wanqi_agent_last_contact_seconds{agent=\"");
        s_label(out, s_str(t, r, "agent"));
        wq_wbuf_puts(out, "\",inc=\"");
        s_label(out, s_str(t, r, "inc"));
        wq_wbuf_puts(out, "\",county=\"");
        s_label(out, s_str(t, r, "county"));
        wq_wbuf_printf(out, "\"} %" PRId64 "\n", s_china_epoch(s_str(t, r, "last_contact")));
    }
    wq_wbuf_puts(out, "# HELP wanqi_agent_backlog Records the agent reported as not yet "
                      "acknowledged.\n# TYPE wanqi_agent_backlog gauge\n");
    for (size_t r = 0; r < wq_table_nrows(t); r++) {
        wq_wbuf_puts(out, "wanqi_agent_backlog{agent=\"");
        s_label(out, s_str(t, r, "agent"));
        wq_wbuf_puts(out, "\",inc=\"");
        s_label(out, s_str(t, r, "inc"));
        wq_wbuf_puts(out, "\",county=\"");
        s_label(out, s_str(t, r, "county"));
        /* reported queue, less what was acknowledged since the report */
        int64_t backlog = s_int(t, r, "backlog"), unacked = s_int(t, r, "last_seq") - s_int(t, r, "hwm");
        if (unacked < backlog)
            backlog = unacked < 0 ? 0 : unacked;
        wq_wbuf_printf(out, "\"} %" PRId64 "\n", backlog);
    }
    wq_table_destroy(&t);
    wq_wbuf_puts(out, "# HELP wanqi_web_query_seconds Time the dashboard's queries took.\n"
                      "# TYPE wanqi_web_query_seconds histogram\n");
    for (size_t q = 0; q < S_NQ; q++) {
        uint64_t cum = 0;
        for (size_t b = 0; b <= S_NB; b++) {
            cum += atomic_load(&self->buckets[q][b]);
            if (b < S_NB)
                wq_wbuf_printf(out, "wanqi_web_query_seconds_bucket{query=\"%s\",le=\"%g\"} %" PRIu64 "\n",
                               s_queries[q], s_bounds[b], cum);
            else
                wq_wbuf_printf(out, "wanqi_web_query_seconds_bucket{query=\"%s\",le=\"+Inf\"} %" PRIu64 "\n",
                               s_queries[q], cum);
        }
        wq_wbuf_printf(out, "wanqi_web_query_seconds_sum{query=\"%s\"} %.6f\n", s_queries[q],
                       (double)atomic_load(&self->sum_us[q]) / 1e6);
        wq_wbuf_printf(out, "wanqi_web_query_seconds_count{query=\"%s\"} %" PRIu64 "\n", s_queries[q],
                       (uint64_t)atomic_load(&self->count[q]));
    }
    return WQ_OK;
}
