/*  =========================================================================
    wanqi-collector - the provincial collector

    Commands:
        init       make the data directory, key pair, config and peers file
        run        serve agents and query clients in the foreground
        verify     recompute every view from the events and compare
        authorize  allow an agent or a query client (appends to the peers file)
        transfer   record that an enterprise moved county (ownership)
        peers      list the authorized agents and query clients
        key        print the collector's public key

    This file is only the command line: the work is in config.c, peers.c,
    server.c and the central store (central.h). See docs/COLLECTOR.md.
    =========================================================================
*/
#include "collector/central.h"
#include "collector/config.h"
#include "collector/peers.h"
#include "collector/server.h"
#include "common/i18n.h"
#include "common/division.h"
#include "common/log.h"
#include "common/table.h"
#include "proto/curve.h"

#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_EXIT_OK 0
#define S_EXIT_FAIL 1
#define S_EXIT_USAGE 2

static volatile sig_atomic_t s_stop = 0;
static volatile sig_atomic_t s_reload = 0;

static void
s_on_signal(int sig)
{
    if (sig == SIGHUP)
        s_reload = 1;
    else
        s_stop = 1;
}

static void
s_usage(FILE *out)
{
    fprintf(out,
            _("Usage: wanqi-collector COMMAND [OPTIONS]\n"
            "\n"
            "The provincial collector of wanqi: receives county agents' records over ZeroMQ\n"
            "(CURVE), merges them exactly once into the central LMDB store, answers queries.\n"
            "\n"
            "Commands:\n"
            "  init       create the data directory, key pair, config and peers file\n"
            "  run        serve agents and query clients (foreground, logs to stderr)\n"
            "  verify     recompute every view from the stored events and compare\n"
            "  authorize  agent|client: allow a key (appends to the peers file)\n"
            "  transfer   CODE COUNTY DATE: an enterprise moved county (operator only)\n"
            "  peers      list the authorized agents and query clients\n"
            "  key        print the collector's public key\n"
            "\n"
            "Every command takes --dir DIR (default $%s, else %s).\n"
            "`wanqi-collector COMMAND --help` for details. Docs: docs/COLLECTOR.md.\n"
            "Options take their value as --opt VALUE or --opt=VALUE. --version prints the version.\n"
            "Exit status: 0 done, 1 failed (verify: differences found), 2 bad usage (verify:\n"
            "also an error).\n"),
            WQ_COLLECTOR_DIR_ENV, WQ_COLLECTOR_DEFAULT_DIR);
}

static char *
s_path(const char *dir, const char *name)
{
    char *p = zsys_sprintf("%s/%s", dir, name);
    if (!p) {
        fprintf(stderr, _("wanqi-collector: out of memory\n"));
        exit(S_EXIT_FAIL);
    }
    return p;
}

/*  Load collector.conf from dir over the defaults. */
static int
s_load_config(const char *dir, wq_collector_config_t *cfg, wq_err_t *err)
{
    int rc = wq_collector_config_defaults(cfg);
    if (rc != WQ_OK)
        return wq_err_set(err, rc, NULL, _("out of memory"));
    char *path = s_path(dir, WQ_COLLECTOR_CONF_FILE);
    rc = wq_collector_config_load(cfg, path, err);
    zstr_free(&path);
    return rc;
}

static void
s_print_err(const char *what, const wq_err_t *err)
{
    char text[512];
    fprintf(stderr, _("wanqi-collector %s: %s\n"), what, wq_err_format(err, text, sizeof text));
}

/*  Options shared by init and run: overrides of the config. */
typedef struct {
    const char *dir;
    const char *ingest;
    const char *query;
    const char *map_size;
} s_common_t;

static int
s_apply_overrides(wq_collector_config_t *cfg, const s_common_t *o, wq_err_t *err)
{
    int rc = WQ_OK;
    if (o->ingest && (rc = wq_collector_config_set(cfg, "ingest", o->ingest, err)) != WQ_OK)
        return rc;
    if (o->query && (rc = wq_collector_config_set(cfg, "query", o->query, err)) != WQ_OK)
        return rc;
    if (o->map_size && (rc = wq_collector_config_set(cfg, "map_size", o->map_size, err)) != WQ_OK)
        return rc;
    return WQ_OK;
}

enum { O_DIR = 1000, O_INGEST, O_QUERY, O_MAP_SIZE, O_KEY, O_AGENT_ID, O_COUNTY, O_NAME, O_HELP, O_QUIET,
       O_FORMAT, O_READY_FILE };

static const struct option s_options[] = {
    {"dir", required_argument, NULL, O_DIR},
    {"ingest", required_argument, NULL, O_INGEST},
    {"query", required_argument, NULL, O_QUERY},
    {"map-size", required_argument, NULL, O_MAP_SIZE},
    {"key", required_argument, NULL, O_KEY},
    {"agent-id", required_argument, NULL, O_AGENT_ID},
    {"county", required_argument, NULL, O_COUNTY},
    {"name", required_argument, NULL, O_NAME},
    {"quiet", no_argument, NULL, O_QUIET},
    {"format", required_argument, NULL, O_FORMAT},
    {"ready-file", required_argument, NULL, O_READY_FILE},
    {"help", no_argument, NULL, O_HELP},
    {NULL, 0, NULL, 0},
};

typedef struct {
    s_common_t c;
    const char *key;
    const char *agent_id;
    const char *county;
    const char *name;
    const char *format;
    const char *ready_file;
    bool quiet;
    bool help;
    int nargs;
    char **args;
} s_args_t;

/*  Parse options after the command word; allowed lists the option ids this
    command takes. Returns 0 or prints an error and returns -1. */
static int
s_parse(int argc, char **argv, const char *command, const int *allowed, s_args_t *a)
{
    memset(a, 0, sizeof *a);
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", s_options, NULL)) != -1) {
        if (c == 'h')
            c = O_HELP;
        if (c == '?' || c == ':') {
            fprintf(stderr, _("wanqi-collector %s: unknown option or missing value: %s\n"), command,
                    argv[optind - 1]);
            return -1;
        }
        bool ok = c == O_HELP;
        for (const int *p = allowed; *p; p++)
            ok = ok || *p == c;
        if (!ok) {
            fprintf(stderr, _("wanqi-collector %s: option %s does not apply to this command\n"), command,
                    argv[optind - 1]);
            return -1;
        }
        switch (c) {
        case O_DIR: a->c.dir = optarg; break;
        case O_INGEST: a->c.ingest = optarg; break;
        case O_QUERY: a->c.query = optarg; break;
        case O_MAP_SIZE: a->c.map_size = optarg; break;
        case O_KEY: a->key = optarg; break;
        case O_AGENT_ID: a->agent_id = optarg; break;
        case O_COUNTY: a->county = optarg; break;
        case O_NAME: a->name = optarg; break;
        case O_QUIET: a->quiet = true; break;
        case O_FORMAT: a->format = optarg; break;
        case O_READY_FILE: a->ready_file = optarg; break;
        case O_HELP: a->help = true; break;
        default: break;
        }
    }
    a->nargs = argc - optind;
    a->args = argv + optind;
    return 0;
}

/*  ---- init --------------------------------------------------------------- */

static int
s_mkdirs(const char *dir)
{
    char *copy = strdup(dir);
    if (!copy)
        return -1;
    for (char *p = copy + 1; *p; p++) {
        if (*p == '/') {
            *p = 0;
            if (mkdir(copy, 0700) != 0 && errno != EEXIST) {
                free(copy);
                return -1;
            }
            *p = '/';
        }
    }
    int rc = mkdir(copy, 0700);
    free(copy);
    if (rc != 0 && errno != EEXIST)
        return -1;
    return chmod(dir, 0700);
}

/*  Parse the command line of a command that takes the collector's
    settings (--dir, --ingest, --query, --map-size) and no arguments: init,
    run. Returns -1 to go on with *a filled in, else the exit status to
    return: S_EXIT_OK after printing usage and the settings' help for
    --help, S_EXIT_USAGE after reporting a bad command line. */
static int
s_parse_settings(int argc, char **argv, const char *command, const char *usage, s_args_t *a)
{
    static const int allowed_init[] = {O_DIR, O_INGEST, O_QUERY, O_MAP_SIZE, 0};
    static const int allowed_run[] = {O_DIR, O_INGEST, O_QUERY, O_MAP_SIZE, O_READY_FILE, 0};
    const int *allowed = strcmp(command, "run") == 0 ? allowed_run : allowed_init;
    if (s_parse(argc, argv, command, allowed, a) != 0)
        return S_EXIT_USAGE;
    if (a->help) {
        fputs(_(usage), stdout);
        wq_collector_config_help(stdout);
        return S_EXIT_OK;
    }
    if (a->nargs) {
        fprintf(stderr, _("wanqi-collector %s: unexpected argument \"%s\"\n"), command, a->args[0]);
        return S_EXIT_USAGE;
    }
    return -1;
}

static int
s_cmd_init(int argc, char **argv)
{
    static const char usage[] =
        N_("Usage: wanqi-collector init [--dir DIR] [--ingest ENDPOINT] [--query ENDPOINT] [--map-size SIZE]\n"
        "\n"
        "Create the collector's data directory (mode 0700) with its CURVE key pair\n"
        "(collector.cert, collector.cert_secret 0600), a default collector.conf (the\n"
        "options given are written into it) and an empty authorized-peers file. Prints\n"
        "the public key: agents and query clients need it (--collector-key).\n"
        "Refuses to touch a directory that already has a key pair.\n\n");
    s_args_t a;
    int status = s_parse_settings(argc, argv, "init", usage, &a);
    if (status >= 0)
        return status;
    const char *dir = wq_collector_dir(a.c.dir);
    int ret = S_EXIT_FAIL;
    wq_err_t err;
    wq_err_clear(&err);
    wq_collector_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    zcert_t *cert = NULL;
    char *cert_path = s_path(dir, WQ_COLLECTOR_CERT_FILE);
    char *secret_path = zsys_sprintf("%s_secret", cert_path);
    char *conf_path = s_path(dir, WQ_COLLECTOR_CONF_FILE);
    char *peers_path = s_path(dir, WQ_COLLECTOR_PEERS_FILE);
    if (wq_collector_config_defaults(&cfg) != WQ_OK || !secret_path) {
        fprintf(stderr, _("wanqi-collector init: out of memory\n"));
        goto done;
    }
    if (s_apply_overrides(&cfg, &a.c, &err) != WQ_OK) {
        s_print_err("init", &err);
        ret = S_EXIT_USAGE;
        goto done;
    }
    if (zsys_file_exists(secret_path) || zsys_file_exists(cert_path)) {
        fprintf(stderr,
                _("wanqi-collector init: %s already holds a key pair (%s); refusing to replace it: agents "
                "trust that key. Use another --dir for a new collector.\n"),
                dir, cert_path);
        goto done;
    }
    if (s_mkdirs(dir) != 0) {
        fprintf(stderr, _("wanqi-collector init: cannot create %s: %s\n"), dir, strerror(errno));
        goto done;
    }
    if (wq_curve_create(cert_path, "collector", &cert, &err) != WQ_OK) {
        s_print_err("init", &err);
        goto done;
    }
    if (!zsys_file_exists(conf_path) && wq_collector_config_save(&cfg, conf_path, &err) != WQ_OK) {
        s_print_err("init", &err);
        goto done;
    }
    if (!zsys_file_exists(peers_path) && wq_peers_create(peers_path, &err) != WQ_OK) {
        s_print_err("init", &err);
        goto done;
    }
    fprintf(stderr,
            _("wanqi-collector: initialised %s\n"
            "  config        %s\n"
            "  peers file    %s (empty: authorize agents and query clients with `wanqi-collector authorize`)\n"
            "  public key    (below; give it to every agent and query client)\n"),
            dir, conf_path, peers_path);
    printf("%s\n", zcert_public_txt(cert));
    ret = S_EXIT_OK;
done:
    zcert_destroy(&cert);
    wq_collector_config_clear(&cfg);
    zstr_free(&cert_path);
    zstr_free(&secret_path);
    zstr_free(&conf_path);
    zstr_free(&peers_path);
    return ret;
}

/*  ---- run ---------------------------------------------------------------- */

/*  Write "pid=N\n" to path through a temporary file and rename(2), so that
    a reader sees either no file or the whole line. 0, or -1 with errno. */
static int
s_write_ready(const char *path)
{
    char *tmp = zsys_sprintf("%s.tmp.%d", path, (int) getpid());
    if (!tmp) {
        errno = ENOMEM;
        return -1;
    }
    int rc = -1;
    FILE *f = fopen(tmp, "w");
    if (f) {
        int w = fprintf(f, "pid=%d\n", (int) getpid());
        int c = fclose(f);
        if (w > 0 && c == 0 && rename(tmp, path) == 0)
            rc = 0;
    }
    if (rc != 0) {
        int e = errno;
        unlink(tmp);
        errno = e;
    }
    zstr_free(&tmp);
    return rc;
}

static int
s_cmd_run(int argc, char **argv)
{
    static const char usage[] =
        N_("Usage: wanqi-collector run [--dir DIR] [--ingest ENDPOINT] [--query ENDPOINT] [--map-size SIZE]\n"
        "                           [--ready-file PATH]\n"
        "\n"
        "Serve agents (ingest endpoint) and query clients (query endpoint) in the\n"
        "foreground, logging to stderr (WANQI_LOG=debug|info|warn|error). Options override\n"
        "collector.conf. SIGTERM/SIGINT: finish the current transaction and exit 0.\n"
        "SIGHUP: re-read the peers file.\n"
        "--ready-file PATH: once both endpoints are bound, write 'pid=N' to PATH\n"
        "(atomically; removed at exit), for scripts that wait for the collector\n"
        "whatever the locale of its log.\n\n");
    s_args_t a;
    int status = s_parse_settings(argc, argv, "run", usage, &a);
    if (status >= 0)
        return status;
    /* Block the signals before any thread exists (libzmq's, the ZAP handler's) so
       that only this thread, which unblocks them once serving, takes them;
       until then they stay pending. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    const char *dir = wq_collector_dir(a.c.dir);
    int ret = S_EXIT_FAIL;
    wq_err_t err;
    wq_err_clear(&err);
    wq_collector_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    wq_central_t *central = NULL;
    wq_server_t *server = NULL;
    char *store_path = s_path(dir, WQ_COLLECTOR_STORE_DIR);
    char *cert_path = s_path(dir, WQ_COLLECTOR_CERT_FILE);
    char *peers_path = s_path(dir, WQ_COLLECTOR_PEERS_FILE);
    char *lock_path = s_path(dir, "run.lock");
    int lock_fd = -1;
    bool ready_written = false;     /* only ours is removed at exit, not another run's */
    char text[512];

    if (s_load_config(dir, &cfg, &err) != WQ_OK || s_apply_overrides(&cfg, &a.c, &err) != WQ_OK) {
        wq_error(_("cannot start: %s"), wq_err_format(&err, text, sizeof text));
        goto done;
    }
    /* One `run` per data directory: a second one would serve the same
       store on other ports, which is never what the operator meant. */
    lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock_fd < 0) {
        wq_error(_("cannot start: cannot open %s: %s"), lock_path, strerror(errno));
        goto done;
    }
    if (flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
        char other[32] = "";
        ssize_t n = pread(lock_fd, other, sizeof other - 1, 0);
        other[n > 0 ? n : 0] = 0;
        other[strcspn(other, "\n")] = 0;
        wq_error(_("cannot start: another wanqi-collector run (pid %s) is already serving %s"), other[0] ? other : "?",
                 dir);
        goto done;
    }
    char pid[32];
    int pn = snprintf(pid, sizeof pid, "%d\n", (int) getpid());
    if (ftruncate(lock_fd, 0) != 0 || pwrite(lock_fd, pid, (size_t) pn, 0) != pn)
        wq_warn(_("cannot write the pid into %s: %s"), lock_path, strerror(errno));
    if (wq_central_open(store_path, (size_t) cfg.map_size, &central, &err) != WQ_OK) {
        wq_error(_("cannot open the central store %s: %s"), store_path, wq_err_format(&err, text, sizeof text));
        goto done;
    }
    wq_central_set_agent_quota(central, cfg.agent_quota);
    wq_central_stats_t st;
    if (wq_central_stats(central, &st, &err) == WQ_OK)
        wq_info(_("central store %s: %" PRIu64 " events, %" PRIu64 " quarantined, %" PRIu64 " streams"), store_path,
                st.events, st.quarantined, st.streams);
    wq_server_opts_t opts = {
        .ingest = cfg.ingest,
        .query = cfg.query,
        .peers_path = peers_path,
        .cert_path = cert_path,
        .central = central,
        .credit = cfg.credit,
        .max_batch = cfg.max_batch,
        .heartbeat_ms = cfg.heartbeat_ms,
        .session_idle_ms = cfg.session_idle_ms,
        .unauth_per_address = cfg.unauth_per_address,
        .buffer_max = cfg.buffer_max,
    };
    if (wq_server_new(&opts, &server, &err) != WQ_OK) {
        wq_error(_("cannot start: %s"), wq_err_format(&err, text, sizeof text));
        goto done;
    }
    /* Signals: only this thread handles them (the others were started
       with them blocked, see main). */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    wq_info(_("running (pid %d)"), (int) getpid());
    ready_written = a.ready_file != NULL;
    if (a.ready_file && s_write_ready(a.ready_file) != 0) {
        ready_written = false;
        wq_error(_("cannot start: cannot write the ready file %s: %s"), a.ready_file, strerror(errno));
        goto done;
    }
    if (wq_server_run(server, &s_stop, &s_reload, &err) != WQ_OK) {
        wq_error(_("stopped on error: %s"), wq_err_format(&err, text, sizeof text));
        goto done;
    }
    wq_server_stats_t ss;
    wq_server_stats(server, &ss);
    wq_info(_("stopping: %" PRIu64 " batches acknowledged, %" PRIu64 " records stored, %" PRIu64
            " duplicates dropped, %" PRIu64 " quarantined since start"),
            ss.batches, ss.records_stored, ss.records_duplicate, ss.records_quarantined);
    ret = S_EXIT_OK;
done:
    wq_server_destroy(&server);
    wq_central_destroy(&central);
    wq_collector_config_clear(&cfg);
    zstr_free(&store_path);
    zstr_free(&cert_path);
    zstr_free(&peers_path);
    zstr_free(&lock_path);
    if (ready_written)
        unlink(a.ready_file);   /* a stale ready file would announce a collector that is gone */
    if (lock_fd >= 0)
        close(lock_fd);     /* releases the lock */
    return ret;
}

/*  ---- verify ------------------------------------------------------------- */

static int
s_cmd_verify(int argc, char **argv)
{
    static const int allowed[] = {O_DIR, O_MAP_SIZE, O_QUIET, 0};
    s_args_t a;
    if (s_parse(argc, argv, "verify", allowed, &a) != 0)
        return 2;
    if (a.help) {
        printf(_("Usage: wanqi-collector verify [--dir DIR] [--quiet]\n"
               "\n"
               "Recompute every aggregate view from the stored events (one read transaction) and\n"
               "compare with the incremental views. Prints each difference. Works while `run`\n"
               "is serving (LMDB readers never block the writer).\n"
               "Exit status: 0 views equal, 1 differences found, 2 error.\n"));
        return S_EXIT_OK;
    }
    if (a.nargs) {
        fprintf(stderr, _("wanqi-collector verify: unexpected argument \"%s\"\n"), a.args[0]);
        return 2;
    }
    const char *dir = wq_collector_dir(a.c.dir);
    int ret = 2;
    wq_err_t err;
    wq_err_clear(&err);
    wq_collector_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    wq_central_t *central = NULL;
    char *store_path = s_path(dir, WQ_COLLECTOR_STORE_DIR);
    uint64_t diffs = 0;
    if (s_load_config(dir, &cfg, &err) != WQ_OK || s_apply_overrides(&cfg, &a.c, &err) != WQ_OK) {
        s_print_err("verify", &err);
        goto done;
    }
    struct stat st;
    if (stat(store_path, &st) != 0) {
        fprintf(stderr, _("wanqi-collector verify: no central store at %s (has the collector run?)\n"), store_path);
        goto done;
    }
    if (wq_central_open(store_path, (size_t) cfg.map_size, &central, &err) != WQ_OK) {
        s_print_err("verify", &err);
        goto done;
    }
    if (wq_central_verify(central, stdout, &diffs, &err) != WQ_OK) {
        s_print_err("verify", &err);
        goto done;
    }
    wq_central_stats_t cs;
    memset(&cs, 0, sizeof cs);
    wq_central_stats(central, &cs, NULL);
    if (!a.quiet || diffs)
        fprintf(diffs ? stderr : stdout,
                _("verify: %" PRIu64 " events, %" PRIu64 " quarantined, %" PRIu64 " streams: %s (%" PRIu64
                " differences)\n"),
                cs.events, cs.quarantined, cs.streams, diffs ? _("VIEWS DIFFER") : _("views equal"), diffs);
    ret = diffs ? 1 : 0;
done:
    wq_central_destroy(&central);
    wq_collector_config_clear(&cfg);
    zstr_free(&store_path);
    return ret;
}

/*  ---- transfer ----------------------------------------------------------- */

static int
s_cmd_transfer(int argc, char **argv)
{
    static const int allowed[] = {O_DIR, O_MAP_SIZE, 0};
    s_args_t a;
    if (s_parse(argc, argv, "transfer", allowed, &a) != 0)
        return 2;
    if (a.help) {
        printf(_("Usage: wanqi-collector transfer CREDIT_CODE COUNTY YYYY-MM-DD [--dir DIR]\n"
               "\n"
               "Record that an enterprise really moved to another county: from that date on it\n"
               "belongs to COUNTY, whose agents' records about it count, and the old county's\n"
               "become foreign (docs/SECURITY.md, Ownership). Also settles a dispute: records\n"
               "of the county that does not own an enterprise are listed by\n"
               "`wanqi-query foreign`. Only the collector's operator can do this; works while\n"
               "`run` is serving.\n"));
        return S_EXIT_OK;
    }
    if (a.nargs != 3) {
        fprintf(stderr, _("wanqi-collector transfer: needs CREDIT_CODE COUNTY YYYY-MM-DD (see --help)\n"));
        return 2;
    }
    const char *dir = wq_collector_dir(a.c.dir);
    int ret = S_EXIT_FAIL;
    wq_err_t err;
    wq_err_clear(&err);
    wq_collector_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    wq_central_t *central = NULL;
    char *store_path = s_path(dir, WQ_COLLECTOR_STORE_DIR);
    if (s_load_config(dir, &cfg, &err) != WQ_OK || s_apply_overrides(&cfg, &a.c, &err) != WQ_OK ||
        wq_central_open(store_path, (size_t) cfg.map_size, &central, &err) != WQ_OK ||
        wq_central_transfer(central, a.args[0], a.args[1], a.args[2], &err) != WQ_OK) {
        s_print_err("transfer", &err);
        goto done;
    }
    printf(_("transfer: %s belongs to %s from %s on\n"), a.args[0], a.args[1], a.args[2]);
    ret = S_EXIT_OK;
done:
    wq_central_destroy(&central);
    wq_collector_config_clear(&cfg);
    zstr_free(&store_path);
    return ret;
}

/*  ---- authorize ---------------------------------------------------------- */

static int
s_cmd_authorize(int argc, char **argv)
{
    static const int allowed[] = {O_DIR, O_KEY, O_AGENT_ID, O_COUNTY, O_NAME, 0};
    s_args_t a;
    if (s_parse(argc, argv, "authorize", allowed, &a) != 0)
        return S_EXIT_USAGE;
    if (a.help) {
        printf(_("Usage: wanqi-collector authorize agent  --key KEY --agent-id ID --county CODE [--dir DIR]\n"
               "       wanqi-collector authorize client --key KEY --name NAME [--dir DIR]\n"
               "\n"
               "Allow an agent (a county workstation) or a query client (provincial staff) to\n"
               "connect: appends a line to DIR/peers. KEY is the peer's CURVE public key, as 40\n"
               "Z85 characters or the path of its certificate file (e.g. an agent's agent.cert).\n"
               "ID is the agent id (1..32 of A-Z a-z 0-9 _ -), CODE the GB/T 2260 county-level\n"
               "code it records for; NAME names a client (1..64 of A-Z a-z 0-9 _ . @ -).\n"
               "A key or agent id already authorized is refused. A running collector applies\n"
               "the change on SIGHUP (systemctl reload wanqi-collector).\n"));
        return S_EXIT_OK;
    }
    if (a.nargs != 1 || (strcmp(a.args[0], "agent") != 0 && strcmp(a.args[0], "client") != 0)) {
        fprintf(stderr, _("wanqi-collector authorize: say `agent` or `client` (see --help)\n"));
        return S_EXIT_USAGE;
    }
    wq_peer_t peer;
    memset(&peer, 0, sizeof peer);
    bool agent = strcmp(a.args[0], "agent") == 0;
    if (!a.key || (agent && (!a.agent_id || !a.county || a.name)) || (!agent && (!a.name || a.agent_id || a.county))) {
        fprintf(stderr, agent ? _("wanqi-collector authorize agent: needs --key, --agent-id and --county\n")
                              : _("wanqi-collector authorize client: needs --key and --name\n"));
        return S_EXIT_USAGE;
    }
    wq_err_t err;
    wq_err_clear(&err);
    if (wq_curve_public_key(a.key, peer.key, &err) != WQ_OK) {
        s_print_err("authorize", &err);
        return S_EXIT_USAGE;
    }
    peer.kind = agent ? WQ_PEER_AGENT : WQ_PEER_CLIENT;
    const char *id = agent ? a.agent_id : a.name;
    if (strlen(id) > WQ_PEER_NAME_MAX || (agent && strlen(a.county) > 6)) {
        fprintf(stderr, _("wanqi-collector authorize: %s is too long\n"), agent ? _("agent id or county") : _("name"));
        return S_EXIT_USAGE;
    }
    snprintf(peer.id, sizeof peer.id, "%s", id);
    if (agent)
        snprintf(peer.county, sizeof peer.county, "%s", a.county);
    if (wq_peer_check(&peer, &err) != WQ_OK) {
        s_print_err("authorize", &err);
        return S_EXIT_USAGE;
    }
    const char *dir = wq_collector_dir(a.c.dir);
    char *peers_path = s_path(dir, WQ_COLLECTOR_PEERS_FILE);
    int ret = S_EXIT_OK;
    if (wq_peers_append(peers_path, &peer, &err) != WQ_OK) {
        s_print_err("authorize", &err);
        ret = S_EXIT_FAIL;
    } else if (agent)
        printf(_("authorized agent %s for county %s, key '%s'\n"), peer.id, peer.county, peer.key);
    else
        printf(_("authorized query client %s, key '%s'\n"), peer.id, peer.key);
    if (ret == S_EXIT_OK)
        fprintf(stderr, _("(a running collector applies this on SIGHUP: systemctl reload wanqi-collector)\n"));
    zstr_free(&peers_path);
    return ret;
}

/*  ---- peers -------------------------------------------------------------- */

static int
s_cmd_peers(int argc, char **argv)
{
    static const int allowed[] = {O_DIR, O_FORMAT, 0};
    s_args_t a;
    if (s_parse(argc, argv, "peers", allowed, &a) != 0)
        return S_EXIT_USAGE;
    if (a.help) {
        printf(_("Usage: wanqi-collector peers [--dir DIR] [--format table|csv|json]\n\n"
               "List the authorized agents and query clients (DIR/peers), checking the file.\n"));
        return S_EXIT_OK;
    }
    wq_format_t format = a.format ? wq_format_parse(a.format) : WQ_FORMAT_TABLE;
    if (!format || a.nargs) {
        fprintf(stderr, _("wanqi-collector peers: bad arguments (see --help)\n"));
        return S_EXIT_USAGE;
    }
    char *path = s_path(wq_collector_dir(a.c.dir), WQ_COLLECTOR_PEERS_FILE);
    wq_peers_t *peers = NULL;
    wq_table_t *t = NULL;
    wq_err_t err;
    wq_err_clear(&err);
    int ret = S_EXIT_FAIL;
    if (wq_peers_load(path, &peers, &err) != WQ_OK) {
        s_print_err("peers", &err);
        goto done;
    }
    /* CSV and JSON keep the English keys (scripts read them); the table is
       read by people: in Chinese under a Chinese locale. */
    static const char *const cols[] = {"kind", "id", "county", "county_name", "key", "line"};
    static const char *const cols_zh[] = {"类别", "编号", "区县代码", "区县", "公钥", "行号"};
    bool zh = format == WQ_FORMAT_TABLE && wq_i18n_chinese();
    t = wq_table_new(6, zh ? cols_zh : cols);
    if (!t)
        goto oom;
    for (size_t i = 0; i < wq_peers_count(peers); i++) {
        const wq_peer_t *p = wq_peers_at(peers, i);
        const wq_division_t *d = p->county[0] ? wq_division_find(p->county) : NULL;
        const char *kind = p->kind == WQ_PEER_AGENT ? (zh ? "终端" : "agent") : (zh ? "查询客户端" : "client");
        size_t r;
        if (wq_table_add_row(t, &r) != WQ_OK
            || wq_table_set_str(t, r, 0, kind) != WQ_OK
            || wq_table_set_str(t, r, 1, p->id) != WQ_OK
            || wq_table_set_str(t, r, 2, p->county[0] ? p->county : NULL) != WQ_OK
            || wq_table_set_str(t, r, 3, d ? d->name : NULL) != WQ_OK
            || wq_table_set_str(t, r, 4, p->key) != WQ_OK || wq_table_set_int(t, r, 5, p->line) != WQ_OK)
            goto oom;
    }
    if (wq_table_write(t, format, stdout) != WQ_OK) {
        fprintf(stderr, _("wanqi-collector peers: cannot write the list\n"));
        goto done;
    }
    ret = S_EXIT_OK;
    goto done;
oom:
    fprintf(stderr, _("wanqi-collector peers: out of memory\n"));
done:
    wq_table_destroy(&t);
    wq_peers_destroy(&peers);
    zstr_free(&path);
    return ret;
}

/*  ---- key ---------------------------------------------------------------- */

static int
s_cmd_key(int argc, char **argv)
{
    static const int allowed[] = {O_DIR, 0};
    s_args_t a;
    if (s_parse(argc, argv, "key", allowed, &a) != 0)
        return S_EXIT_USAGE;
    if (a.help) {
        printf(_("Usage: wanqi-collector key [--dir DIR]\n\nPrint the collector's CURVE public key (Z85).\n"));
        return S_EXIT_OK;
    }
    char *cert_path = s_path(wq_collector_dir(a.c.dir), WQ_COLLECTOR_CERT_FILE);
    char key[WQ_KEY_Z85_LEN + 1];
    wq_err_t err;
    wq_err_clear(&err);
    int ret = S_EXIT_OK;
    if (wq_curve_public_key(cert_path, key, &err) != WQ_OK) {
        s_print_err("key", &err);
        ret = S_EXIT_FAIL;
    } else
        printf("%s\n", key);
    zstr_free(&cert_path);
    return ret;
}

int
main(int argc, char **argv)
{
    wq_i18n_init();
    /* Our own signal handling, not CZMQ's (see s_cmd_run); the other
       commands keep the default: Ctrl-C ends them. */
    zsys_handler_set(NULL);
    wq_log_init("wanqi-collector", WQ_LOG_INFO);
    zsys_set_logident("wanqi-collector");

    if (argc < 2) {
        s_usage(stderr);
        return S_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    int ret;
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        s_usage(stdout);
        return S_EXIT_OK;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("wanqi-collector %s\n", WANQI_VERSION);   /* not translated: name and version */
        return S_EXIT_OK;
    }
    if (strcmp(cmd, "init") == 0)
        ret = s_cmd_init(argc - 1, argv + 1);
    else if (strcmp(cmd, "run") == 0)
        ret = s_cmd_run(argc - 1, argv + 1);
    else if (strcmp(cmd, "verify") == 0)
        ret = s_cmd_verify(argc - 1, argv + 1);
    else if (strcmp(cmd, "authorize") == 0)
        ret = s_cmd_authorize(argc - 1, argv + 1);
    else if (strcmp(cmd, "transfer") == 0)
        ret = s_cmd_transfer(argc - 1, argv + 1);
    else if (strcmp(cmd, "key") == 0)
        ret = s_cmd_key(argc - 1, argv + 1);
    else if (strcmp(cmd, "peers") == 0)
        ret = s_cmd_peers(argc - 1, argv + 1);
    else {
        fprintf(stderr, _("wanqi-collector: unknown command \"%s\"\n\n"), cmd);
        s_usage(stderr);
        ret = S_EXIT_USAGE;
    }
    zsys_shutdown();
    return ret;
}
