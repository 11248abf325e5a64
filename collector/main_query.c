/*  =========================================================================
    wanqi-query - provincial staff's query client

    Sends one QUERY to the collector's query endpoint over CURVE (a DEALER
    with the client's own key pair, which the collector must list as a
    client in its peers file), waits for the RESULT with the same request
    id, and prints its table: aligned text (double-width Han characters
    count two columns), CSV with a BOM for spreadsheets, or JSON.

    A socket monitor watches the handshake so that a refused key is
    reported as such at once; a collector that is down, unreachable or
    holding another key shows up as a timeout, and the message says which
    of those to check.
    =========================================================================
*/
#include "collector/casetext.h"
#include "collector/peers.h"
#include "common/i18n.h"
#include "common/date.h"
#include "common/table.h"
#include "proto/curve.h"
#include "proto/msg.h"

#include <czmq.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_EXIT_OK 0
#define S_EXIT_QUERY 1      /* the collector answered with an error */
#define S_EXIT_USAGE 2
#define S_EXIT_UNREACHABLE 3
#define S_EXIT_LOCAL 4

#define S_CERT_FILE "client.cert"
#define S_DIR_ENV "WANQI_QUERY_DIR"
#define S_COLLECTOR_ENV "WANQI_QUERY_COLLECTOR"
#define S_COLLECTOR_KEY_ENV "WANQI_QUERY_COLLECTOR_KEY"
#define S_MAX_PARAMS 16
#define S_PAGE_ROWS 10000       /* rows asked per page (the collector may send fewer) */

static void
s_usage(FILE *out)
{
    fprintf(out,
            _("Usage: wanqi-query [OPTIONS] COMMAND [ARG]\n"
            "       wanqi-query keygen [--dir DIR]\n"
            "\n"
            "Ask the wanqi collector for campaign figures.\n"
            "\n"
            "Commands:\n"
            "  summary            campaign figures by area and month (--level, --area, --from, --to, --asof,\n"
            "                     --by group: also by focus group and above designated size)\n"
            "  overdue            problems past the deadline in force and not rectified as of --asof, with\n"
            "                     their deadline history (--area, --from, --to: months opened)\n"
            "  enterprise CODE    one enterprise's whole case file as a timeline (CODE: credit code)\n"
            "  agents             each agent: last contact, mark, backlog it reported, quarantined (--area)\n"
            "  quarantine         records the collector quarantined, with their reasons (--area, --agent)\n"
            "  foreign            records refused because their county does not own the enterprise,\n"
            "                     problem or consultation (--area: sender's or owner's county)\n"
            "  cadres             visits per cadre (names as recorded) by area and month\n"
            "                     (--level, --area, --from, --to)\n"
            "  waiting            records waiting for the record they refer to, with their age (--area)\n"
            "  doubles            possible double entries: one enterprise, date and method, visited from\n"
            "                     several workstations (--area, --from, --to)\n"
            "  keygen             make this client's key pair in --dir and print the public key\n"
            "                     (the collector's operator authorizes it with\n"
            "                     `wanqi-collector authorize client --key KEY --name NAME`)\n"
            "\n"
            "Options:\n"
            "  --dir DIR              client directory holding client.cert(_secret)\n"
            "                         (default $%s, else ~/.wanqi-query)\n"
            "  --key FILE             use this key pair instead: FILE is the public certificate,\n"
            "                         FILE_secret its secret (0600)\n"
            "  --collector ENDPOINT   collector's query endpoint, e.g. tcp://10.1.2.3:5571 (or $%s)\n"
            "  --collector-key KEY    collector's public key, Z85 or its certificate file (or $%s)\n"
            "  --level L              province | city | county\n"
            "  --area CODE            GB/T 2260 code of the area (province, city or county); alone,\n"
            "                         summary shows that area's own row (its level)\n"
            "  --from YYYY-MM         first month of activity\n"
            "  --to YYYY-MM           last month of activity (not before --from)\n"
            "  --columns G,G          summary: column groups to show: enterprises, visits, problems,\n"
            "                         services, consultations, classes (default all); table and CSV\n"
            "                         end with a totals row (area \"total\") when there are several rows\n"
            "  --asof YYYY-MM-DD      date for overdue and on-time figures (default: today, China time)\n"
            "  --by group             summary: add columns by focus group and above_size\n"
            "  --agent ID             quarantine: only this agent's records\n"
            "  --param KEY=VALUE      any other query parameter (repeatable)\n"
            "  --format F             table (default) | csv | json\n"
            "  --timeout S            seconds to wait for each page of the answer (default 10)\n"
            "  --page-rows N          rows asked per page (default %d); every page is fetched\n"
            "  --help                 this text (also after a command: wanqi-query summary --help)\n"
            "  --version              the program's version\n"
            "Options take their value as --opt VALUE or --opt=VALUE.\n"
            "\n"
            "Exit status: 0 answered, 1 the collector refused the query (text says why),\n"
            "2 bad usage, 3 collector unreachable or our key refused, 4 local error.\n"),
            S_DIR_ENV, S_COLLECTOR_ENV, S_COLLECTOR_KEY_ENV, S_PAGE_ROWS);
}

/*  Each command's own help (`wanqi-query CMD --help`); the connection
    options and exit status, common to the queries, follow it. */
static const struct {
    const char *cmd, *help;
} s_cmd_help[] = {
    {"summary",
     N_("Usage: wanqi-query summary [--level province|city|county] [--area CODE] [--from YYYY-MM]\n"
        "                          [--to YYYY-MM] [--asof YYYY-MM-DD] [--by group] [--columns G,G]\n"
        "\n"
        "Campaign figures, one row per area at --level under --area (default: the province):\n"
        "enterprises registered and visited, visits by method, problems by category and status,\n"
        "plans, services, consultations, supervision classes and performance grades; overdue,\n"
        "rectified on time / late and the median days to rectification as of --asof (default\n"
        "today). --from/--to: months of activity (problems: the month opened). --by group splits\n"
        "enterprises, problems, on-time figures and overdue by focus group and above designated\n"
        "size (a problem by its enterprise's profile as of --asof). --columns: column groups\n"
        "(enterprises, visits, problems, services, consultations, classes). Table and CSV end\n"
        "with a totals row when there are several rows.\n")},
    {"overdue",
     N_("Usage: wanqi-query overdue [--area CODE] [--asof YYYY-MM-DD] [--from YYYY-MM] [--to YYYY-MM]\n"
        "\n"
        "Problems overdue at the end of --asof (default today): opened, the deadline in force that\n"
        "day has passed, and not rectified. One row each, with the deadline in force, the first\n"
        "deadline, the number of extensions and the days overdue. --from/--to: months opened.\n")},
    {"enterprise",
     N_("Usage: wanqi-query enterprise CODE\n"
        "\n"
        "One enterprise's whole case file (一企一册) as a timeline: every record about it and its\n"
        "problems and consultations, with each record's effect (counted, corrected, retracted,\n"
        "foreign). CODE: the 18-character unified social credit code.\n")},
    {"agents",
     N_("Usage: wanqi-query agents [--area CODE]\n"
        "\n"
        "Each agent (county workstation): last contact, the collector's mark, the backlog it\n"
        "reported and the records quarantined.\n")},
    {"quarantine",
     N_("Usage: wanqi-query quarantine [--area CODE] [--agent ID]\n"
        "\n"
        "Records the collector could not accept, with the reason, the agent and the time.\n")},
    {"foreign",
     N_("Usage: wanqi-query foreign [--area CODE]\n"
        "\n"
        "Records refused because their county does not own the enterprise, problem or\n"
        "consultation they concern (--area: the sender's or the owner's county).\n")},
    {"cadres",
     N_("Usage: wanqi-query cadres [--level province|city|county] [--area CODE] [--from YYYY-MM]\n"
        "                         [--to YYYY-MM]\n"
        "\n"
        "Distinct cadres who made visits and the visits of each, by area and month (names as\n"
        "recorded).\n")},
    {"waiting",
     N_("Usage: wanqi-query waiting [--area CODE]\n"
        "\n"
        "Plans, progress, answers and corrections still waiting for the record they refer to,\n"
        "with their age, so that a county can resend or fix them.\n")},
    {"doubles",
     N_("Usage: wanqi-query doubles [--area CODE] [--from YYYY-MM] [--to YYYY-MM]\n"
        "\n"
        "Possible double entries: visits of one enterprise on one date by one method from\n"
        "several workstations, for staff to check (never merged).\n")},
    {"keygen",
     N_("Usage: wanqi-query keygen [--dir DIR]\n"
        "\n"
        "Make this client's key pair in DIR (default $WANQI_QUERY_DIR, else ~/.wanqi-query) and\n"
        "print its public key, for the collector's operator to authorize with\n"
        "`wanqi-collector authorize client --key KEY --name NAME`.\n"
        "Exit status: 0 done, 2 bad usage, 4 local error (e.g. a key pair already there).\n")},
};
#define S_NCMDS (sizeof s_cmd_help / sizeof s_cmd_help[0])

/*  Print cmd's help to stdout; -1 if cmd is not a command. */
static int
s_cmd_usage(const char *cmd)
{
    for (size_t i = 0; i < S_NCMDS; i++)
        if (strcmp(s_cmd_help[i].cmd, cmd) == 0) {
            fputs(_(s_cmd_help[i].help), stdout);
            if (strcmp(cmd, "keygen") != 0)
                fputs(_("\n"
                        "Every query also takes --collector ENDPOINT, --collector-key KEY, --dir DIR or\n"
                        "--key FILE, --format table|csv|json, --timeout S and --param KEY=VALUE\n"
                        "(wanqi-query --help describes them).\n"
                        "Exit status: 0 answered, 1 the collector refused the query (text says why),\n"
                        "2 bad usage, 3 collector unreachable or our key refused, 4 local error.\n"),
                      stdout);
            return 0;
        }
    return -1;
}

static char *
s_default_dir(const char *dir)
{
    if (dir && *dir)
        return strdup(dir);
    const char *env = getenv(S_DIR_ENV);
    if (env && *env)
        return strdup(env);
    const char *home = getenv("HOME");
    return zsys_sprintf("%s/.wanqi-query", home && *home ? home : ".");
}

static int
s_keygen(const char *dir_arg)
{
    int ret = S_EXIT_LOCAL;
    char *dir = s_default_dir(dir_arg);
    char *cert_path = dir ? zsys_sprintf("%s/%s", dir, S_CERT_FILE) : NULL;
    char *secret_path = cert_path ? zsys_sprintf("%s_secret", cert_path) : NULL;
    zcert_t *cert = NULL;
    wq_err_t err;
    wq_err_clear(&err);
    char text[400];
    if (!secret_path) {
        fprintf(stderr, _("wanqi-query keygen: out of memory\n"));
        goto done;
    }
    if (zsys_file_exists(secret_path)) {
        fprintf(stderr, _("wanqi-query keygen: %s already exists; refusing to replace this client's key\n"),
                secret_path);
        goto done;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, _("wanqi-query keygen: cannot create %s: %s\n"), dir, strerror(errno));
        goto done;
    }
    if (wq_curve_create(cert_path, "wanqi-query", &cert, &err) != WQ_OK) {
        fprintf(stderr, _("wanqi-query keygen: %s\n"), wq_err_format(&err, text, sizeof text));
        goto done;
    }
    fprintf(stderr,
            _("wanqi-query: key pair written to %s (secret: %s, mode 0600).\n"
            "Have the collector's operator run:\n"
            "  wanqi-collector authorize client --key '%s' --name YOUR_NAME\n"
            "Public key:\n"),
            cert_path, secret_path, zcert_public_txt(cert));
    printf("%s\n", zcert_public_txt(cert));
    ret = S_EXIT_OK;
done:
    zcert_destroy(&cert);
    zstr_free(&secret_path);
    zstr_free(&cert_path);
    free(dir);
    return ret;
}

/*  Load the client's certificate (with its secret). */
static zcert_t *
s_load_cert(const char *key_file, const char *dir_arg)
{
    char *dir = NULL;
    char *path = NULL;
    if (key_file) {
        /* Accept the secret file's name too: the pair is named by the
           public file, the secret is beside it. */
        size_t n = strlen(key_file);
        if (n > 7 && strcmp(key_file + n - 7, "_secret") == 0)
            path = strndup(key_file, n - 7);
        else
            path = strdup(key_file);
    }
    else {
        dir = s_default_dir(dir_arg);
        path = dir ? zsys_sprintf("%s/%s", dir, S_CERT_FILE) : NULL;
    }
    zcert_t *cert = NULL;
    wq_err_t err;
    wq_err_clear(&err);
    char text[400];
    if (!path)
        fprintf(stderr, _("wanqi-query: out of memory\n"));
    else if (wq_curve_load_pair(path, &cert, &err) != WQ_OK)
        fprintf(stderr, _("wanqi-query: cannot load this client's key pair %s: %s%s\n"), path,
                wq_err_format(&err, text, sizeof text),
                err.code == WQ_E_NOTFOUND ? " (make one with `wanqi-query keygen --dir DIR`)" : "");
    free(path);
    free(dir);
    return cert;
}

typedef struct {
    const char *dir;
    const char *key;
    const char *collector;
    const char *collector_key;
    wq_format_t format;
    int timeout_s;
    int page_rows;
    wq_param_t params[S_MAX_PARAMS];
    size_t nparams;
    const char *columns;        /* summary: column groups, comma-separated (NULL: all) */
} s_opts_t;

/*  Column groups of summary (--columns): a column belongs to a group when
    its name starts with one of the group's prefixes. */
static const struct {
    const char *group;
    const char *prefixes[4];
} s_groups[] = {
    {"enterprises", {"enterprises_", NULL}},
    {"visits", {"visits", NULL}},
    {"problems", {"problems", "plans", "overdue", NULL}},
    {"services", {"services", NULL}},
    {"consultations", {"consultations", "answer_days", NULL}},
    {"classes", {"class_", NULL}},
};
#define S_NGROUPS (sizeof s_groups / sizeof s_groups[0])

/*  Check --columns: known groups only. */
static int
s_columns_check(const char *list)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *save = NULL, *g = strtok_r(buf, ",", &save); g; g = strtok_r(NULL, ",", &save)) {
        size_t i = 0;
        while (i < S_NGROUPS && strcmp(s_groups[i].group, g) != 0)
            i++;
        if (i == S_NGROUPS && strcmp(g, "all") != 0) {
            fprintf(stderr, _("wanqi-query: --columns takes groups among all, enterprises, visits, "
                            "problems, services, consultations, classes; not \"%s\"\n"), g);
            return -1;
        }
    }
    return 0;
}

static bool
s_column_wanted(const char *col, const char *list)
{
    if (!list || strcmp(col, "area") == 0 || strcmp(col, "area_name") == 0 || strcmp(col, "level") == 0)
        return true;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *save = NULL, *g = strtok_r(buf, ",", &save); g; g = strtok_r(NULL, ",", &save)) {
        if (strcmp(g, "all") == 0)
            return true;
        for (size_t i = 0; i < S_NGROUPS; i++)
            if (strcmp(s_groups[i].group, g) == 0)
                for (size_t k = 0; s_groups[i].prefixes[k]; k++)
                    if (strncmp(col, s_groups[i].prefixes[k], strlen(s_groups[i].prefixes[k])) == 0)
                        return true;
    }
    return false;
}

/*  The summary as shown: the wanted column groups, and (for table and CSV,
    when there is more than one row) a totals row "total / 合计" summing
    each integer column; medians cannot be summed and are left empty. JSON
    stays one object per area. NULL on no memory. */
#define S_SUMMARY_MAXCOLS 128   /* the summary has 79 columns with --by group */
static wq_table_t *
s_shape_summary(const wq_table_t *in, const char *columns, wq_format_t format)
{
    size_t nc = wq_table_ncols(in), nr = wq_table_nrows(in), keep[S_SUMMARY_MAXCOLS], nk = 0;
    const char *names[S_SUMMARY_MAXCOLS];
    for (size_t c = 0; c < nc && nk < S_SUMMARY_MAXCOLS; c++)
        if (s_column_wanted(wq_table_col(in, c), columns)) {
            keep[nk] = c;
            names[nk++] = wq_table_col(in, c);
        }
    wq_table_t *t = wq_table_new(nk, names);
    if (!t)
        return NULL;
    int rc = WQ_OK;
    for (size_t r = 0; r < nr && rc == WQ_OK; r++) {
        size_t row;
        rc = wq_table_add_row(t, &row);
        for (size_t k = 0; k < nk && rc == WQ_OK; k++) {
            const wq_cell_t *cell = wq_table_cell(in, r, keep[k]);
            if (cell->kind == WQ_CELL_INT)
                rc = wq_table_set_int(t, row, k, cell->i);
            else if (cell->kind == WQ_CELL_STR)
                rc = wq_table_set_str(t, row, k, cell->s);
        }
    }
    if (rc == WQ_OK && nr > 1 && format != WQ_FORMAT_JSON) {
        size_t row;
        rc = wq_table_add_row(t, &row);
        for (size_t k = 0; k < nk && rc == WQ_OK; k++) {
            const char *col = names[k];
            if (strcmp(col, "area") == 0)
                rc = wq_table_set_str(t, row, k, "total");
            else if (strcmp(col, "area_name") == 0)
                rc = wq_table_set_str(t, row, k, "合计");
            else if (!strstr(col, "_median") && strcmp(col, "level") != 0) {
                int64_t sum = 0;
                bool any = false;
                for (size_t r = 0; r < nr; r++) {
                    const wq_cell_t *cell = wq_table_cell(in, r, keep[k]);
                    if (cell->kind == WQ_CELL_INT) {
                        sum += cell->i;
                        any = true;
                    }
                }
                if (any)
                    rc = wq_table_set_int(t, row, k, sum);
            }
        }
    }
    if (rc != WQ_OK)
        wq_table_destroy(&t);
    return t;
}

static int
s_add_param(s_opts_t *o, const char *key, const char *value)
{
    for (size_t i = 0; i < o->nparams; i++)
        if (strcmp(o->params[i].key, key) == 0) {
            fprintf(stderr, _("wanqi-query: parameter %s given twice\n"), key);
            return -1;
        }
    if (o->nparams == S_MAX_PARAMS) {
        fprintf(stderr, _("wanqi-query: at most %d parameters\n"), S_MAX_PARAMS);
        return -1;
    }
    o->params[o->nparams].key = (char *) key;
    o->params[o->nparams].value = (char *) value;
    o->nparams++;
    return 0;
}

static int
s_param_cmp(const void *a, const void *b)
{
    return strcmp(((const wq_param_t *) a)->key, ((const wq_param_t *) b)->key);
}

/*  Read one monitor event: returns the event id or 0. */
static int
s_monitor_event(zsock_t *monitor, uint32_t *value)
{
    zmsg_t *m = zmsg_recv(monitor);
    if (!m)
        return 0;
    int ev = 0;
    zframe_t *f = zmsg_first(m);
    if (f && zframe_size(f) >= 6) {
        const uint8_t *d = zframe_data(f);
        uint16_t e16;
        memcpy(&e16, d, 2);
        memcpy(value, d + 2, 4);
        ev = e16;
    }
    zmsg_destroy(&m);
    return ev;
}

/*  Send one QUERY frame and wait for its RESULT (*reply, new). Returns
    S_EXIT_OK with *reply set, or the exit status after printing why. */
static int
s_exchange(const s_opts_t *o, zcert_t *cert, zsock_t *dealer, zsock_t *monitor, const wq_msg_t *msg,
           wq_msg_t **reply)
{
    uint8_t *buf = NULL;
    size_t size = 0;
    wq_err_t err;
    char text[600];
    int ret = S_EXIT_LOCAL;
    *reply = NULL;
    if (wq_msg_encode(msg, &buf, &size, &err) != WQ_OK) {
        fprintf(stderr, _("wanqi-query: bad query: %s\n"), wq_err_format(&err, text, sizeof text));
        return S_EXIT_USAGE;
    }
    if (zmq_send(zsock_resolve(dealer), buf, size, 0) < 0) {
        fprintf(stderr, _("wanqi-query: cannot send the query: %s\n"), zmq_strerror(errno));
        goto done;
    }
    uint64_t deadline = wq_mono_ms() + (uint64_t) o->timeout_s * 1000;
    for (;;) {
        uint64_t now = wq_mono_ms();
        if (now >= deadline) {
            fprintf(stderr,
                    _("wanqi-query: no answer from %s within %d s. Check that the collector is running and "
                    "reachable there, that --collector-key is its public key (`wanqi-collector key`), and "
                    "that this client's key '%s' is authorized on it (`wanqi-collector authorize client`).\n"),
                    o->collector, o->timeout_s, zcert_public_txt(cert));
            ret = S_EXIT_UNREACHABLE;
            goto done;
        }
        zmq_pollitem_t items[2] = {
            {zsock_resolve(dealer), 0, ZMQ_POLLIN, 0},
            {zsock_resolve(monitor), 0, ZMQ_POLLIN, 0},
        };
        int n = zmq_poll(items, 2, (long) (deadline - now));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, _("wanqi-query: poll failed: %s\n"), zmq_strerror(errno));
            goto done;
        }
        if (items[1].revents & ZMQ_POLLIN) {
            uint32_t value = 0;
            int ev = s_monitor_event(monitor, &value);
            if (ev == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
                fprintf(stderr,
                        _("wanqi-query: the collector at %s refused this client's key '%s' (status %" PRIu32 "): "
                        "it is not authorized as a query client. Ask the collector's operator to run "
                        "`wanqi-collector authorize client --key '%s' --name NAME` and reload the collector.\n"),
                        o->collector, zcert_public_txt(cert), value, zcert_public_txt(cert));
                ret = S_EXIT_UNREACHABLE;
                goto done;
            }
            if (ev == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL)
                fprintf(stderr, _("wanqi-query: handshake with %s failed (protocol error %" PRIu32 "); retrying\n"),
                        o->collector, value);
        }
        if (!(items[0].revents & ZMQ_POLLIN))
            continue;
        zframe_t *frame = zframe_recv(dealer);
        if (!frame)
            continue;
        int rc = wq_msg_decode(zframe_data(frame), zframe_size(frame), reply, &err);
        zframe_destroy(&frame);
        if (rc != WQ_OK) {
            fprintf(stderr, _("wanqi-query: undecodable answer from the collector: %s\n"),
                    wq_err_format(&err, text, sizeof text));
            goto done;
        }
        if ((*reply)->type == WQ_MSG_ERROR && (*reply)->error.code == WQ_E_AUTH) {
            /* The collector's text is English (the wire's); the code says
               what it means: this key is not a query client's. */
            fprintf(stderr,
                    _("wanqi-query: the collector at %s refused the query (E_AUTH): this client's key '%s' is "
                    "not authorized as a query client (an agent's key may not query, and a key removed from "
                    "the peers file no longer may). Ask the collector's operator to run `wanqi-collector "
                    "authorize client --key '%s' --name NAME` and reload the collector.\n"),
                    o->collector, zcert_public_txt(cert), zcert_public_txt(cert));
            ret = S_EXIT_UNREACHABLE;
            wq_msg_destroy(reply);
            goto done;
        }
        if ((*reply)->type == WQ_MSG_ERROR) {
            fprintf(stderr, _("wanqi-query: the collector refused the query: %s: %s\n"),
                    wq_errname((int) (*reply)->error.code), (*reply)->error.text ? (*reply)->error.text : "");
            ret = (*reply)->error.code == WQ_E_AUTH ? S_EXIT_UNREACHABLE : S_EXIT_QUERY;
            wq_msg_destroy(reply);
            goto done;
        }
        if ((*reply)->type != WQ_MSG_RESULT || (*reply)->result.request_id != msg->query.request_id) {
            wq_msg_destroy(reply);      /* not ours (a late answer): keep waiting */
            continue;
        }
        ret = S_EXIT_OK;
        goto done;
    }
done:
    free(buf);
    return ret;
}

/*  Send the query, fetching every page (proto/PROTOCOL.md 7.3: "limit"
    and "cursor"; a collector older than paging answers E_UNKNOWN for
    "limit", and then the query is sent once, unpaged), and print the
    whole answer; returns the exit status. */
static int
s_query(const s_opts_t *o, zcert_t *cert, const char *server_key, const char *name)
{
    int ret = S_EXIT_LOCAL;
    zsock_t *dealer = NULL, *monitor = NULL;
    wq_msg_t *reply = NULL;
    wq_table_t *all = NULL;
    char mon_ep[64];
    char limit[16], cursor[WQ_CURSOR_MAX + 1] = "";
    bool paged = true;
    snprintf(limit, sizeof limit, "%d", o->page_rows);
    for (size_t i = 0; i < o->nparams; i++)
        if (strcmp(o->params[i].key, "limit") == 0 || strcmp(o->params[i].key, "cursor") == 0)
            paged = false;      /* --param limit/cursor: one page, as asked */

    dealer = zsock_new(ZMQ_DEALER);
    monitor = zsock_new(ZMQ_PAIR);
    if (!dealer || !monitor) {
        fprintf(stderr, _("wanqi-query: cannot create sockets: %s\n"), zmq_strerror(errno));
        goto done;
    }
    zsock_set_linger(dealer, 0);
    zsock_set_linger(monitor, 0);
    zcert_apply(cert, dealer);
    zsock_set_curve_serverkey(dealer, server_key);
    zsock_set_maxmsgsize(dealer, (int64_t) WQ_MSG_MAX_BYTES + 4096);
    snprintf(mon_ep, sizeof mon_ep, "inproc://wanqi-query-monitor-%d", (int) getpid());
    if (zmq_socket_monitor(zsock_resolve(dealer), mon_ep,
                           ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) != 0
        || zsock_connect(monitor, "%s", mon_ep) != 0) {
        fprintf(stderr, _("wanqi-query: cannot monitor the socket: %s\n"), zmq_strerror(errno));
        goto done;
    }
    if (zsock_connect(dealer, "%s", o->collector) != 0) {
        fprintf(stderr, _("wanqi-query: bad collector endpoint \"%s\": %s (expected tcp://HOST:PORT)\n"), o->collector,
                zmq_strerror(errno));
        ret = S_EXIT_USAGE;
        goto done;
    }
    for (unsigned page = 0;; page++) {
        wq_msg_t msg;
        memset(&msg, 0, sizeof msg);
        msg.type = WQ_MSG_QUERY;
        msg.query.request_id =
            ((wq_now_ms() << 20) ^ ((uint64_t) getpid() << 4) ^ (uint64_t) randof(1 << 16) ^ page) & INT64_MAX;
        msg.query.name = (char *) name;
        wq_param_t params[S_MAX_PARAMS + 2];
        size_t n = o->nparams;
        memcpy(params, o->params, n * sizeof params[0]);
        if (paged) {
            params[n++] = (wq_param_t){"limit", limit};
            if (cursor[0])
                params[n++] = (wq_param_t){"cursor", cursor};
        }
        qsort(params, n, sizeof params[0], s_param_cmp);
        msg.query.count = n;
        msg.query.params = params;
        wq_msg_destroy(&reply);
        ret = s_exchange(o, cert, dealer, monitor, &msg, &reply);
        if (ret != S_EXIT_OK)
            goto done;
        ret = S_EXIT_LOCAL;
        if (reply->result.status == WQ_E_UNKNOWN && paged && page == 0 && reply->result.text
            && strstr(reply->result.text, "limit")) {
            paged = false;      /* a collector from before paging: ask once, whole */
            page = 0;
            continue;
        }
        if (reply->result.status != WQ_OK) {
            const char *why = reply->result.text ? reply->result.text : "";
            const char *code = wq_errname((int) reply->result.status);
            /* The collector's text usually ends with "(E_CODE)" already. */
            if (strstr(why, code))
                fprintf(stderr, _("wanqi-query %s: %s\n"), name, why);
            else
                fprintf(stderr, _("wanqi-query %s: %s (%s)\n"), name, why, code);
            ret = reply->result.status == WQ_E_AUTH ? S_EXIT_UNREACHABLE : S_EXIT_QUERY;
            goto done;
        }
        if (!reply->result.table) {
            fprintf(stderr, _("wanqi-query: the collector's answer has no table\n"));
            goto done;
        }
        if (!all) {
            all = reply->result.table;      /* the first page: take it */
            reply->result.table = NULL;
        } else if (wq_table_append(all, reply->result.table) != WQ_OK) {
            fprintf(stderr, _("wanqi-query: page %u of the answer has other columns than the first, or out of "
                            "memory: ask again\n"), page + 1);
            goto done;
        }
        if (reply->result.text && reply->result.text[0])   /* a bounded reply's note */
            fprintf(stderr, _("wanqi-query %s: %s\n"), name, reply->result.text);
        const char *next = reply->result.next;
        if (!paged || !next || !next[0])
            break;
        if (strcmp(next, cursor) == 0) {
            fprintf(stderr, _("wanqi-query: the collector gave the same page twice (cursor %s): stopped\n"), next);
            goto done;
        }
        snprintf(cursor, sizeof cursor, "%s", next);
    }
    wq_table_t *shown = NULL;
    /* The case file's table is read by people: its codes and words in
       their language (CSV and JSON keep the codes, for scripts). */
    if (strcmp(name, "enterprise") == 0 && o->format == WQ_FORMAT_TABLE && wq_casetext_localize(all) != WQ_OK) {
        fprintf(stderr, _("wanqi-query: out of memory writing the case file\n"));
        goto done;
    }
    if (strcmp(name, "summary") == 0) {
        shown = s_shape_summary(all, o->columns, o->format);
        if (!shown) {
            fprintf(stderr, _("wanqi-query: out of memory shaping the summary\n"));
            goto done;
        }
    }
    /* Any table people read: Chinese headers and enum cells under a
       Chinese locale (CSV and JSON keep the English keys and codes). */
    wq_table_t *read = NULL;
    if (o->format == WQ_FORMAT_TABLE && wq_casetext_table(shown ? shown : all, &read) != WQ_OK) {
        fprintf(stderr, _("wanqi-query: out of memory writing the result\n"));
        wq_table_destroy(&shown);
        goto done;
    }
    int wrc = wq_table_write(read ? read : shown ? shown : all, o->format, stdout);
    wq_table_destroy(&read);
    wq_table_destroy(&shown);
    if (wrc != WQ_OK || fflush(stdout) != 0) {
        fprintf(stderr, _("wanqi-query: cannot write the result: %s\n"), strerror(errno));
        goto done;
    }
    ret = S_EXIT_OK;
done:
    wq_msg_destroy(&reply);
    wq_table_destroy(&all);
    if (dealer)
        zmq_socket_monitor(zsock_resolve(dealer), NULL, 0);
    zsock_destroy(&monitor);
    zsock_destroy(&dealer);
    return ret;
}

enum { O_DIR = 1000, O_KEY, O_COLLECTOR, O_COLLECTOR_KEY, O_LEVEL, O_AREA, O_FROM, O_TO, O_ASOF, O_AGENT, O_BY, O_PARAM,
       O_FORMAT, O_TIMEOUT, O_PAGE_ROWS, O_HELP, O_COLUMNS, O_VERSION };

static const struct option s_options[] = {
    {"dir", required_argument, NULL, O_DIR},
    {"key", required_argument, NULL, O_KEY},
    {"collector", required_argument, NULL, O_COLLECTOR},
    {"collector-key", required_argument, NULL, O_COLLECTOR_KEY},
    {"level", required_argument, NULL, O_LEVEL},
    {"area", required_argument, NULL, O_AREA},
    {"from", required_argument, NULL, O_FROM},
    {"to", required_argument, NULL, O_TO},
    {"asof", required_argument, NULL, O_ASOF},
    {"agent", required_argument, NULL, O_AGENT},
    {"by", required_argument, NULL, O_BY},
    {"param", required_argument, NULL, O_PARAM},
    {"format", required_argument, NULL, O_FORMAT},
    {"timeout", required_argument, NULL, O_TIMEOUT},
    {"page-rows", required_argument, NULL, O_PAGE_ROWS},
    {"help", no_argument, NULL, O_HELP},
    {"version", no_argument, NULL, O_VERSION},
    {"columns", required_argument, NULL, O_COLUMNS},
    {NULL, 0, NULL, 0},
};

int
main(int argc, char **argv)
{
    wq_i18n_init();
    zsys_handler_set(NULL);     /* Ctrl-C ends the program */
    zsys_set_logident("wanqi-query");
    int ret = S_EXIT_USAGE;
    s_opts_t o;
    memset(&o, 0, sizeof o);
    o.format = WQ_FORMAT_TABLE;
    o.timeout_s = 10;
    o.page_rows = S_PAGE_ROWS;
    zcert_t *cert = NULL;
    char server_key[WQ_KEY_Z85_LEN + 1];
    wq_err_t err;
    wq_err_clear(&err);
    char text[600];
    bool help = false;

    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", s_options, NULL)) != -1) {
        int prc = 0;
        switch (c) {
        case O_DIR: o.dir = optarg; break;
        case O_KEY: o.key = optarg; break;
        case O_COLLECTOR: o.collector = optarg; break;
        case O_COLLECTOR_KEY: o.collector_key = optarg; break;
        case O_LEVEL: prc = s_add_param(&o, "level", optarg); break;
        case O_AREA: prc = s_add_param(&o, "area", optarg); break;
        case O_FROM: prc = s_add_param(&o, "from", optarg); break;
        case O_TO: prc = s_add_param(&o, "to", optarg); break;
        case O_ASOF: prc = s_add_param(&o, "asof", optarg); break;
        case O_AGENT: prc = s_add_param(&o, "agent", optarg); break;
        case O_BY: prc = s_add_param(&o, "by", optarg); break;
        case O_PARAM: {
            char *eq = strchr(optarg, '=');
            if (!eq || eq == optarg) {
                fprintf(stderr, _("wanqi-query: --param takes KEY=VALUE, not \"%s\"\n"), optarg);
                goto done;
            }
            *eq = 0;
            prc = s_add_param(&o, optarg, eq + 1);
            break;
        }
        case O_FORMAT:
            o.format = wq_format_parse(optarg);
            if (!o.format) {
                fprintf(stderr, _("wanqi-query: --format is table, csv or json, not \"%s\"\n"), optarg);
                goto done;
            }
            break;
        case O_TIMEOUT: {
            char *end = NULL;
            long t = strtol(optarg, &end, 10);
            if (!end || *end || t < 1 || t > 3600) {
                fprintf(stderr, _("wanqi-query: --timeout is a number of seconds, 1..3600, not \"%s\"\n"), optarg);
                goto done;
            }
            o.timeout_s = (int) t;
            break;
        }
        case O_PAGE_ROWS: {
            char *end = NULL;
            long t = strtol(optarg, &end, 10);
            if (!end || *end || t < 1 || t > WQ_RESULT_MAX_ROWS) {
                fprintf(stderr, _("wanqi-query: --page-rows is a number of rows, 1..%u, not \"%s\"\n"),
                        (unsigned) WQ_RESULT_MAX_ROWS, optarg);
                goto done;
            }
            o.page_rows = (int) t;
            break;
        }
        case O_COLUMNS:
            if (s_columns_check(optarg) != 0)
                goto done;
            o.columns = optarg;
            break;
        case 'h':
        case O_HELP: help = true; break;
        case O_VERSION:
            printf("wanqi-query %s\n", WANQI_VERSION);   /* not translated: name and version */
            ret = S_EXIT_OK;
            goto done;
        default:
            fprintf(stderr, _("wanqi-query: unknown option or missing value: %s (see --help)\n"), argv[optind - 1]);
            goto done;
        }
        if (prc != 0)
            goto done;
    }
    if (help) {
        /* `wanqi-query CMD --help` (getopt moved CMD after the options) */
        if (optind < argc && s_cmd_usage(argv[optind]) != 0) {
            fprintf(stderr, _("wanqi-query: unknown command \"%s\" (see --help)\n"), argv[optind]);
            goto done;
        }
        if (optind >= argc)
            s_usage(stdout);
        ret = S_EXIT_OK;
        goto done;
    }
    int nargs = argc - optind;
    char **args = argv + optind;
    if (nargs < 1) {
        s_usage(stderr);
        goto done;
    }
    const char *cmd = args[0];
    if (strcmp(cmd, "keygen") == 0) {
        if (nargs != 1) {
            fprintf(stderr, _("wanqi-query keygen: unexpected argument \"%s\"\n"), args[1]);
            goto done;
        }
        ret = s_keygen(o.dir);
        goto done;
    }
    if (strcmp(cmd, "summary") != 0 && strcmp(cmd, "overdue") != 0 && strcmp(cmd, "enterprise") != 0
        && strcmp(cmd, "agents") != 0 && strcmp(cmd, "quarantine") != 0 && strcmp(cmd, "foreign") != 0
        && strcmp(cmd, "cadres") != 0 && strcmp(cmd, "waiting") != 0 && strcmp(cmd, "doubles") != 0) {
        fprintf(stderr, _("wanqi-query: unknown command \"%s\" (see --help)\n"), cmd);
        goto done;
    }
    if (strcmp(cmd, "enterprise") == 0) {
        if (nargs != 2) {
            fprintf(stderr, _("wanqi-query enterprise: give the enterprise's credit code\n"));
            goto done;
        }
        if (s_add_param(&o, "code", args[1]) != 0)
            goto done;
    } else if (nargs != 1) {
        fprintf(stderr, _("wanqi-query %s: unexpected argument \"%s\"\n"), cmd, args[1]);
        goto done;
    }
    if (!o.collector)
        o.collector = getenv(S_COLLECTOR_ENV);
    if (!o.collector_key)
        o.collector_key = getenv(S_COLLECTOR_KEY_ENV);
    if (!o.collector || !*o.collector || !o.collector_key || !*o.collector_key) {
        fprintf(stderr, _("wanqi-query: say where the collector is: --collector tcp://HOST:5571 and "
                        "--collector-key KEY (or $%s and $%s)\n"),
                S_COLLECTOR_ENV, S_COLLECTOR_KEY_ENV);
        goto done;
    }
    if (wq_curve_public_key(o.collector_key, server_key, &err) != WQ_OK) {
        fprintf(stderr, _("wanqi-query: --collector-key: %s\n"), wq_err_format(&err, text, sizeof text));
        goto done;
    }
    cert = s_load_cert(o.key, o.dir);
    if (!cert) {
        ret = S_EXIT_LOCAL;
        goto done;
    }
    ret = s_query(&o, cert, server_key, cmd);
    if (ret == S_EXIT_UNREACHABLE) {
        /* No answer, or the key refused in the CURVE handshake: the socket may
           be left mid-handshake, and libzmq's context termination can then
           wait forever (zeromq/libzmq#2733; seen once here under ASan, after
           the message was printed). Everything is said; leave without it. */
        zcert_destroy(&cert);
        fflush(stdout);
        fflush(stderr);
        _exit(ret);
    }
done:
    zcert_destroy(&cert);
    zsys_shutdown();
    return ret;
}
