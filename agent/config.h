/*  =========================================================================
    config - the agent's configuration: a table of keys, a key = value file

    Every key has a type, a default and a help text in ONE table (config.c);
    loading, saving, checking and `wanqi-agent config --help` are all driven
    by it. The file is DIR/agent.conf, plain "key = value" lines, '#' starts
    a comment line, blank lines ignored, unknown keys are an error (a typo
    must not silently fall back to a default).

    The data directory is found by wq_config_find_dir: --dir, then the
    environment variable WANQI_AGENT_DIR, then WQ_AGENT_DEFAULT_DIR.
    =========================================================================
*/
#ifndef WQ_AGENT_CONFIG_H_INCLUDED
#define WQ_AGENT_CONFIG_H_INCLUDED

#include <stdint.h>
#include <stdio.h>
#include "common/error.h"
#include "common/record.h"

#define WQ_AGENT_DEFAULT_DIR "/var/lib/wanqi-agent"
#define WQ_AGENT_DIR_ENV "WANQI_AGENT_DIR"
#define WQ_AGENT_CONF_FILE "agent.conf"
#define WQ_AGENT_CERT_FILE "agent.cert"          /* zcert public; secret in agent.cert_secret */
#define WQ_AGENT_OUTBOX_DIR "outbox"
#define WQ_AGENT_RUN_LOCK "run.lock"            /* flock held by `run`; holds its pid */
#define WQ_ENDPOINT_MAX 256

typedef struct {
    char agent_id[WQ_AGENT_ID_MAX + 1];
    char county[7];
    char collector[WQ_ENDPOINT_MAX];   /* tcp://HOST:PORT */
    char collector_key[41];            /* Z85 public key of the collector */
    uint64_t outbox_max_queued;        /* records not yet acknowledged */
    uint64_t outbox_max_bytes;         /* bytes of records stored (archive included) */
    uint64_t outbox_map_mb;            /* LMDB map size */
    uint64_t heartbeat_ms;             /* until the collector's WELCOME says otherwise */
    uint64_t backoff_min_ms;
    uint64_t backoff_max_ms;
    uint64_t poll_ms;                  /* how often `run` looks for new records */
    uint64_t progress_ms;              /* backlog drain progress line interval */
    char log_level[8];                 /* debug | info | warn | error */
} wq_agent_config_t;

/*  Fill cfg with every key's default (strings empty where required). */
void wq_config_defaults(wq_agent_config_t *cfg);

/*  Set one key from text, checking its type and limits. Errors:
    WQ_E_UNKNOWN (no such key; text lists the keys), WQ_E_FORMAT,
    WQ_E_RANGE. err->field is the key. */
int wq_config_set(wq_agent_config_t *cfg, const char *key, const char *value, wq_err_t *err);

/*  Check that required keys are set and values agree with each other
    (county known, collector key Z85, backoff_min <= backoff_max, map
    large enough for max bytes). WQ_OK or WQ_E_CONFIG. */
int wq_config_check(const wq_agent_config_t *cfg, wq_err_t *err);

/*  Load DIR/agent.conf over the defaults, then check it. Errors: WQ_E_IO
    (missing/unreadable: text says to run `wanqi-agent init`), WQ_E_CONFIG
    (with the line number and the key). */
int wq_config_load(const char *dir, wq_agent_config_t *cfg, wq_err_t *err);

/*  Write DIR/agent.conf (mode 0600) atomically (temp file + fsync +
    rename), every key with its help as a comment. WQ_OK or WQ_E_IO. */
int wq_config_save(const char *dir, const wq_agent_config_t *cfg, wq_err_t *err);

/*  Print the key table (name, type, default, help) for --help. */
void wq_config_print_help(FILE *out);

/*  The data directory: opt_dir if not NULL, else $WANQI_AGENT_DIR if set
    and non-empty, else WQ_AGENT_DEFAULT_DIR. Never NULL; static or opt_dir. */
const char *wq_config_find_dir(const char *opt_dir);

#endif
