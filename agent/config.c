/*  =========================================================================
    config - the agent's configuration as a table of keys

    One table (s_keys) says, for every key, where it lives in
    wq_agent_config_t, its type, its default and its help. Parsing the file,
    writing it back, checking it and printing --help all walk that table, so
    they cannot disagree. The file format is deliberately trivial
    ("key = value") so that an operator can edit it with any editor on a
    county workstation.
    =========================================================================
*/
#include "agent/config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "common/i18n.h"
#include "common/division.h"
#include "proto/curve.h"

typedef enum { S_STR, S_UINT } s_kind_t;

typedef struct {
    const char *name;
    s_kind_t kind;
    size_t offset;
    size_t size;            /* S_STR: buffer size */
    const char *def;        /* NULL: required, no default */
    uint64_t min, max;      /* S_UINT limits */
    const char *help;
} s_key_t;

#define S_FIELD(f) offsetof(wq_agent_config_t, f), sizeof(((wq_agent_config_t *) 0)->f)

static const s_key_t s_keys[] = {
    {"agent_id", S_STR, S_FIELD(agent_id), NULL, 0, 0,
     N_("this agent's id, 1..32 of [A-Za-z0-9_-], unique in the province (e.g. 130102-01)")},
    {"county", S_STR, S_FIELD(county), NULL, 0, 0,
     N_("GB/T 2260 code of the county this agent records for (e.g. 130102)")},
    {"collector", S_STR, S_FIELD(collector), NULL, 0, 0,
     N_("the collector's ingest endpoint, tcp://HOST:PORT (default port 5570)")},
    {"collector_key", S_STR, S_FIELD(collector_key), NULL, 0, 0,
     N_("the collector's CURVE public key, 40 characters Z85")},
    {"outbox_max_queued", S_UINT, S_FIELD(outbox_max_queued), "1000000", 1, UINT64_MAX / 2,
     N_("most records waiting for acknowledgement; recording fails beyond it")},
    {"outbox_max_bytes", S_UINT, S_FIELD(outbox_max_bytes), "2147483648", 4096, UINT64_MAX / 2,
     N_("most bytes of records kept in the outbox (acknowledged archive included)")},
    {"outbox_map_mb", S_UINT, S_FIELD(outbox_map_mb), "4096", 1, 1u << 20,
     N_("LMDB map size of the outbox in MiB; must exceed outbox_max_bytes with room to spare")},
    {"heartbeat_ms", S_UINT, S_FIELD(heartbeat_ms), "5000", 50, 600000,
     N_("heartbeat interval until the collector's WELCOME sets it; link dead after 3 silent")},
    {"backoff_min_ms", S_UINT, S_FIELD(backoff_min_ms), "1000", 10, 3600000,
     /* xgettext:no-c-format */
     N_("first reconnect delay; doubles on every failure (+-25% jitter)")},
    {"backoff_max_ms", S_UINT, S_FIELD(backoff_max_ms), "60000", 10, 3600000,
     N_("reconnect delay cap")},
    {"poll_ms", S_UINT, S_FIELD(poll_ms), "200", 10, 60000,
     N_("how often `run` checks the outbox for newly recorded records")},
    {"progress_ms", S_UINT, S_FIELD(progress_ms), "10000", 100, 3600000,
     N_("while a backlog drains, `run` logs its progress this often")},
    {"log_level", S_STR, S_FIELD(log_level), "info", 0, 0,
     N_("debug | info | warn | error (WANQI_LOG overrides)")},
};
#define S_NKEYS (sizeof s_keys / sizeof s_keys[0])

static const s_key_t *
s_find(const char *name)
{
    for (size_t i = 0; i < S_NKEYS; i++)
        if (strcmp(s_keys[i].name, name) == 0)
            return &s_keys[i];
    return NULL;
}

static int
s_set(wq_agent_config_t *cfg, const s_key_t *k, const char *value, wq_err_t *err)
{
    char *base = (char *) cfg + k->offset;
    if (k->kind == S_STR) {
        size_t len = strlen(value);
        if (len >= k->size)
            return wq_err_set(err, WQ_E_RANGE, k->name, _("value is %zu bytes, at most %zu"), len,
                              k->size - 1);
        memcpy(base, value, len + 1);
        return WQ_OK;
    }
    if (*value == '\0')
        return wq_err_set(err, WQ_E_FORMAT, k->name, _("empty value: give a decimal number"));
    for (const char *p = value; *p; p++)
        if (*p < '0' || *p > '9')
            return wq_err_set(err, WQ_E_FORMAT, k->name,
                              _("'%s' is not a decimal number (digits only)"), value);
    errno = 0;
    unsigned long long v = strtoull(value, NULL, 10);
    if (errno || v < k->min || v > k->max)
        return wq_err_set(err, WQ_E_RANGE, k->name, _("%s is outside %" PRIu64 "..%" PRIu64), value,
                          k->min, k->max);
    memcpy(base, &(uint64_t){v}, sizeof(uint64_t));
    return WQ_OK;
}

void
wq_config_defaults(wq_agent_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    for (size_t i = 0; i < S_NKEYS; i++)
        if (s_keys[i].def) {
            int rc = s_set(cfg, &s_keys[i], s_keys[i].def, NULL);
            (void) rc;
        }
}

int
wq_config_set(wq_agent_config_t *cfg, const char *key, const char *value, wq_err_t *err)
{
    const s_key_t *k = s_find(key);
    if (!k) {
        char list[256] = "";
        for (size_t i = 0; i < S_NKEYS; i++) {
            strncat(list, s_keys[i].name, sizeof list - strlen(list) - 1);
            if (i + 1 < S_NKEYS)
                strncat(list, " ", sizeof list - strlen(list) - 1);
        }
        return wq_err_set(err, WQ_E_UNKNOWN, key, _("unknown configuration key; the keys are: %s"),
                          list);
    }
    return s_set(cfg, k, value, err);
}

int
wq_config_check(const wq_agent_config_t *cfg, wq_err_t *err)
{
    wq_err_t sub;
    for (size_t i = 0; i < S_NKEYS; i++) {
        const s_key_t *k = &s_keys[i];
        if (k->kind == S_STR && !k->def && ((const char *) cfg + k->offset)[0] == '\0')
            return wq_err_set(err, WQ_E_CONFIG, k->name,
                              _("required key is missing: set it in %s (see `wanqi-agent init "
                              "--help`)"), WQ_AGENT_CONF_FILE);
    }
    if (wq_agent_id_check(cfg->agent_id, &sub) != WQ_OK)
        return wq_err_set(err, WQ_E_CONFIG, "agent_id", _("%s"), sub.text);
    if (wq_division_check_county(cfg->county, "2099-12-31", &sub) != WQ_OK &&
        wq_division_check_county(cfg->county, "2019-06-30", &sub) != WQ_OK)
        return wq_err_set(err, WQ_E_CONFIG, "county", _("%s"), sub.text);
    if (strncmp(cfg->collector, "tcp://", 6) != 0 && strncmp(cfg->collector, "ipc://", 6) != 0)
        return wq_err_set(err, WQ_E_CONFIG, "collector",
                          _("'%s' is not a ZeroMQ endpoint: write tcp://HOST:PORT"), cfg->collector);
    if (wq_curve_key_check(cfg->collector_key, &sub) != WQ_OK)
        return wq_err_set(err, WQ_E_CONFIG, "collector_key",
                          _("not a CURVE public key (%s): copy it from the collector's "
                          "certificate"), sub.text);
    if (cfg->backoff_min_ms > cfg->backoff_max_ms)
        return wq_err_set(err, WQ_E_CONFIG, "backoff_min_ms",
                          _("backoff_min_ms %" PRIu64 " exceeds backoff_max_ms %" PRIu64),
                          cfg->backoff_min_ms, cfg->backoff_max_ms);
    if (cfg->outbox_max_bytes + cfg->outbox_max_bytes / 4 + (16u << 20) >
        cfg->outbox_map_mb * 1024 * 1024)
        return wq_err_set(err, WQ_E_CONFIG, "outbox_map_mb",
                          _("outbox_map_mb (%" PRIu64 " MiB) must exceed outbox_max_bytes (%" PRIu64
                          " bytes) by a quarter plus 16 MiB for LMDB's own pages"),
                          cfg->outbox_map_mb, cfg->outbox_max_bytes);
    const char *lv = cfg->log_level;
    if (strcmp(lv, "debug") && strcmp(lv, "info") && strcmp(lv, "warn") && strcmp(lv, "error"))
        return wq_err_set(err, WQ_E_CONFIG, "log_level",
                          _("'%s' is not one of debug, info, warn, error"), lv);
    return WQ_OK;
}

static char *
s_trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = '\0';
    return s;
}

int
wq_config_load(const char *dir, wq_agent_config_t *cfg, wq_err_t *err)
{
    int rc = WQ_OK;
    char path[4096];
    char *line = NULL;
    size_t cap = 0;
    unsigned lineno = 0;
    FILE *f = NULL;
    wq_config_defaults(cfg);
    snprintf(path, sizeof path, "%s/%s", dir, WQ_AGENT_CONF_FILE);
    f = fopen(path, "r");
    if (!f) {
        rc = wq_err_set(err, WQ_E_IO, "dir",
                        _("cannot read %s (%s): is this an agent directory? Run `wanqi-agent init` "
                        "first, or give --dir / WANQI_AGENT_DIR"), path, strerror(errno));
        goto fail;
    }
    while (getline(&line, &cap, f) >= 0) {
        lineno++;
        char *s = s_trim(line);
        if (*s == '\0' || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            rc = wq_err_set(err, WQ_E_CONFIG, "", _("%s line %u: expected key = value"), path, lineno);
            goto fail;
        }
        *eq = '\0';
        char *key = s_trim(s);
        char *value = s_trim(eq + 1);
        wq_err_t sub;
        if (wq_config_set(cfg, key, value, &sub) != WQ_OK) {
            rc = wq_err_set(err, WQ_E_CONFIG, sub.field, _("%s line %u: %s"), path, lineno, sub.text);
            goto fail;
        }
    }
    if (ferror(f)) {
        rc = wq_err_set(err, WQ_E_IO, "dir", _("error reading %s: %s"), path, strerror(errno));
        goto fail;
    }
    rc = wq_config_check(cfg, err);
    if (rc != WQ_OK && err) {
        char text[sizeof path + sizeof err->text + 4];
        snprintf(text, sizeof text, "%s: %s", path, err->text);
        memcpy(err->text, text, sizeof err->text - 1);
        err->text[sizeof err->text - 1] = '\0';
    }
fail:
    free(line);
    if (f)
        fclose(f);
    return rc;
}

int
wq_config_save(const char *dir, const wq_agent_config_t *cfg, wq_err_t *err)
{
    int rc = WQ_OK;
    char path[4096], tmp[4200];
    FILE *f = NULL;
    snprintf(path, sizeof path, "%s/%s", dir, WQ_AGENT_CONF_FILE);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || !(f = fdopen(fd, "w"))) {
        rc = wq_err_set(err, WQ_E_IO, "dir", _("cannot write %s: %s"), tmp, strerror(errno));
        if (fd >= 0)
            close(fd);
        goto fail;
    }
    fprintf(f, _("# wanqi-agent configuration (see docs/AGENT.md; `wanqi-agent config --help`)\n"));
    for (size_t i = 0; i < S_NKEYS; i++) {
        const s_key_t *k = &s_keys[i];
        const char *base = (const char *) cfg + k->offset;
        fprintf(f, "\n# %s\n", _(k->help));
        if (k->kind == S_STR)
            fprintf(f, "%s = %s\n", k->name, base);
        else {
            uint64_t v;
            memcpy(&v, base, sizeof v);
            fprintf(f, "%s = %" PRIu64 "\n", k->name, v);   /* not translated: key = value */
        }
    }
    if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
        rc = wq_err_set(err, WQ_E_IO, "dir", _("cannot write %s: %s"), tmp, strerror(errno));
        goto fail;
    }
    if (fclose(f) != 0) {
        f = NULL;
        rc = wq_err_set(err, WQ_E_IO, "dir", _("cannot write %s: %s"), tmp, strerror(errno));
        goto fail;
    }
    f = NULL;
    if (rename(tmp, path) != 0) {
        rc = wq_err_set(err, WQ_E_IO, "dir", _("cannot rename %s to %s: %s"), tmp, path,
                        strerror(errno));
        goto fail;
    }
fail:
    if (f)
        fclose(f);
    return rc;
}

void
wq_config_print_help(FILE *out)
{
    fprintf(out, _("Configuration keys (DIR/%s, key = value):\n"), WQ_AGENT_CONF_FILE);
    for (size_t i = 0; i < S_NKEYS; i++) {
        const s_key_t *k = &s_keys[i];
        fprintf(out, _("  %-18s %-6s default %-12s %s\n"), k->name,
                k->kind == S_STR ? _("text") : _("number"), k->def ? k->def : _("(required)"),
                _(k->help));
    }
}

const char *
wq_config_find_dir(const char *opt_dir)
{
    if (opt_dir && *opt_dir)
        return opt_dir;
    const char *env = getenv(WQ_AGENT_DIR_ENV);
    if (env && *env)
        return env;
    return WQ_AGENT_DEFAULT_DIR;
}
