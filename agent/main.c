/*  =========================================================================
    wanqi-agent - the county agent: record offline, push when the link allows

    Commands (each has --help): init, record, import, run, status, show,
    list, config, generate. The data directory comes from --dir, then
    $WANQI_AGENT_DIR, then /var/lib/wanqi-agent (docs/AGENT.md).
    Exit status: 0 success, 1 failure, 2 bad usage.
    =========================================================================
*/
#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include "agent/casefile.h"
#include "agent/config.h"
#include "agent/importer.h"
#include "agent/keys.h"
#include "agent/outbox.h"
#include "agent/sender.h"
#include "agent/serve.h"
#include "agent/template.h"
#include "common/i18n.h"
#include "common/date.h"
#include "common/generate.h"
#include "common/json.h"
#include "common/log.h"
#include "common/record.h"
#include "common/table.h"

#define S_USAGE 2

static void
s_fail(const char *what, const wq_err_t *e)
{
    char buf[512];
    fprintf(stderr, _("wanqi-agent: %s: %s\n"), what, wq_err_format(e, buf, sizeof buf));
}

static int
s_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
s_usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, _("wanqi-agent: "));
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "%s", _(" (see --help)\n"));
    va_end(ap);
    return S_USAGE;
}

static bool
s_is_help(const char *a)
{
    return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0;
}

/*  Load config and open the outbox of dir. */
static int
s_open(const char *dir, wq_agent_config_t *cfg, wq_outbox_t **box)
{
    wq_err_t e;
    if (wq_config_load(dir, cfg, &e) != WQ_OK) {
        s_fail(_("configuration"), &e);
        return 1;
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, WQ_AGENT_OUTBOX_DIR);
    wq_outbox_limits_t lim = {cfg->outbox_max_queued, cfg->outbox_max_bytes,
                              cfg->outbox_map_mb * 1024 * 1024};
    if (wq_outbox_open(path, &lim, box, &e) != WQ_OK) {
        s_fail(_("outbox"), &e);
        return 1;
    }
    return 0;
}

/*  ---- init ---------------------------------------------------------------- */

static const char s_init_help[] =
    "usage: wanqi-agent init --agent-id ID --county CODE --collector tcp://HOST:PORT\n"
    "                        --collector-key Z85_OR_FILE [--config KEY=VALUE]... [--dir D]\n"
    "       wanqi-agent init --force-new-incarnation [--abandon-backlog N] [--dir D]\n"
    "\n"
    "Create the agent's data directory (mode 0700): configuration (agent.conf), CURVE key\n"
    "pair (agent.cert, agent.cert_secret 0600), LMDB outbox, and a fresh random incarnation.\n"
    "Prints the incarnation and the public key: give the key to the collector's operator so\n"
    "that the collector authorizes this agent.\n"
    "Refuses to touch an existing agent. --force-new-incarnation keeps the existing agent\n"
    "(keys, config, records as archive) but starts a new incarnation: new records get seqs\n"
    "from 1 in a new stream. Records of the old incarnation not yet acknowledged would NOT be\n"
    "sent any more: if there are any, the command refuses unless --abandon-backlog N gives\n"
    "exactly their number (the IT person's decision, never a cadre's: docs/DEPLOY.md).\n";

static int
s_cmd_init(int argc, char **argv, const char *dir_opt)
{
    const char *agent = NULL, *county = NULL, *collector = NULL, *key = NULL;
    const char *abandon = NULL;
    bool force = false;
    wq_agent_config_t cfg;
    wq_err_t e;
    int rc = 1;
    wq_outbox_t *box = NULL;
    const char *sets[32];
    size_t nsets = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (s_is_help(a)) {
            fputs(s_init_help, stdout);
            wq_config_print_help(stdout);
            return 0;
        }
        if (strcmp(a, "--force-new-incarnation") == 0) {
            force = true;
            continue;
        }
        if (i + 1 >= argc)
            return s_usage(_("init: %s needs a value"), a);
        const char *v = argv[++i];
        if (strcmp(a, "--agent-id") == 0)
            agent = v;
        else if (strcmp(a, "--county") == 0)
            county = v;
        else if (strcmp(a, "--collector") == 0)
            collector = v;
        else if (strcmp(a, "--collector-key") == 0)
            key = v;
        else if (strcmp(a, "--config") == 0 && nsets < 32)
            sets[nsets++] = v;
        else if (strcmp(a, "--abandon-backlog") == 0)
            abandon = v;
        else
            return s_usage(_("init: unknown option %s"), a);
    }
    const char *dir = wq_config_find_dir(dir_opt);
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, WQ_AGENT_CONF_FILE);
    struct stat st;
    bool exists = stat(path, &st) == 0;
    if (exists && !force) {
        fprintf(stderr, _("wanqi-agent: init: an agent already exists in %s: refusing to overwrite "
                "it (use --force-new-incarnation to start a new incarnation)\n"), dir);
        return 1;
    }
    uint32_t inc = 0;
    while (inc == 0)
        if (getrandom(&inc, sizeof inc, 0) != sizeof inc) {
            fprintf(stderr, _("wanqi-agent: init: getrandom: %s\n"), strerror(errno));
            return 1;
        }
    if (exists) {
        /* New incarnation of an existing agent: keep keys and config. */
        if (agent || county || collector || key || nsets)
            return s_usage(_("init: with an existing agent, --force-new-incarnation takes no "
                           "other option (edit %s to change the configuration)"), path);
        if (s_open(dir, &cfg, &box) != 0)
            return 1;
        wq_outbox_state_t os;
        if (wq_outbox_state(box, &os, &e) != WQ_OK) {
            s_fail(_("outbox"), &e);
            goto done;
        }
        /* Abandoning a backlog loses records the collector never got: the
           operator must say how many, so that no one does it by accident. */
        char want[24];
        snprintf(want, sizeof want, "%" PRIu64, os.queued);
        if (os.queued > 0 && (!abandon || strcmp(abandon, want) != 0)) {
            fprintf(stderr, _("wanqi-agent: init: %" PRIu64 " records of incarnation %08" PRIx32
                    " were never acknowledged by the collector; a new incarnation would never send "
                    "them. Let `wanqi-agent run` deliver them first, or, if they must be given up, "
                    "repeat with --abandon-backlog %" PRIu64 "\n"), os.queued, os.inc, os.queued);
            goto done;
        }
        if (wq_outbox_start_incarnation(box, cfg.agent_id, inc, true, &e) != WQ_OK) {
            s_fail(_("init"), &e);
            goto done;
        }
        if (os.queued > 0)
            fprintf(stderr, _("wanqi-agent: warning: %" PRIu64 " records of incarnation %08" PRIx32
                    " were never acknowledged and will not be sent; they stay in the archive\n"),
                    os.queued, os.inc);
        printf(_("agent %s: new incarnation %08" PRIx32 " (previous %08" PRIx32 " kept as archive)\n"),
               cfg.agent_id, inc, os.inc);
        rc = 0;
        goto done;
    }
    if (!agent || !county || !collector || !key)
        return s_usage(_("init: --agent-id, --county, --collector and --collector-key are required"));
    wq_config_defaults(&cfg);
    if (wq_config_set(&cfg, "agent_id", agent, &e) != WQ_OK ||
        wq_config_set(&cfg, "county", county, &e) != WQ_OK ||
        wq_config_set(&cfg, "collector", collector, &e) != WQ_OK) {
        s_fail(_("init"), &e);
        return S_USAGE;
    }
    if (wq_keys_parse_public(key, cfg.collector_key, &e) != WQ_OK) {
        s_fail(_("init"), &e);
        return S_USAGE;
    }
    for (size_t i = 0; i < nsets; i++) {
        char kv[512];
        snprintf(kv, sizeof kv, "%s", sets[i]);
        char *eq = strchr(kv, '=');
        if (!eq)
            return s_usage(_("init: --config wants KEY=VALUE, not %s"), sets[i]);
        *eq = '\0';
        if (wq_config_set(&cfg, kv, eq + 1, &e) != WQ_OK) {
            s_fail(_("init"), &e);
            return S_USAGE;
        }
    }
    if (wq_config_check(&cfg, &e) != WQ_OK) {
        s_fail(_("init"), &e);
        return S_USAGE;
    }
    char opath[4200];
    snprintf(opath, sizeof opath, "%s/%s", dir, WQ_AGENT_OUTBOX_DIR);
    wq_outbox_limits_t lim = {cfg.outbox_max_queued, cfg.outbox_max_bytes,
                              cfg.outbox_map_mb * 1024 * 1024};
    /* Creates dir and dir/outbox with mode 0700. */
    if (wq_outbox_open(opath, &lim, &box, &e) != WQ_OK) {
        s_fail(_("outbox"), &e);
        goto done;
    }
    if (chmod(dir, 0700) != 0) {
        fprintf(stderr, _("wanqi-agent: init: chmod %s: %s\n"), dir, strerror(errno));
        goto done;
    }
    char pub[41];
    if (wq_keys_create(dir, cfg.agent_id, pub, &e) != WQ_OK) {
        s_fail(_("init"), &e);
        goto done;
    }
    if (wq_outbox_start_incarnation(box, cfg.agent_id, inc, false, &e) != WQ_OK) {
        s_fail(_("init"), &e);
        goto done;
    }
    /* The config last: its presence means "a complete agent lives here". */
    if (wq_config_save(dir, &cfg, &e) != WQ_OK) {
        s_fail(_("init"), &e);
        goto done;
    }
    printf(_("agent %s initialised in %s\n"), cfg.agent_id, dir);
    /* not translated: scripts read these two lines, the same in every language. */
    printf("incarnation: %08" PRIx32 "\n", inc);
    printf("public key: %s\n", pub);  /* not translated: as above */
    /* Ready to paste: Z85 keys hold shell characters, hence the quotes. */
    printf(_("authorize this key on the collector:\n  wanqi-collector authorize agent --key '%s' "
             "--agent-id %s --county %s\n"), pub, cfg.agent_id, cfg.county);
    rc = 0;
done:
    wq_outbox_destroy(&box);
    return rc;
}

/*  ---- record -------------------------------------------------------------- */

static void
s_record_help(const char *type_name)
{
    wq_rec_type_t type = type_name ? wq_rec_type_parse(type_name) : WQ_REC_NONE;
    if (type == WQ_REC_NONE) {
        printf(_("usage: wanqi-agent record TYPE --FIELD VALUE ... [--dir D]\n\n"
               "Validate one record, store it in the outbox, print its id after the commit.\n"
               "county defaults to the agent's county (and must be it); date defaults to today.\n"
               "Types:"));
        for (int t = 1; t < WQ_REC_TYPE_COUNT; t++)
            printf(" %s", wq_rec_type_name((wq_rec_type_t) t));
        printf(_("\n`wanqi-agent record TYPE --help` lists the fields of TYPE.\n"));
        return;
    }
    printf(_("usage: wanqi-agent record %s --FIELD VALUE ... [--dir D]\n\n"
           "Fields, each given as --FIELD VALUE (a correction's patch as --set.FIELD VALUE,\n"
           "with --of TYPE). date defaults to today, county to the agent's county; cadres\n"
           "is comma-separated or the option repeated:\n"), wq_rec_type_name(type));
    wq_record_write_help(stdout, type);
    printf(_("Event-id fields take AGENT/INC/SEQ as printed by record/import.\n"));
}

/*  The record type an event-id field names ("last" looks for that type). */
static wq_rec_type_t
s_ref_type(const char *field)
{
    if (strncmp(field, "set.", 4) == 0)
        field += 4;
    if (strcmp(field, "visit") == 0)
        return WQ_REC_VISIT;
    if (strcmp(field, "problem") == 0)
        return WQ_REC_PROBLEM;
    if (strcmp(field, "consultation") == 0)
        return WQ_REC_CONSULTATION;
    return WQ_REC_NONE;     /* target: any record */
}

static bool
s_is_event_field(const char *field)
{
    if (strncmp(field, "set.", 4) == 0)
        field += 4;
    return strcmp(field, "visit") == 0 || strcmp(field, "problem") == 0
           || strcmp(field, "consultation") == 0 || strcmp(field, "target") == 0;
}

/*  "--name=value" or "--name value": *name points into a, *value into a
    or the next argument (*i advanced). NULL value if missing. */
static void
s_opt_split(int argc, char **argv, int *i, char *name, size_t size, const char **value)
{
    const char *a = argv[*i] + 2;
    const char *eq = strchr(a, '=');
    if (eq) {
        snprintf(name, size, "%.*s", (int) (eq - a), a);
        *value = eq + 1;
        return;
    }
    snprintf(name, size, "%s", a);
    *value = (*i + 1 < argc) ? argv[++*i] : NULL;
}

static int
s_cmd_record(int argc, char **argv, const char *dir_opt)
{
    wq_agent_config_t cfg;
    wq_outbox_t *box = NULL;
    wq_record_t *rec = NULL;
    wq_err_t e;
    int rc = 1;
    bool repeat = false;
    /* event-id fields given as short ids: resolved once the outbox is open */
    const char *deferred_field[8], *deferred_value[8];
    int ndeferred = 0;
    if (argc < 1 || s_is_help(argv[0])) {
        s_record_help(NULL);
        return argc < 1 ? S_USAGE : 0;
    }
    wq_rec_type_t type = wq_rec_type_parse_text(argv[0]);
    for (int i = 1; i < argc; i++)
        if (s_is_help(argv[i])) {
            if (type == WQ_REC_NONE)
                return s_usage(_("record: unknown record type '%s'"), argv[0]);
            s_record_help(argv[0]);
            return 0;
        }
    if (type == WQ_REC_NONE)
        return s_usage(_("record: unknown record type '%s'"), argv[0]);
    rec = wq_record_new(type);
    if (!rec) {
        fprintf(stderr, _("wanqi-agent: %s\n"), _("out of memory"));
        return 1;
    }
    /* "of" first: a correction's patch fields need it. */
    for (int i = 1; i < argc; i++) {
        char name[64];
        const char *v;
        if (strncmp(argv[i], "--", 2) != 0)
            continue;
        s_opt_split(argc, argv, &i, name, sizeof name, &v);
        if (strcmp(name, "of") == 0 && v && wq_record_set_text(rec, "of", v, &e)) {
            s_fail(_("record"), &e);
            rc = S_USAGE;
            goto done;
        }
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
            rc = s_usage(_("record: expected --FIELD VALUE, got '%s'"), a);
            goto done;
        }
        if (strcmp(a, "--repeat") == 0) {
            repeat = true;
            continue;
        }
        char field[64];
        const char *v;
        s_opt_split(argc, argv, &i, field, sizeof field, &v);
        if (!v) {
            rc = s_usage(_("record: %s needs a value"), a);
            goto done;
        }
        int r;
        if (strcmp(field, "of") == 0)
            continue;
        if (s_is_event_field(field) && ndeferred < 8
            && (strcmp(v, "last") == 0 || strcmp(v, "最后") == 0 || strcmp(v, "上一条") == 0
                || (v[0] >= '1' && v[0] <= '9' && strspn(v, "0123456789") == strlen(v)))) {
            deferred_value[ndeferred] = v;
            /* keep the name: field is a local buffer */
            deferred_field[ndeferred] = strdup(field);
            if (!deferred_field[ndeferred]) {
                fprintf(stderr, _("wanqi-agent: %s\n"), _("out of memory"));
                goto done;
            }
            ndeferred++;
            continue;
        }
        if (strncmp(field, "set.", 4) == 0)
            r = wq_record_set_patch_text(rec, field + 4, v, &e);
        else
            r = wq_record_set_text(rec, field, v, &e);
        if (r != WQ_OK) {
            s_fail(_("record"), &e);
            rc = S_USAGE;
            goto done;
        }
    }
    if (!(rec->present & (1ull << WQ_F_DATE))) {
        char today[11];
        wq_date_today(today);
        if (wq_record_set_text(rec, "date", today, &e) != WQ_OK) {
            s_fail(_("record"), &e);
            goto done;
        }
    }
    const char *dir = wq_config_find_dir(dir_opt);
    if (s_open(dir, &cfg, &box) != 0)
        goto done;
    for (int k = 0; k < ndeferred; k++) {
        char id[WQ_EVENT_ID_MAX];
        bool is_short;
        const char *field = deferred_field[k];
        if (wq_outbox_short_id(box, s_ref_type(field), deferred_value[k], id, &is_short, &e)
            != WQ_OK) {
            e.field[0] = '\0';
            snprintf(e.field, sizeof e.field, "%s", field);
            s_fail(_("record"), &e);
            rc = S_USAGE;
            goto done;
        }
        int r = strncmp(field, "set.", 4) == 0 ? wq_record_set_patch_text(rec, field + 4, id, &e)
                                                : wq_record_set_text(rec, field, id, &e);
        if (r != WQ_OK) {
            s_fail(_("record"), &e);
            rc = S_USAGE;
            goto done;
        }
    }
    if (wq_import_prepare(rec, cfg.county, &e) != WQ_OK) {
        s_fail(_("record"), &e);
        rc = S_USAGE;
        goto done;
    }
    char warn[300];
    if (wq_import_check_refs(box, NULL, rec, warn, sizeof warn, &e) != WQ_OK) {
        s_fail(_("record"), &e);
        rc = S_USAGE;
        goto done;
    }
    if (warn[0])
        fprintf(stderr, _("wanqi-agent: warning: %s\n"), warn);
    if (!repeat) {
        wq_outbox_match_t m;
        if (wq_outbox_find_same(box, rec, NULL, &m, &e) != WQ_OK) {
            s_fail(_("record not stored"), &e);
            goto done;
        }
        if (m.found) {
            char when[20];
            wq_time_format(m.recorded_ms, when);
            fprintf(stderr, _("wanqi-agent: the same record was already stored as %s (%s); "
                              "nothing stored (give --repeat to record it again)\n"),
                    m.id, when);
            printf("%s\n", m.id);
            rc = 3;
            goto done;
        }
    }
    char id[WQ_EVENT_ID_MAX];
    if (wq_outbox_append(box, rec, id, &e) != WQ_OK) {
        s_fail(_("record not stored"), &e);
        goto done;
    }
    printf("%s\n", id);
    rc = 0;
done:
    for (int k = 0; k < ndeferred; k++)
        free((char *) deferred_field[k]);
    wq_record_destroy(&rec);
    wq_outbox_destroy(&box);
    return rc;
}

/*  ---- import -------------------------------------------------------------- */

static const char *
s_import_help(void)
{
    return _("usage: wanqi-agent import FILE [--format xlsx|csv|jsonl] [--type TYPE] [--repeat]\n"
             "                          [--preview] [--all-or-nothing] [--dir D]\n"
             "\n"
             "Validate and store one record per row of an Excel/WPS workbook (.xlsx), a CSV file\n"
             "or a JSON Lines file. CSV may be UTF-8 (with or without BOM) or GBK/GB18030, as\n"
             "Excel and WPS save it. The first row names the columns, in Chinese (日期, 走访方式,\n"
             "...) or with the field names in any letter case; `wanqi-agent template` writes a\n"
             "ready-to-fill file. The record type comes from a 记录类型 (type) column, the sheet\n"
             "name, or --type. Values may be codes or Chinese labels; dates 2019-05-06, 2019/5/6,\n"
             "2019.5.6, 2019年5月6日 or Excel dates. Empty rows and the template's notes row are\n"
             "skipped. county defaults to the agent's county.\n"
             "A row already recorded (same content, or the same ref column value) is skipped and\n"
             "reported with its id, so importing a file again stores only the new or corrected\n"
             "rows; --repeat stores such rows anyway. --preview checks every row and stores\n"
             "nothing. \"@N\" in visit/problem/consultation/target refers to the record of line N\n"
             "of the same table; \"17\" to this agent's record 17, \"last\" to the newest one.\n"
             "Prints \"LINE<TAB>ID\" per stored record after its commit; each bad or skipped row is\n"
             "reported on stderr with the file, line, column and value. FILE '-' reads stdin.\n"
             "Exit status: 0 every row stored or already recorded, 1 some row bad, 2 bad usage.\n");
}

static int
s_cmd_import(int argc, char **argv, const char *dir_opt)
{
    const char *file = NULL;
    wq_import_opts_t o = {.out = stdout, .errors = stderr};
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (s_is_help(a)) {
            fputs(s_import_help(), stdout);
            return 0;
        }
        char name[64];
        const char *v = NULL;
        if (strncmp(a, "--", 2) == 0 && a[2]) {
            int j = i;
            s_opt_split(argc, argv, &j, name, sizeof name, &v);
            bool takes = strcmp(name, "format") == 0 || strcmp(name, "type") == 0;
            if (takes)
                i = j;
            else if (strchr(a, '='))
                return s_usage(_("import: %s takes no value"), name);
            else
                v = NULL;
        } else
            name[0] = '\0';
        if (strcmp(a, "--all-or-nothing") == 0)
            o.all_or_nothing = true;
        else if (strcmp(a, "--repeat") == 0)
            o.repeat = true;
        else if (strcmp(a, "--preview") == 0)
            o.preview = true;
        else if (strcmp(name, "format") == 0) {
            if (!v || (o.format = wq_import_format_parse(v)) == WQ_IMPORT_AUTO)
                return s_usage(_("import: --format takes xlsx, csv or jsonl"));
        } else if (strcmp(name, "type") == 0) {
            if (!v || (o.type = wq_rec_type_parse_text(v)) == WQ_REC_NONE)
                return s_usage(_("import: --type takes a record type (走访, visit, ...)"));
        } else if (a[0] == '-' && a[1] != '\0')
            return s_usage(_("import: unknown option %s"), a);
        else if (file)
            return s_usage(_("import: one FILE only"));
        else
            file = a;
    }
    if (!file)
        return s_usage(_("import: give the FILE to import"));
    wq_agent_config_t cfg;
    wq_outbox_t *box = NULL;
    if (s_open(wq_config_find_dir(dir_opt), &cfg, &box) != 0)
        return 1;
    o.county = cfg.county;
    wq_import_result_t res;
    wq_err_t e;
    int rc = wq_import_file(box, file, &o, &res, &e);
    /* The summary says what is true: what was stored, skipped and refused. */
    if (o.preview)
        fprintf(stderr, _("wanqi-agent: import %s (preview, nothing stored): %zu rows read, %zu "
                          "would be stored, %zu already recorded, %zu bad\n"),
                file, res.lines, res.stored, res.duplicates, res.bad);
    else
        fprintf(stderr, _("wanqi-agent: import %s: %zu rows read, %zu stored, %zu already "
                          "recorded (skipped), %zu bad\n"),
                file, res.lines, res.stored, res.duplicates, res.bad);
    if (rc != WQ_OK)
        s_fail(_("import"), &e);
    wq_outbox_destroy(&box);
    return rc == WQ_OK ? 0 : 1;
}

/*  ---- run ----------------------------------------------------------------- */

static volatile sig_atomic_t s_stop = 0;

static void
s_on_signal(int sig)
{
    (void) sig;
    s_stop = 1;
}

/*  One `run` per outbox: two senders on one outbox would send the same
    records twice over and race on the acknowledgements. flock(2) is tied to
    the open file, so the kernel releases it however the process ends (no
    stale lock after a crash); the file holds the holder's pid so that the
    refusal can name it. On success *fd is the locked file, kept open for the
    life of run; s_run_unlock removes it at a clean exit.

    Removing a lock file is safe only with a check: a second run may have
    opened the file just before the first removed it, and would then lock
    a file no longer in the directory while a third run creates and locks a
    new one. So after taking the lock, the file locked must still be the
    one at the path (same device and inode); if not, try again. The first
    run removes the file while it still holds the lock, then closes it. */
static int
s_run_lock(const char *dir, int *fd)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, WQ_AGENT_RUN_LOCK);
again:
    *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (*fd < 0) {
        fprintf(stderr, _("wanqi-agent: run: cannot open the lock file %s: %s\n"), path,
                strerror(errno));
        return 1;
    }
    if (flock(*fd, LOCK_EX | LOCK_NB) != 0) {
        int err = errno;
        if (err == EWOULDBLOCK) {
            char pid[24] = "?";
            ssize_t n = pread(*fd, pid, sizeof pid - 1, 0);
            if (n > 0) {
                pid[n] = '\0';
                pid[strcspn(pid, "\n")] = '\0';
            }
            fprintf(stderr, _("wanqi-agent: run: another wanqi-agent run (pid %s) is already "
                              "sending the outbox of %s; stop it first (systemctl stop "
                              "wanqi-agent, or kill %s), or give another --dir\n"),
                    pid, dir, pid);
        } else
            fprintf(stderr, _("wanqi-agent: run: cannot lock %s: %s\n"), path, strerror(err));
        close(*fd);
        *fd = -1;
        return 1;
    }
    struct stat held, at_path;
    if (fstat(*fd, &held) != 0 || stat(path, &at_path) != 0 || held.st_dev != at_path.st_dev ||
        held.st_ino != at_path.st_ino) {
        /* The run that held it removed it meanwhile: lock the file now there. */
        close(*fd);
        goto again;
    }
    char me[24];
    int len = snprintf(me, sizeof me, "%ld\n", (long) getpid());
    if (ftruncate(*fd, 0) != 0 || pwrite(*fd, me, (size_t) len, 0) != len) {
        fprintf(stderr, _("wanqi-agent: run: cannot write the lock file %s: %s\n"), path,
                strerror(errno));
        close(*fd);
        *fd = -1;
        return 1;
    }
    return 0;
}

/*  Remove the lock file of a clean exit while still holding the lock (see
    s_run_lock), then release it. A failed removal only leaves the file. */
static void
s_run_unlock(const char *dir, int *fd)
{
    if (*fd < 0)
        return;
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, WQ_AGENT_RUN_LOCK);
    if (unlink(path) != 0 && errno != ENOENT)
        wq_warn(_("cannot remove the lock file %s: %s"), path, strerror(errno));
    close(*fd);
    *fd = -1;
}

static int
s_cmd_run(int argc, char **argv, const char *dir_opt)
{
    for (int i = 0; i < argc; i++) {
        if (s_is_help(argv[i])) {
            printf(_("usage: wanqi-agent run [--dir D]\n\n"
                   "Send the outbox to the collector, in the foreground, logging to stderr\n"
                   "(systemd runs it). Keeps one CURVE-encrypted connection, reconnects with\n"
                   "backoff, picks up new records within poll_ms. SIGTERM/SIGINT: clean exit.\n"
                   "Only one run at a time per data directory (lock file run.lock): a second\n"
                   "one exits with status 1 and names the pid of the first.\n"));
            return 0;
        }
        return s_usage(_("run: unknown option %s"), argv[i]);
    }
    /* Agent memory stays flat (issue 15: RssAnon <= 4 MB idle). Each batch
       briefly needs a zstd context of a few MiB (proto/zbatch.c); glibc maps
       such a block and, on its free, raises its mmap threshold above it, so
       every later context came from the heap and the heap kept ~3.5 MiB it
       could not give back (RssAnon 5.1 MB idle after a drain, 2.1 MB with
       this). A fixed threshold turns that adjustment off. */
    if (mallopt(M_MMAP_THRESHOLD, 128 * 1024) != 1)
        wq_debug("mallopt(M_MMAP_THRESHOLD) refused; agent memory may grow after batches");
    const char *dir = wq_config_find_dir(dir_opt);
    wq_agent_config_t cfg;
    wq_outbox_t *box = NULL;
    zcert_t *cert = NULL;
    wq_sender_t *sender = NULL;
    wq_err_t e;
    int rc = 1, lock = -1;
    if (s_open(dir, &cfg, &box) != 0)
        return 1;
    if (s_run_lock(dir, &lock) != 0)
        goto done;
    wq_log_level_t lv = WQ_LOG_INFO;
    if (!strcmp(cfg.log_level, "debug"))
        lv = WQ_LOG_DEBUG;
    else if (!strcmp(cfg.log_level, "warn"))
        lv = WQ_LOG_WARN;
    else if (!strcmp(cfg.log_level, "error"))
        lv = WQ_LOG_ERROR;
    wq_log_init("wanqi-agent", lv);
    if (wq_keys_load(dir, &cert, &e) != WQ_OK) {
        s_fail(_("keys"), &e);
        goto done;
    }
    zsys_handler_set(NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    wq_sender_opts_t so = {cfg.collector, cfg.collector_key, cert, cfg.heartbeat_ms,
                           cfg.backoff_min_ms, cfg.backoff_max_ms, cfg.poll_ms,
                           cfg.progress_ms};
    sender = wq_sender_new(box, &so);
    if (!sender) {
        fprintf(stderr, _("wanqi-agent: out of memory\n"));
        goto done;
    }
    wq_info(_("wanqi-agent %s starting, data in %s"), WANQI_VERSION, dir);
    if (wq_sender_run(sender, &s_stop, &e) != WQ_OK) {
        s_fail(_("run"), &e);
        goto done;
    }
    wq_info(_("stopped"));
    rc = 0;
done:
    wq_sender_destroy(&sender);
    zcert_destroy(&cert);
    wq_outbox_destroy(&box);
    s_run_unlock(dir, &lock);
    return rc;
}

/*  ---- status -------------------------------------------------------------- */

typedef struct {
    FILE *out;
    bool json;
    size_t n;
} s_notes_t;

static int
s_note_cb(uint32_t inc, uint64_t seq, uint32_t code, const char *reason, void *arg)
{
    s_notes_t *n = arg;
    if (n->json) {
        /* not translated: JSON */
        fprintf(n->out, "%s{\"inc\":\"%08" PRIx32 "\",\"seq\":%" PRIu64 ",\"code\":\"%s\","
                "\"reason\":", n->n ? "," : "", inc, seq, code ? wq_errname((int) code) : "");
        wq_json_write_string(n->out, reason);
        fprintf(n->out, "}");
    } else
        fprintf(n->out, "  %08" PRIx32 "/%" PRIu64 "  %s  %s\n", inc, seq,
                code ? wq_errname((int) code) : "-", reason);
    n->n++;
    return 0;
}

static void
s_time_or_never(uint64_t ms, char out[24])
{
    if (ms == 0)
        snprintf(out, 24, "never");
    else
        wq_time_format(ms, out);
}

/*  1234567 -> "1,234,567". */
static const char *
s_thousands(uint64_t v, char out[32])
{
    char digits[24];
    int n = snprintf(digits, sizeof digits, "%" PRIu64, v), o = 0;
    for (int i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = digits[i];
    }
    out[o] = '\0';
    return out;
}

/*  A time for people: "12月2日 10:32" in Chinese, "2026-12-02 10:32" else
    (China Standard Time). */
static const char *
s_when(uint64_t ms, char out[32])
{
    char t[20];
    wq_time_format(ms, t);      /* "YYYY-MM-DD HH:MM:SS" */
    if (wq_i18n_chinese())
        snprintf(out, 32, "%d月%d日 %.5s", atoi(t + 5), atoi(t + 8), t + 11);
    else
        snprintf(out, 32, "%.16s", t);
    return out;
}

/*  What a cadre wants to know first, in one or two sentences: has
    everything reached the province, and if not, how much waits since when
    and why. An error older than the last successful contact is fixed. */
static void
s_status_words(const wq_outbox_state_t *st, char *out, size_t size)
{
    char n[32], when[32], since[32];
    if (st->last_seq == 0 && st->count == 0) {
        snprintf(out, size, "%s", _("No records yet."));
        return;
    }
    if (st->queued == 0) {
        if (st->contact_ms)
            snprintf(out, size, _("All %s records have reached the province (last confirmed %s)."),
                     s_thousands(st->acked, n), s_when(st->contact_ms, when));
        else
            snprintf(out, size, _("All %s records have reached the province."),
                     s_thousands(st->acked, n));
        return;
    }
    size_t o;
    if (st->oldest_unsent_ms)
        o = (size_t) snprintf(out, size, _("%s records wait to be sent to the province, the oldest "
                                           "since %s."), s_thousands(st->queued, n),
                              s_when(st->oldest_unsent_ms, since));
    else
        o = (size_t) snprintf(out, size, _("%s records wait to be sent to the province."),
                              s_thousands(st->queued, n));
    if (o >= size)
        return;
    if (st->error_ms && st->error_ms > st->contact_ms)
        snprintf(out + o, size - o, _(" Why: %s (%s)."), st->last_error,
                 s_when(st->error_ms, when));
    else if (st->contact_ms)
        snprintf(out + o, size - o, _(" Last contact with the province: %s; the rest follows "
                                      "while `wanqi-agent run` works."),
                 s_when(st->contact_ms, when));
    else
        snprintf(out + o, size - o, "%s", _(" The agent has not reached the province yet: is "
                                            "`wanqi-agent run` running?"));
}

/*  References to other agents' events cannot be checked here (that agent's
    records are at the province): a record naming one is accepted and, until
    the collector acknowledges it, listed by status as waiting for the
    collector to confirm it. The first S_REFS_SHOWN are shown, all counted. */
#define S_REFS_SHOWN 50

typedef struct {
    const char *agent;      /* this agent's id */
    bool json;
    size_t n;
} s_refs_t;

static int
s_ref_cb(uint32_t inc, uint64_t seq, const uint8_t *data, size_t size, void *arg)
{
    s_refs_t *r = arg;
    wq_record_t *rec = NULL;
    wq_err_t e;
    if (!data || wq_record_decode(data, size, &rec, &e) != WQ_OK)
        return 0;   /* a hole or an unreadable record: status lists those as skipped */
    const char *refs[] = {rec->visit, rec->problem, rec->consultation, rec->target};
    for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++) {
        char other[WQ_AGENT_ID_MAX + 1];
        if (!refs[i][0] || wq_event_id_parse(refs[i], other, NULL, NULL, &e) != WQ_OK ||
            strcmp(other, r->agent) == 0)
            continue;
        if (r->n < S_REFS_SHOWN) {
            char id[WQ_EVENT_ID_MAX];
            wq_event_id_format(r->agent, inc, seq, id);
            if (r->json) {
                printf("%s{\"id\":", r->n ? "," : "");
                wq_json_write_string(stdout, id);
                printf(",\"type\":\"%s\",\"ref\":", wq_rec_type_name(rec->type));
                wq_json_write_string(stdout, refs[i]);
                printf("}");
            } else
                printf(_("  %s (%s) refers to %s\n"), id,
                       wq_i18n_chinese() ? wq_rec_type_label(rec->type)
                                         : wq_rec_type_name(rec->type), refs[i]);
        }
        r->n++;
    }
    wq_record_destroy(&rec);
    return 0;
}

/*  List the queued records' references to other agents' events; *n = how
    many. */
static int
s_waiting_refs(wq_outbox_t *box, const wq_outbox_state_t *st, bool json, size_t *n, wq_err_t *e)
{
    s_refs_t r = {st->agent, json, 0};
    int rc = WQ_OK;
    if (st->inc && st->last_seq > st->acked)
        rc = wq_outbox_read(box, st->inc, st->acked + 1, st->last_seq, SIZE_MAX, SIZE_MAX,
                            s_ref_cb, &r, NULL, e);
    *n = r.n;
    return rc;
}

static int
s_cmd_status(int argc, char **argv, const char *dir_opt)
{
    bool json = false;
    for (int i = 0; i < argc; i++) {
        if (s_is_help(argv[i])) {
            printf(_("usage: wanqi-agent status [--format table|json] [--dir D]\n\n"
                   "Records queued and acknowledged, oldest unsent record's age, last successful\n"
                   "contact, last error, quarantined records (with reasons), records skipped as\n"
                   "unreadable, incarnation, and records not yet acknowledged that refer to\n"
                   "another agent's event (they wait for the collector to confirm them).\n"));
            return 0;
        }
        if (strcmp(argv[i], "--format") == 0 && i + 1 < argc) {
            const char *f = argv[++i];
            if (strcmp(f, "json") == 0)
                json = true;
            else if (strcmp(f, "table") != 0)
                return s_usage(_("status: --format takes table or json"));
        } else
            return s_usage(_("status: unknown option %s"), argv[i]);
    }
    wq_agent_config_t cfg;
    wq_outbox_t *box = NULL;
    wq_outbox_state_t st;
    wq_err_t e;
    int rc = 1;
    if (s_open(wq_config_find_dir(dir_opt), &cfg, &box) != 0)
        return 1;
    if (wq_outbox_state(box, &st, &e) != WQ_OK) {
        s_fail(_("status"), &e);
        goto done;
    }
    uint64_t now = wq_now_ms();
    int64_t age = st.oldest_unsent_ms ? (int64_t) ((now - st.oldest_unsent_ms) / 1000) : -1;
    char contact[24], errat[24];
    s_time_or_never(st.contact_ms, contact);
    s_time_or_never(st.error_ms, errat);
    s_notes_t n = {stdout, json, 0};
    if (json) {
        printf("{\"agent\":");
        wq_json_write_string(stdout, st.agent);
        printf(",\"county\":\"%s\",\"incarnation\":\"%08" PRIx32 "\",\"last_seq\":%" PRIu64
               ",\"acknowledged\":%" PRIu64 ",\"queued\":%" PRIu64 ",\"records\":%" PRIu64
               ",\"bytes\":%" PRIu64 ",\"oldest_unsent_age_s\":", cfg.county, st.inc,
               st.last_seq, st.acked, st.queued, st.count, st.bytes);
        if (age >= 0)
            printf("%" PRId64, age);
        else
            printf("null");
        printf(",\"last_contact\":");
        if (st.contact_ms)
            printf("\"%s\"", contact);
        else
            printf("null");
        printf(",\"last_error\":");
        if (st.error_ms) {
            wq_json_write_string(stdout, st.last_error);
            printf(",\"last_error_at\":\"%s\"", errat);
        } else
            printf("null,\"last_error_at\":null");
        printf(",\"collector_hwm\":%" PRIu64 ",\"quarantined_count\":%" PRIu64
               ",\"quarantined\":[", st.hwm, st.quarantined);
        if (wq_outbox_notes(box, 0, s_note_cb, &n, &e) != WQ_OK)
            goto fail;
        printf("],\"skipped_count\":%" PRIu64 ",\"skipped\":[", st.skipped);
        n.n = 0;
        if (wq_outbox_notes(box, 1, s_note_cb, &n, &e) != WQ_OK)
            goto fail;
        printf("],\"waiting_refs\":[");
        size_t nrefs = 0;
        if (s_waiting_refs(box, &st, true, &nrefs, &e) != WQ_OK)
            goto fail;
        printf("],\"waiting_refs_count\":%zu", nrefs);
        char words[600];
        s_status_words(&st, words, sizeof words);
        printf(",\"delivered_all\":%s,\"summary\":", st.queued == 0 ? "true" : "false");
        wq_json_write_string(stdout, words);
        printf("}\n");
    } else {
        char headline[600];
        s_status_words(&st, headline, sizeof headline);
        printf("%s\n\n", headline);
        printf(_("agent:              %s (county %s)\n"), st.agent, cfg.county);
        printf(_("incarnation:        %08" PRIx32 "\n"), st.inc);
        printf(_("queued:             %" PRIu64 "\n"), st.queued);
        printf(_("acknowledged:       %" PRIu64 " (last seq %" PRIu64 ")\n"), st.acked, st.last_seq);
        if (age >= 0)
            printf(_("oldest unsent:      %" PRId64 " s old\n"), age);
        else
            printf(_("oldest unsent:      -\n"));
        printf(_("last contact:       %s\n"), st.contact_ms ? contact : _("never"));
        if (st.error_ms && st.error_ms > st.contact_ms)
            printf(_("last error:         %s: %s\n"), errat, st.last_error);
        else if (st.error_ms)
            printf(_("last error:         - (the error of %s was cleared by a later contact)\n"),
                   errat);
        else
            printf(_("last error:         -\n"));
        printf(_("records stored:     %" PRIu64 " (%" PRIu64 " bytes, archive included)\n"),
               st.count, st.bytes);
        printf(_("quarantined:        %" PRIu64 "\n"), st.quarantined);
        if (wq_outbox_notes(box, 0, s_note_cb, &n, &e) != WQ_OK)
            goto fail;
        printf(_("skipped unreadable: %" PRIu64 "\n"), st.skipped);
        if (wq_outbox_notes(box, 1, s_note_cb, &n, &e) != WQ_OK)
            goto fail;
        printf("%s", _("waiting for the collector to confirm references to other agents' events:\n"));
        size_t nrefs = 0;
        if (s_waiting_refs(box, &st, false, &nrefs, &e) != WQ_OK)
            goto fail;
        if (nrefs > S_REFS_SHOWN)
            printf(_("  ... and %zu more\n"), nrefs - S_REFS_SHOWN);
        else if (nrefs == 0)
            printf("%s", _("  none\n"));
    }
    rc = 0;
    goto done;
fail:
    s_fail(_("status"), &e);
done:
    wq_outbox_destroy(&box);
    return rc;
}

/*  ---- show / list ---------------------------------------------------------- */

static int
s_cmd_show(int argc, char **argv, const char *dir_opt)
{
    if (argc < 1 || s_is_help(argv[0])) {
        printf(_("usage: wanqi-agent show CREDIT_CODE [--dir D]\n\n"
               "Print the enterprise's case file from local data: profile, classification,\n"
               "visits, problems with their plans and progress, services, consultations with\n"
               "their answers, corrections and retractions.\n"));
        return argc < 1 ? S_USAGE : 0;
    }
    if (argc > 1)
        return s_usage(_("show: one CREDIT_CODE only"));
    wq_agent_config_t cfg;
    wq_outbox_t *box = NULL;
    wq_err_t e;
    if (strlen(argv[0]) != 18)
        return s_usage(_("show: '%s' is not an 18-character credit code"), argv[0]);
    if (s_open(wq_config_find_dir(dir_opt), &cfg, &box) != 0)
        return 1;
    int rc = wq_casefile_show(box, argv[0], stdout, &e);
    if (rc != WQ_OK)
        s_fail(_("show"), &e);
    wq_outbox_destroy(&box);
    return rc == WQ_OK ? 0 : 1;
}

static int
s_cmd_list(int argc, char **argv, const char *dir_opt)
{
    wq_list_filter_t f = {0};
    wq_format_t fmt = WQ_FORMAT_TABLE;
    wq_err_t e;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (s_is_help(a)) {
            printf(_("usage: wanqi-agent list [--type T] [--from YYYY-MM-DD] [--to YYYY-MM-DD]\n"
                   "                        [--ent CREDIT_CODE] [--format table|csv|json] [--dir D]\n\n"
                   "List the outbox's records (archive included) by type, activity date or\n"
                   "enterprise; state says acked, queued or archive (older incarnation).\n"));
            return 0;
        }
        if (i + 1 >= argc)
            return s_usage(_("list: %s needs a value"), a);
        const char *v = argv[++i];
        if (strcmp(a, "--type") == 0) {
            if ((f.type = wq_rec_type_parse(v)) == WQ_REC_NONE)
                return s_usage(_("list: unknown record type '%s'"), v);
        } else if (strcmp(a, "--from") == 0 || strcmp(a, "--to") == 0) {
            if (wq_date_check(v, &e) != WQ_OK) {
                s_fail(a, &e);
                return S_USAGE;
            }
            if (a[2] == 'f')
                f.from = v;
            else
                f.to = v;
        } else if (strcmp(a, "--ent") == 0)
            f.ent = v;
        else if (strcmp(a, "--format") == 0) {
            if ((fmt = wq_format_parse(v)) == 0)
                return s_usage(_("list: --format takes table, csv or json"));
        } else
            return s_usage(_("list: unknown option %s"), a);
    }
    wq_agent_config_t cfg;
    wq_outbox_t *box = NULL;
    if (s_open(wq_config_find_dir(dir_opt), &cfg, &box) != 0)
        return 1;
    int rc = wq_casefile_list(box, &f, fmt, stdout, &e);
    if (rc != WQ_OK)
        s_fail(_("list"), &e);
    wq_outbox_destroy(&box);
    return rc == WQ_OK ? 0 : 1;
}

static int
s_cmd_config(int argc, char **argv, const char *dir_opt)
{
    if (argc > 0 && s_is_help(argv[0])) {
        printf(_("usage: wanqi-agent config [--dir D]\n\nPrint the configuration in effect.\n\n"));
        wq_config_print_help(stdout);
        return 0;
    }
    if (argc > 0)
        return s_usage(_("config: unknown option %s"), argv[0]);
    const char *dir = wq_config_find_dir(dir_opt);
    wq_agent_config_t cfg;
    wq_err_t e;
    if (wq_config_load(dir, &cfg, &e) != WQ_OK) {
        s_fail(_("configuration"), &e);
        return 1;
    }
    /* not translated: the configuration as key = value, as in the file */
    printf("dir = %s\nagent_id = %s\ncounty = %s\ncollector = %s\ncollector_key = %s\n"
           "outbox_max_queued = %" PRIu64 "\noutbox_max_bytes = %" PRIu64 "\noutbox_map_mb = %"
           PRIu64 "\nheartbeat_ms = %" PRIu64 "\nbackoff_min_ms = %" PRIu64 "\nbackoff_max_ms = %"
           PRIu64 "\npoll_ms = %" PRIu64 "\nlog_level = %s\n", dir, cfg.agent_id, cfg.county,
           cfg.collector, cfg.collector_key, cfg.outbox_max_queued, cfg.outbox_max_bytes,
           cfg.outbox_map_mb, cfg.heartbeat_ms, cfg.backoff_min_ms, cfg.backoff_max_ms,
           cfg.poll_ms, cfg.log_level);
    return 0;
}

/*  ---- generate --------------------------------------------------------------- */

static const char s_generate_help[] =
    "usage: wanqi-agent generate --county CODE --enterprises K [--seed N]\n"
    "                            [--from YYYY-MM-DD --to YYYY-MM-DD] [--stats FILE]\n"
    "\n"
    "Write a reproducible campaign for one county to stdout as JSON Lines, ready for\n"
    "`wanqi-agent import FILE` (common/generate.h): about 12 records per enterprise,\n"
    "references between lines as @N. The same arguments give the same bytes. --seed\n"
    "defaults to 1, the dates to the 2019 campaign (2019-02-01 .. 2019-12-31). --stats\n"
    "writes the exact counts the campaign holds (\"name value\" lines) to FILE.\n"
    "Needs no agent directory.\n";

static bool
s_parse_u64(const char *s, uint64_t *v)
{
    if (!s || !*s)
        return false;
    for (const char *p = s; *p; p++)
        if (*p < '0' || *p > '9')
            return false;
    errno = 0;
    unsigned long long x = strtoull(s, NULL, 10);
    if (errno)
        return false;
    *v = x;
    return true;
}

/*  --stats never overwrites what is not a stats file: not an LMDB file
    (data.mdb, lock.mdb: the outbox, the county's only copy of what the
    collector has not acknowledged), nothing in a directory holding one,
    and no existing file whose first line is not a "name value" stats line.
    Says why on stderr and returns false if refused. */
static bool
s_stats_path_ok(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    char dir[4096];
    snprintf(dir, sizeof dir, "%.*s", base == path ? 1 : (int) (base - path - 1),
             base == path ? "." : path);
    char lmdb[4200];
    snprintf(lmdb, sizeof lmdb, "%s/data.mdb", dir);
    struct stat st;
    if (strcmp(base, "data.mdb") == 0 || strcmp(base, "lock.mdb") == 0 || stat(lmdb, &st) == 0) {
        fprintf(stderr, _("wanqi-agent: generate: refusing to write --stats into %s: it is (or is "
                "beside) an LMDB store such as an outbox; give a new file elsewhere\n"), path);
        return false;
    }
    FILE *f = fopen(path, "r");
    if (!f)
        return true;    /* a new file */
    char line[256];
    bool stats = true;
    if (fgets(line, sizeof line, f)) {
        size_t n = strspn(line, "abcdefghijklmnopqrstuvwxyz_.");
        stats = n > 0 && line[n] == ' ' && strspn(line + n + 1, "0123456789") > 0;
    }
    fclose(f);
    if (!stats)
        fprintf(stderr, _("wanqi-agent: generate: refusing to overwrite %s: it is not a --stats "
                "file; give a new file\n"), path);
    return stats;
}

static int
s_cmd_generate(int argc, char **argv)
{
    const char *county = NULL, *from = NULL, *to = NULL, *stats_path = NULL;
    uint64_t seed = 1, ents = 0;
    bool have_ents = false;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (s_is_help(a)) {
            fputs(s_generate_help, stdout);
            return 0;
        }
        if (i + 1 >= argc)
            return s_usage(_("generate: %s needs a value"), a);
        const char *v = argv[++i];
        if (strcmp(a, "--county") == 0)
            county = v;
        else if (strcmp(a, "--seed") == 0) {
            if (!s_parse_u64(v, &seed))
                return s_usage(_("generate: --seed takes a decimal number, not '%s'"), v);
        } else if (strcmp(a, "--enterprises") == 0) {
            if (!s_parse_u64(v, &ents))
                return s_usage(_("generate: --enterprises takes a decimal number, not '%s'"), v);
            have_ents = true;
        } else if (strcmp(a, "--from") == 0)
            from = v;
        else if (strcmp(a, "--to") == 0)
            to = v;
        else if (strcmp(a, "--stats") == 0)
            stats_path = v;
        else
            return s_usage(_("generate: unknown option %s"), a);
    }
    if (!county || !have_ents)
        return s_usage(_("generate: --county and --enterprises are required"));
    if ((from == NULL) != (to == NULL))
        return s_usage(_("generate: give both --from and --to, or neither"));
    if (stats_path && !s_stats_path_ok(stats_path))
        return 1;
    wq_generate_stats_t stats;
    wq_err_t e;
    int rc = wq_generate(stdout, county, from, to, seed, (size_t) ents, &stats, &e);
    if (rc == WQ_OK && fflush(stdout) != 0)
        rc = wq_err_set(&e, WQ_E_IO, "", _("cannot write the output: %s"), strerror(errno));
    if (rc != WQ_OK) {
        s_fail(_("generate"), &e);
        return rc == WQ_E_IO || rc == WQ_E_NOMEM ? 1 : S_USAGE;
    }
    if (stats_path) {
        FILE *f = fopen(stats_path, "w");     /* checked before generating: s_stats_path_ok */
        if (!f || wq_generate_stats_write(&stats, f) != WQ_OK) {
            fprintf(stderr, _("wanqi-agent: generate: cannot write %s: %s\n"), stats_path,
                    strerror(errno));
            if (f)
                fclose(f);
            return 1;
        }
        if (fclose(f) != 0) {
            fprintf(stderr, _("wanqi-agent: generate: cannot write %s: %s\n"), stats_path,
                    strerror(errno));
            return 1;
        }
    }
    return 0;
}

/*  ---- main ----------------------------------------------------------------- */

/*  ---- export -------------------------------------------------------------- */

typedef struct {
    FILE *out;
    size_t n, unreadable;
} s_export_t;

static int
s_export_cb(uint32_t inc, uint64_t seq, const uint8_t *data, size_t size, void *arg)
{
    (void) inc;
    (void) seq;
    s_export_t *x = arg;
    wq_record_t *rec = NULL;
    wq_err_t e;
    if (!data || wq_record_decode(data, size, &rec, &e) != WQ_OK) {
        x->unreadable++;
        return 0;
    }
    /* Content only: the identity is the agent's to assign, so the lines
       import again (and into this agent they are all "already recorded"). */
    rec->present &= ~((1ull << WQ_F_AGENT) | (1ull << WQ_F_INC) | (1ull << WQ_F_SEQ)
                      | (1ull << WQ_F_RECORDED));
    wq_record_write_json(rec, x->out);
    fputc('\n', x->out);
    x->n++;
    wq_record_destroy(&rec);
    return 0;
}

static int
s_cmd_export(int argc, char **argv, const char *dir_opt)
{
    const char *file = NULL;
    for (int i = 0; i < argc; i++) {
        if (s_is_help(argv[i])) {
            fputs(_("usage: wanqi-agent export [FILE.jsonl] [--dir D]\n"
                    "\n"
                    "Write every record of the outbox (archive included), oldest first, as JSON\n"
                    "Lines with the wire field names, to FILE or stdout. The agent's own ids are\n"
                    "left out, so the file imports again with `wanqi-agent import` (into this\n"
                    "agent every line is then already recorded; into another agent, it is new).\n"),
                  stdout);
            return 0;
        }
        if (argv[i][0] == '-' && argv[i][1])
            return s_usage(_("export: unknown option %s"), argv[i]);
        if (file)
            return s_usage(_("export: one FILE only"));
        file = argv[i];
    }
    wq_agent_config_t cfg;
    wq_outbox_t *box = NULL;
    if (s_open(wq_config_find_dir(dir_opt), &cfg, &box) != 0)
        return 1;
    s_export_t x = {.out = stdout};
    if (file && strcmp(file, "-") != 0 && !(x.out = fopen(file, "w"))) {
        fprintf(stderr, _("wanqi-agent: cannot create %s: %s\n"), file, strerror(errno));
        wq_outbox_destroy(&box);
        return 1;
    }
    wq_err_t e;
    int rc = wq_outbox_scan(box, s_export_cb, &x, &e);
    if (x.out != stdout && fclose(x.out) != 0 && rc == WQ_OK)
        rc = wq_err_set(&e, WQ_E_IO, "file", _("cannot write %s: %s"), file, strerror(errno));
    wq_outbox_destroy(&box);
    if (rc != WQ_OK) {
        s_fail(_("export"), &e);
        return 1;
    }
    fprintf(stderr, _("wanqi-agent: exported %zu records\n"), x.n);
    if (x.unreadable)
        fprintf(stderr, _("wanqi-agent: %zu records could not be read and were left out\n"),
                x.unreadable);
    return x.unreadable ? 1 : 0;
}

/*  ---- template ------------------------------------------------------------ */

static int
s_cmd_template(int argc, char **argv)
{
    const char *file = NULL;
    wq_rec_type_t type = WQ_REC_NONE;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (s_is_help(a)) {
            fputs(_("usage: wanqi-agent template FILE.xlsx | FILE.csv [--type TYPE]\n"
                    "\n"
                    "Write a ready-to-fill import template for cadres: an Excel workbook (.xlsx)\n"
                    "with Chinese column headers, one sheet per record type (企业, 走访, 问题, ...),\n"
                    "a notes row under the headers and drop-down lists for every choice column;\n"
                    "or the same as CSV (UTF-8 with BOM, for Excel and WPS): the columns of TYPE,\n"
                    "or with a 记录类型 column and every type's columns. Fill it in Excel or WPS\n"
                    "and give it to `wanqi-agent import`. An existing FILE is not overwritten.\n"),
                  stdout);
            return 0;
        }
        char name[64];
        const char *v = NULL;
        if (strncmp(a, "--", 2) == 0) {
            s_opt_split(argc, argv, &i, name, sizeof name, &v);
            if (strcmp(name, "type") != 0)
                return s_usage(_("template: unknown option %s"), a);
            if (!v || (type = wq_rec_type_parse_text(v)) == WQ_REC_NONE)
                return s_usage(_("template: --type takes a record type (走访, visit, ...)"));
        } else if (file)
            return s_usage(_("template: one FILE only"));
        else
            file = a;
    }
    if (!file)
        return s_usage(_("template: give the FILE to write (.xlsx or .csv)"));
    const char *dot = strrchr(file, '.');
    wq_import_format_t fmt = wq_import_format_parse(dot ? dot + 1 : NULL);
    if (fmt != WQ_IMPORT_XLSX && fmt != WQ_IMPORT_CSV && strcmp(file, "-") != 0)
        return s_usage(_("template: FILE must end in .xlsx or .csv"));
    wq_err_t e;
    int rc;
    if (strcmp(file, "-") == 0)
        rc = wq_template_write_csv(stdout, type, &e);
    else {
        struct stat st;
        if (stat(file, &st) == 0) {
            fprintf(stderr, _("wanqi-agent: %s exists; not overwritten\n"), file);
            return 1;
        }
        if (fmt == WQ_IMPORT_XLSX)
            rc = wq_template_write_xlsx(file, &e);
        else {
            FILE *f = fopen(file, "wb");
            if (!f) {
                fprintf(stderr, _("wanqi-agent: cannot create %s: %s\n"), file, strerror(errno));
                return 1;
            }
            rc = wq_template_write_csv(f, type, &e);
            if (fclose(f) != 0 && rc == WQ_OK)
                rc = wq_err_set(&e, WQ_E_IO, "file", _("cannot write %s: %s"), file,
                                strerror(errno));
        }
    }
    if (rc != WQ_OK) {
        s_fail(_("template"), &e);
        return 1;
    }
    if (strcmp(file, "-") != 0)
        fprintf(stderr, _("wanqi-agent: wrote %s: fill it in Excel or WPS, then run "
                          "`wanqi-agent import %s`\n"), file, file);
    return 0;
}

static const char *
s_help(void)
{
    return _("usage: wanqi-agent COMMAND [OPTIONS] [--dir D]\n"
             "\n"
             "The county agent: records campaign events offline into a local LMDB outbox and pushes\n"
             "them to the provincial collector whenever the link allows.\n"
             "\n"
             "Commands:\n"
             "  init      create the agent (data dir, config, keys, incarnation, outbox)\n"
             "  record    validate and store one record\n"
             "  import    validate and store records from an .xlsx, CSV or JSON Lines file\n"
             "  template  write a ready-to-fill import template (.xlsx or .csv)\n"
             "  export    write every record as JSON Lines that import again\n"
             "  run       send the outbox to the collector (foreground, logs to stderr)\n"
             "  status    what is queued, acknowledged, quarantined; last contact and error\n"
             "  show      an enterprise's case file from local data\n"
             "  list      list records by type, date or enterprise\n"
             "  serve     the county workbench: a web page in Chinese on this outbox\n"
             "  user      accounts of the workbench (add, passwd, remove, list)\n"
             "  config    print the configuration in effect\n"
             "  generate  write a reproducible test campaign for one county (JSON Lines)\n"
             "\n"
             "Data directory: --dir D, else $WANQI_AGENT_DIR, else /var/lib/wanqi-agent.\n"
             "Options are written --opt value or --opt=value.\n"
             "Exit status: 0 done, 1 failed (or some import row bad), 2 bad usage,\n"
             "3 record: the same record was already stored (nothing stored).\n"
             "`wanqi-agent COMMAND --help` describes each command. See docs/AGENT.md.\n");
}

int
main(int argc, char **argv)
{
    wq_i18n_init();
    if (argc < 2) {
        fputs(s_help(), stderr);
        return S_USAGE;
    }
    const char *cmd = argv[1];
    if (s_is_help(cmd)) {
        fputs(s_help(), stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("wanqi-agent %s\n", WANQI_VERSION);     /* not translated: name and version */
        return 0;
    }
    /* Every option may be written --opt=value as well as --opt value:
       split the first form here, once, for every command. */
    char **split = calloc((size_t) argc * 2, sizeof *split);
    char **names = calloc((size_t) argc, sizeof *names);
    int nsplit = 0, nnames = 0;
    if (!split || !names) {
        free(split);
        free(names);
        return 1;
    }
    for (int i = 2; i < argc; i++) {
        const char *eq = strncmp(argv[i], "--", 2) == 0 ? strchr(argv[i], '=') : NULL;
        if (!eq) {
            split[nsplit++] = argv[i];
            continue;
        }
        char *name = strndup(argv[i], (size_t) (eq - argv[i]));
        if (!name) {
            for (int k = 0; k < nnames; k++)
                free(names[k]);
            free(names);
            free(split);
            return 1;
        }
        names[nnames++] = name;
        split[nsplit++] = name;
        split[nsplit++] = (char *) eq + 1;
    }
    /* Pull --dir D out of the command's arguments, wherever it is. */
    const char *dir = NULL;
    int rc = 1;
    char **args = calloc((size_t) nsplit + 1, sizeof *args);
    if (!args)
        goto out;
    int n = 0;
    for (int i = 0; i < nsplit; i++) {
        if (strcmp(split[i], "--dir") == 0) {
            if (i + 1 >= nsplit) {
                rc = s_usage(_("--dir needs a directory"));
                goto out;
            }
            dir = split[++i];
        } else
            args[n++] = split[i];
    }
    wq_log_init("wanqi-agent", WQ_LOG_INFO);
    if (strcmp(cmd, "init") == 0)
        rc = s_cmd_init(n, args, dir);
    else if (strcmp(cmd, "record") == 0)
        rc = s_cmd_record(n, args, dir);
    else if (strcmp(cmd, "import") == 0)
        rc = s_cmd_import(n, args, dir);
    else if (strcmp(cmd, "run") == 0)
        rc = s_cmd_run(n, args, dir);
    else if (strcmp(cmd, "status") == 0)
        rc = s_cmd_status(n, args, dir);
    else if (strcmp(cmd, "show") == 0)
        rc = s_cmd_show(n, args, dir);
    else if (strcmp(cmd, "list") == 0)
        rc = s_cmd_list(n, args, dir);
    else if (strcmp(cmd, "serve") == 0)
        rc = wq_serve_cmd(n, args, dir);
    else if (strcmp(cmd, "user") == 0)
        rc = wq_user_cmd(n, args, dir);
    else if (strcmp(cmd, "config") == 0)
        rc = s_cmd_config(n, args, dir);
    else if (strcmp(cmd, "export") == 0)
        rc = s_cmd_export(n, args, dir);
    else if (strcmp(cmd, "template") == 0)
        rc = dir ? s_usage(_("template takes no --dir")) : s_cmd_template(n, args);
    else if (strcmp(cmd, "generate") == 0)
        rc = dir ? s_usage(_("generate takes no --dir")) : s_cmd_generate(n, args);
    else
        rc = s_usage(_("unknown command '%s'"), cmd);
out:
    free(args);
    for (int k = 0; k < nnames; k++)
        free(names[k]);
    free(names);
    free(split);
    return rc;
}
