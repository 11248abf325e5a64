/*  =========================================================================
    wanqi-web - the province dashboard

        run    serve the dashboard (HTTP on loopback, HTTPS beyond)
        user   add / passwd / remove / list the dashboard's accounts

    It runs beside wanqi-collector on the collector host, in its own
    process, and opens the central store READ-ONLY (central.h,
    wq_central_open_readonly): it can never write the store, and its short
    read transactions never block ingest (docs/DASHBOARD.md says why). The
    pages are in dash.c; the web layer in web/.
    =========================================================================
*/
#include <errno.h>
#include <getopt.h>
#include <linux/ioprio.h>
#include <locale.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>
#include "collector/central.h"
#include "collector/config.h"
#include "collector/ledger.h"
#include "collector/dash/dash.h"
#include "collector/dash/scope.h"
#include "common/division.h"
#include "common/i18n.h"
#include "common/log.h"
#include "web/accounts.h"
#include "web/cpubudget.h"
#include "web/server.h"

#define S_ACCOUNTS_FILE "web-accounts"

static int s_usage(FILE *out)
{
    fprintf(out,
            _("usage: wanqi-web run [--dir DIR] [--listen HOST:PORT] [--tls-cert PEM --tls-key PEM]\n"
            "                     [--silent-days N] [--threads N] [--sched idle|normal] [--nice N]\n"
            "                     [--io idle|low] [--cache-seconds N] [--walk-chunk N]\n"
            "                     [--page-rows N] [--cpu-percent N]\n"
            "       wanqi-web user add NAME --role province|city|county --area CODE [--dir DIR]\n"
            "       wanqi-web user passwd NAME [--dir DIR]\n"
            "       wanqi-web user remove NAME [--dir DIR]\n"
            "       wanqi-web user list [--dir DIR]\n\n"
            "The province dashboard: Chinese pages over the collector's central store, opened\n"
            "read-only, for provincial (all), city (its counties) and county (itself) staff.\n\n"
            "  --dir DIR          the collector's data directory (or $%s; default %s):\n"
            "                     store/ is read, peers names the authorised agents, accounts\n"
            "                     are kept in %s (mode 0600)\n"
            "  --listen H:P       default 127.0.0.1:8480; beyond loopback HTTPS is required\n"
            "  --tls-cert/--tls-key  PEM certificate and key for HTTPS (docs/DEPLOY.md)\n"
            "  --silent-days N    agents silent this long are shown in red (default 3)\n"
            "  --threads N        request threads (default 4)\n"
            "  --sched idle       (default) every thread runs under SCHED_IDLE: it gets only\n"
            "                     the CPU time the collector does not want; --sched normal:\n"
            "                     ordinary time sharing at --nice\n"
            "  --nice N           with --sched normal (or if SCHED_IDLE is refused): CPU\n"
            "                     priority below the collector's (default 10; 0..19)\n"
            "  --io low           (default) the lowest best-effort disk priority: reads wait\n"
            "                     behind the collector's but are never starved; --io idle:\n"
            "                     disk time only when the disk is otherwise idle\n"
            "  --cache-seconds N  keep query results this long for all users (default 15; 0: off)\n"
            "  --walk-chunk N     index entries a long list (ledger, search) reads in one\n"
            "                     snapshot before it takes a fresh one (default 256; 0: one\n"
            "                     snapshot per query)\n"
            "  --page-rows N      rows on a page of the ledger and the enterprise search\n"
            "                     (default 200; 1..2000); exports have every row\n"
            "  --cpu-percent N    the most CPU the pages may use on average, in %% of one\n"
            "                     core (default 50; 0: no ceiling): past it requests wait,\n"
            "                     so that a crowd of users slows the pages, not ingest\n\n"
            "Passwords are read from standard input (one line; not echoed on a terminal).\n"
            "Exit: 0 ok, 1 failure, 2 bad usage.\n"),
            WQ_COLLECTOR_DIR_ENV, WQ_COLLECTOR_DEFAULT_DIR, S_ACCOUNTS_FILE);
    return 2;
}

static char *s_path(const char *dir, const char *name)
{
    char *p = NULL;
    if (asprintf(&p, "%s/%s", dir, name) < 0)
        return NULL;
    return p;
}

/*  One line from stdin, without echo on a terminal. */
static int s_read_password(const char *prompt, char *buf, size_t size)
{
    struct termios old, quiet;
    bool tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
    if (tty) {
        fprintf(stderr, "%s", prompt);
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    char *got = fgets(buf, (int)size, stdin);
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        fprintf(stderr, "\n");
    }
    if (!got)
        return -1;
    buf[strcspn(buf, "\r\n")] = '\0';
    return 0;
}

/*  Give way to ingest (docs/DASHBOARD.md, "Why it cannot slow ingest").
    CPU: under SCHED_IDLE the kernel runs a thread only when no ordinary
    thread of the host wants that CPU (else nice). Disk: the lowest
    best-effort level (--io low), or the idle class (--io idle: served only
    when the disk has been idle a while, under BFQ; other schedulers
    ignore both). Not the idle class by default: a page's read transaction
    lasts until its reads are served, and an idle-class read behind the
    collector's stream of fsyncs can wait seconds, pinning a snapshot.
    Both are set on this thread before the request threads exist: threads
    created later inherit them. Lowering one's own priority needs no
    privilege (raising it again would: the choice is made once). If idle is
    refused (a seccomp or container policy), fall back to nice. */
static void s_give_way(bool idle, int niceness, bool io_idle)
{
    int io = io_idle ? IOPRIO_PRIO_VALUE(IOPRIO_CLASS_IDLE, 0) : IOPRIO_PRIO_VALUE(IOPRIO_CLASS_BE, 7);
    if (syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, io) != 0)
        wq_warn(_("cannot set the I/O priority: %s"), strerror(errno));
    if (idle) {
        struct sched_param sp = {.sched_priority = 0};
        if (sched_setscheduler(0, SCHED_IDLE, &sp) == 0) {
            wq_info(_("running under SCHED_IDLE: ingest comes first"));
            return;
        }
        wq_warn(_("cannot run under SCHED_IDLE: %s; lowering the priority with nice %d instead"),
                strerror(errno), niceness);
    }
    errno = 0;
    if (nice(niceness) == -1 && errno != 0)
        wq_warn(_("cannot lower the CPU priority (nice %d): %s"), niceness, strerror(errno));
}

static int s_cmd_user(const char *dir, int argc, char **argv)
{
    int ret = 1;
    wq_err_t err;
    char text[512];
    const char *role = NULL, *area = NULL;
    static const struct option opts[] = {{"role", required_argument, 0, 'r'},
                                         {"area", required_argument, 0, 'a'},
                                         {0, 0, 0, 0}};
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (ch == 'r')
            role = optarg;
        else if (ch == 'a')
            area = optarg;
        else
            return s_usage(stderr);
    }
    const char *verb = optind < argc ? argv[optind] : NULL;
    const char *name = optind + 1 < argc ? argv[optind + 1] : NULL;
    if (!verb || (strcmp(verb, "list") != 0 && !name))
        return s_usage(stderr);
    char *path = s_path(dir, S_ACCOUNTS_FILE);
    wq_accounts_t *a = NULL;
    char pw[WQ_PASSWORD_MAX + 2];
    if (!path || wq_accounts_open(path, &a, &err) != WQ_OK) {
        fprintf(stderr, _("wanqi-web: %s\n"), path ? wq_err_format(&err, text, sizeof text) : _("no memory"));
        goto done;
    }
    if (!strcmp(verb, "list")) {
        for (size_t i = 0; i < wq_accounts_count(a); i++) {
            const wq_account_t *w = wq_accounts_at(a, i);
            const wq_division_t *d = wq_division_find(w->area);
            printf("%s\t%s\t%s\t%s\n", w->name, w->role, w->area, d ? d->name : "?");
        }
        ret = 0;
        goto done;
    }
    if (!strcmp(verb, "add")) {
        if (!role || !area) {
            fprintf(stderr, _("wanqi-web: user add needs --role and --area\n"));
            ret = 2;
            goto done;
        }
        if (dash_account_check(role, area, &err) != WQ_OK) {
            fprintf(stderr, _("wanqi-web: %s\n"), wq_err_format(&err, text, sizeof text));
            ret = 2;
            goto done;
        }
    }
    if (!strcmp(verb, "add") || !strcmp(verb, "passwd")) {
        if (s_read_password("密码 / password: ", pw, sizeof pw) != 0) {
            fprintf(stderr, _("wanqi-web: no password given on standard input\n"));
            goto done;
        }
        int rc = !strcmp(verb, "add") ? wq_accounts_add(a, name, pw, role, area, &err)
                                      : wq_accounts_set_password(a, name, pw, &err);
        memset(pw, 0, sizeof pw);
        if (rc != WQ_OK) {
            fprintf(stderr, _("wanqi-web: %s\n"), wq_err_format(&err, text, sizeof text));
            goto done;
        }
    } else if (!strcmp(verb, "remove")) {
        if (wq_accounts_remove(a, name, &err) != WQ_OK) {
            fprintf(stderr, _("wanqi-web: %s\n"), wq_err_format(&err, text, sizeof text));
            goto done;
        }
    } else {
        ret = s_usage(stderr);
        goto done;
    }
    if (wq_accounts_save(a, &err) != WQ_OK) {
        fprintf(stderr, _("wanqi-web: %s\n"), wq_err_format(&err, text, sizeof text));
        goto done;
    }
    if (!strcmp(verb, "remove"))
        printf(_("wanqi-web: account %s removed (%s); a running wanqi-web takes it within a second\n"),
               name, path);
    else
        printf(_("wanqi-web: account %s saved (%s); a running wanqi-web takes it within a second\n"),
               name, path);
    ret = 0;
done:
    wq_accounts_destroy(&a);
    free(path);
    return ret;
}

static int s_cmd_run(const char *dir, int argc, char **argv)
{
    const char *listen = "127.0.0.1:8480", *cert = NULL, *key = NULL;
    unsigned silent = 3, threads = 4;
    long cpu_percent = 50;
    int niceness = 10, cache_s = 15;
    long chunk = WQ_LEDGER_CHUNK_DEFAULT, page_rows = DASH_PAGE_ROWS_DEFAULT;
    bool idle = true, io_idle = false;
    static const struct option opts[] = {{"listen", required_argument, 0, 'l'},
                                         {"tls-cert", required_argument, 0, 'c'},
                                         {"tls-key", required_argument, 0, 'k'},
                                         {"silent-days", required_argument, 0, 's'},
                                         {"threads", required_argument, 0, 't'},
                                         {"nice", required_argument, 0, 'n'},
                                         {"cache-seconds", required_argument, 0, 'C'},
                                         {"sched", required_argument, 0, 'S'},
                                         {"io", required_argument, 0, 'I'},
                                         {"walk-chunk", required_argument, 0, 'W'},
                                         {"page-rows", required_argument, 0, 'P'},
                                         {"cpu-percent", required_argument, 0, 'U'},
                                         {0, 0, 0, 0}};
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'l': listen = optarg; break;
        case 'c': cert = optarg; break;
        case 'k': key = optarg; break;
        case 's': silent = (unsigned)strtoul(optarg, NULL, 10); break;
        case 't': threads = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'n': niceness = atoi(optarg); break;
        case 'C': cache_s = atoi(optarg); break;
        case 'S':
            if (strcmp(optarg, "idle") != 0 && strcmp(optarg, "normal") != 0) {
                fprintf(stderr, _("wanqi-web: --sched is idle or normal\n"));
                return 2;
            }
            idle = strcmp(optarg, "idle") == 0;
            break;
        case 'I':
            if (strcmp(optarg, "idle") != 0 && strcmp(optarg, "low") != 0) {
                fprintf(stderr, _("wanqi-web: --io is idle or low\n"));
                return 2;
            }
            io_idle = strcmp(optarg, "idle") == 0;
            break;
        case 'W': chunk = strtol(optarg, NULL, 10); break;
        case 'P': page_rows = strtol(optarg, NULL, 10); break;
        case 'U': {
            char *end = NULL;
            cpu_percent = strtol(optarg, &end, 10);
            if (!*optarg || *end)
                cpu_percent = -1;
            break;
        }
        default: return s_usage(stderr);
        }
    }
    if (silent < 1 || silent > 3650 || threads < 1 || threads > 64 || niceness < 0 || niceness > 19 || cache_s < 0 || cache_s > 3600) {
        fprintf(stderr, _("wanqi-web: --silent-days is 1..3650, --threads 1..64, --nice 0..19, "
                        "--cache-seconds 0..3600\n"));
        return 2;
    }
    if (chunk < 0 || chunk > 1000000) {
        fprintf(stderr, _("wanqi-web: --walk-chunk is 0..1000000\n"));
        return 2;
    }
    if (cpu_percent < 0 || cpu_percent > WQ_CPUBUDGET_MAX_PERCENT) {
        fprintf(stderr, _("wanqi-web: --cpu-percent is 0..6400 (%% of one core; 0: no ceiling)\n"));
        return 2;
    }
    if (page_rows < 1 || page_rows > 2000) {
        fprintf(stderr, _("wanqi-web: --page-rows is 1..2000\n"));
        return 2;
    }
    wq_ledger_set_chunk((size_t)chunk);
    /* Pages yield the CPU and the disk to the collector on the same host. */
    s_give_way(idle, niceness, io_idle);
    int ret = 1;
    wq_err_t err;
    char text[512];
    char *store = s_path(dir, WQ_COLLECTOR_STORE_DIR), *peers = s_path(dir, WQ_COLLECTOR_PEERS_FILE);
    char *accounts = s_path(dir, S_ACCOUNTS_FILE);
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    dash_app_t app = {.peers_path = peers, .tmpdir = tmp, .silent_days = silent,
                      .page_rows = (unsigned)page_rows};
    wq_web_t *web = NULL;
    extern const wq_asset_t wq_dash_assets[];
    extern const size_t wq_dash_assets_count;
    if (!store || !peers || !accounts || !(app.metrics = dash_metrics_new()) ||
        !(app.cache = dash_qcache_new(512, (unsigned)cache_s))) {
        wq_error(_("out of memory"));
        goto done;
    }
    if (wq_central_open_readonly(store, &app.central, &err) != WQ_OK) {
        wq_error(_("cannot open the central store %s read-only: %s"), store,
                 wq_err_format(&err, text, sizeof text));
        goto done;
    }
    wq_web_config_t cfg = {.listen = listen, .threads = threads, .tls_cert = cert, .tls_key = key,
                           .cpu_percent = (unsigned)cpu_percent,
                           .accounts_path = accounts, .require_login = true,
                           .cookie_name = "wq_dash", .assets = wq_dash_assets,
                           .nassets = wq_dash_assets_count};
    if (wq_web_new(&cfg, &web, &err) != WQ_OK || dash_routes(web, &app, &err) != WQ_OK) {
        wq_error(_("cannot start: %s"), wq_err_format(&err, text, sizeof text));
        goto done;
    }
    if (wq_accounts_count(wq_web_accounts(web)) == 0)
        wq_warn(_("no accounts in %s: add one with `wanqi-web user add NAME --role province --area "
                "130000`"), accounts);
    /* Signals are taken by this thread only (blocked before the pool starts). */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (wq_web_start(web, &err) != WQ_OK) {
        wq_error(_("cannot start: %s"), wq_err_format(&err, text, sizeof text));
        goto done;
    }
    /* The tests read the port from here when they asked for port 0. */
    /* not translated: scripts and tests read the port from this line */
    printf("wanqi-web: listening on port %u\n", (unsigned)wq_web_port(web));
    fflush(stdout);
    int sig = 0;
    sigwait(&set, &sig);
    wq_info(_("signal %d: stopping"), sig);
    ret = 0;
done:
    wq_web_destroy(&web);
    wq_central_destroy(&app.central);
    dash_metrics_destroy(&app.metrics);
    dash_qcache_destroy(&app.cache);
    free(store);
    free(peers);
    free(accounts);
    return ret;
}

int main(int argc, char **argv)
{
    wq_i18n_init();     /* setlocale and the wanqi catalog: messages in the locale's language */
    wq_log_init("wanqi-web", WQ_LOG_INFO);
    const char *dir = getenv(WQ_COLLECTOR_DIR_ENV) ? getenv(WQ_COLLECTOR_DIR_ENV)
                                                   : WQ_COLLECTOR_DEFAULT_DIR;
    /* --dir DIR may come anywhere: take it out before the command parses. */
    int n = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--dir") && i + 1 < argc) {
            dir = argv[++i];
            continue;
        }
        if (!strncmp(argv[i], "--dir=", 6)) {
            dir = argv[i] + 6;
            continue;
        }
        argv[n++] = argv[i];
    }
    argc = n;
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
        return argc < 2 ? s_usage(stderr) : (s_usage(stdout), 0);
    if (!strcmp(argv[1], "run"))
        return s_cmd_run(dir, argc - 1, argv + 1);
    if (!strcmp(argv[1], "user"))
        return s_cmd_user(dir, argc - 1, argv + 1);
    fprintf(stderr, _("wanqi-web: unknown command \"%s\" (see --help)\n"), argv[1]);
    return 2;
}
