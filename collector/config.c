/*  =========================================================================
    config - the collector's configuration (see config.h)

    Configuration as a table: s_keys below is the only place a key is
    described. Parsing, overriding from the command line, writing the
    default file and printing the help all walk it, so they cannot drift
    apart.
    =========================================================================
*/
#include "collector/config.h"
#include "common/i18n.h"
#include "proto/msg.h"

#include <ctype.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef enum { S_ENDPOINT, S_SIZE, S_U32 } s_kind_t;

typedef struct {
    const char *name;
    s_kind_t kind;
    size_t offset;
    const char *def;
    uint64_t min, max;
    const char *help;
} s_key_t;

#define S_OFF(f) offsetof(wq_collector_config_t, f)

static const s_key_t s_keys[] = {
    {"ingest", S_ENDPOINT, S_OFF(ingest), "tcp://0.0.0.0:5570", 0, 0,
     N_("ZeroMQ endpoint the agents connect to (ROUTER, CURVE server)")},
    {"query", S_ENDPOINT, S_OFF(query), "tcp://0.0.0.0:5571", 0, 0,
     N_("ZeroMQ endpoint query clients (wanqi-query) connect to (ROUTER, CURVE server)")},
    {"map_size", S_SIZE, S_OFF(map_size), "8G", 1u << 20, (uint64_t) 1 << 44,
     N_("LMDB map size of the central store (bytes, or with K/M/G/T); raise it when the store is full")},
    {"credit", S_U32, S_OFF(credit), "4", 1, 64, N_("batches an agent may have unacknowledged at once")},
    {"max_batch", S_U32, S_OFF(max_batch), "500", 1, WQ_BATCH_MAX_RECORDS, N_("records per batch")},
    {"heartbeat_ms", S_U32, S_OFF(heartbeat_ms), "10000", 100, 3600000,
     N_("agents ping at this interval when idle; a link silent for 3 intervals is dead")},
    {"session_idle_ms", S_U32, S_OFF(session_idle_ms), "600000", 1000, 86400000,
     N_("forget an agent connection silent this long (it says HELLO again)")},
    {"unauth_per_address", S_U32, S_OFF(unauth_per_address), "256", 0, 1000000,
     N_("connections from one address that may wait unauthenticated (0: no limit); raise it if more agents share a NAT")},
    {"buffer_max", S_SIZE, S_OFF(buffer_max), "512M", 0, (uint64_t) 1 << 40,
     N_("bytes of incomplete messages all connections together may make the collector hold (0: no bound)")},
    {"agent_quota", S_SIZE, S_OFF(agent_quota), "1G", 0, (uint64_t) 1 << 44,
     N_("bytes one agent's records (stored and quarantined) may occupy in the store (0: no quota)")},
};
#define S_NKEYS (sizeof s_keys / sizeof s_keys[0])

static int
s_parse_u64(const char *s, bool size, uint64_t *out)
{
    if (!isdigit((unsigned char) *s))
        return -1;
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno)
        return -1;
    if (size && *end) {
        unsigned shift = 0;
        switch (toupper((unsigned char) *end)) {
        case 'K': shift = 10; break;
        case 'M': shift = 20; break;
        case 'G': shift = 30; break;
        case 'T': shift = 40; break;
        default: return -1;
        }
        end++;
        if (toupper((unsigned char) *end) == 'B' || toupper((unsigned char) *end) == 'I')
            end++;
        if (v > (UINT64_MAX >> shift))
            return -1;
        v <<= shift;
    }
    if (*end)
        return -1;
    *out = v;
    return 0;
}

int
wq_collector_config_set(wq_collector_config_t *cfg, const char *key, const char *value, wq_err_t *err)
{
    const s_key_t *k = NULL;
    for (size_t i = 0; i < S_NKEYS; i++)
        if (strcmp(s_keys[i].name, key) == 0)
            k = &s_keys[i];
    if (!k)
        return wq_err_set(err, WQ_E_UNKNOWN, key,
                          _("unknown setting \"%s\" (known: ingest, query, map_size, credit, max_batch, "
                            "heartbeat_ms, session_idle_ms, unauth_per_address, buffer_max, agent_quota)"),
                          key);
    char *base = (char *) cfg;
    if (k->kind == S_ENDPOINT) {
        if (strncmp(value, "tcp://", 6) != 0 && strncmp(value, "ipc://", 6) != 0)
            return wq_err_set(err, WQ_E_FORMAT, key, _("%s = \"%s\": an endpoint is tcp://HOST:PORT (or ipc://PATH)"),
                              key, value);
        char *copy = strdup(value);
        if (!copy)
            return wq_err_set(err, WQ_E_NOMEM, key, _("out of memory"));
        char **slot = (char **) (base + k->offset);
        free(*slot);
        *slot = copy;
        return WQ_OK;
    }
    uint64_t v = 0;
    if (s_parse_u64(value, k->kind == S_SIZE, &v) != 0)
        return wq_err_set(err, WQ_E_FORMAT, key, _("%s = \"%s\": expected %s"), key, value,
                          k->kind == S_SIZE ? _("a size such as 8G, 512M or a number of bytes") : _("a whole number"));
    if (v < k->min || v > k->max)
        return wq_err_set(err, WQ_E_RANGE, key, _("%s = %s: must be between %" PRIu64 " and %" PRIu64), key, value,
                          k->min, k->max);
    if (k->kind == S_SIZE)
        *(uint64_t *) (base + k->offset) = v;
    else
        *(uint32_t *) (base + k->offset) = (uint32_t) v;
    return WQ_OK;
}

int
wq_collector_config_defaults(wq_collector_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    for (size_t i = 0; i < S_NKEYS; i++) {
        int rc = wq_collector_config_set(cfg, s_keys[i].name, s_keys[i].def, NULL);
        if (rc != WQ_OK) {
            wq_collector_config_clear(cfg);
            return rc;
        }
    }
    return WQ_OK;
}

void
wq_collector_config_clear(wq_collector_config_t *cfg)
{
    free(cfg->ingest);
    free(cfg->query);
    cfg->ingest = NULL;
    cfg->query = NULL;
}

static char *
s_trim(char *s)
{
    while (isspace((unsigned char) *s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char) s[n - 1]))
        s[--n] = 0;
    return s;
}

int
wq_collector_config_load(wq_collector_config_t *cfg, const char *path, wq_err_t *err)
{
    int rc = WQ_OK;
    char *line = NULL;
    size_t cap = 0;
    int lineno = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return wq_err_set(err, WQ_E_IO, "config", _("cannot open %s: %s (run `wanqi-collector init` first?)"), path,
                          strerror(errno));
    while (getline(&line, &cap, f) >= 0) {
        lineno++;
        char *s = s_trim(line);
        if (*s == '#' || *s == 0)
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            rc = wq_err_set(err, WQ_E_CONFIG, "config", _("%s line %d: expected \"key = value\""), path, lineno);
            goto fail;
        }
        *eq = 0;
        char *key = s_trim(s);
        char *value = s_trim(eq + 1);
        wq_err_t kerr;
        wq_err_clear(&kerr);
        if (wq_collector_config_set(cfg, key, value, &kerr) != WQ_OK) {
            rc = wq_err_set(err, kerr.code == WQ_E_NOMEM ? WQ_E_NOMEM : WQ_E_CONFIG, kerr.field, _("%s line %d: %s"),
                            path, lineno, kerr.text);
            goto fail;
        }
    }
    if (ferror(f))
        rc = wq_err_set(err, WQ_E_IO, "config", _("cannot read %s: %s"), path, strerror(errno));
fail:
    free(line);
    fclose(f);
    return rc;
}

static void
s_value(const wq_collector_config_t *cfg, const s_key_t *k, char *buf, size_t size)
{
    const char *base = (const char *) cfg;
    if (k->kind == S_ENDPOINT)
        snprintf(buf, size, "%s", *(char *const *) (base + k->offset));
    else if (k->kind == S_SIZE) {
        uint64_t v = *(const uint64_t *) (base + k->offset);
        static const char units[] = "TGMK";
        for (int i = 0; i < 4; i++) {
            unsigned shift = (unsigned) (40 - 10 * i);
            if (v && v % ((uint64_t) 1 << shift) == 0) {
                snprintf(buf, size, "%" PRIu64 "%c", v >> shift, units[i]);
                return;
            }
        }
        snprintf(buf, size, "%" PRIu64, v);
    }
    else
        snprintf(buf, size, "%" PRIu32, *(const uint32_t *) (base + k->offset));
}

int
wq_collector_config_save(const wq_collector_config_t *cfg, const char *path, wq_err_t *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return wq_err_set(err, WQ_E_IO, "config", _("cannot create %s: %s"), path, strerror(errno));
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        return wq_err_set(err, WQ_E_IO, "config", _("cannot write %s: %s"), path, strerror(errno));
    }
    fprintf(f, _("# wanqi-collector configuration. Command-line options override it.\n"
               "# Reference: docs/COLLECTOR.md or `wanqi-collector run --help`.\n"));
    for (size_t i = 0; i < S_NKEYS; i++) {
        char value[256];
        s_value(cfg, &s_keys[i], value, sizeof value);
        fprintf(f, _("\n# %s (default %s)\n%s = %s\n"), _(s_keys[i].help), s_keys[i].def, s_keys[i].name, value);
    }
    int rc = WQ_OK;
    if (fflush(f) != 0 || fsync(fileno(f)) != 0)
        rc = wq_err_set(err, WQ_E_IO, "config", _("cannot write %s: %s"), path, strerror(errno));
    if (fclose(f) != 0 && rc == WQ_OK)
        rc = wq_err_set(err, WQ_E_IO, "config", _("cannot write %s: %s"), path, strerror(errno));
    return rc;
}

void
wq_collector_config_help(FILE *out)
{
    fprintf(out, _("Settings (collector.conf, \"key = value\"):\n"));
    for (size_t i = 0; i < S_NKEYS; i++)
        fprintf(out, _("  %-16s default %-20s %s\n"), s_keys[i].name, s_keys[i].def, _(s_keys[i].help));
}

const char *
wq_collector_dir(const char *dir)
{
    if (dir && *dir)
        return dir;
    const char *env = getenv(WQ_COLLECTOR_DIR_ENV);
    if (env && *env)
        return env;
    return WQ_COLLECTOR_DEFAULT_DIR;
}
