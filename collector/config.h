/*  =========================================================================
    config - the collector's configuration and its data directory layout

    One table (config.c) lists every key with its type, default and help
    text; the same table parses the file, applies command-line overrides,
    writes the default file made by `wanqi-collector init`, and prints the
    help. The file is plain "key = value" lines, '#' comments:

        ingest = tcp://0.0.0.0:5570
        query = tcp://0.0.0.0:5571
        map_size = 8G

    Data directory (0700), see docs/COLLECTOR.md:
        collector.conf          this file
        collector.cert          the collector's CURVE public certificate
        collector.cert_secret   ... and its secret key (0600)
        peers                   authorized agents and query clients (peers.h)
        store/                  the central LMDB store (central.h)
    =========================================================================
*/
#ifndef WQ_COLLECTOR_CONFIG_H_INCLUDED
#define WQ_COLLECTOR_CONFIG_H_INCLUDED

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "common/error.h"

#define WQ_COLLECTOR_CONF_FILE "collector.conf"
#define WQ_COLLECTOR_CERT_FILE "collector.cert"     /* + "_secret" */
#define WQ_COLLECTOR_PEERS_FILE "peers"
#define WQ_COLLECTOR_STORE_DIR "store"
#define WQ_COLLECTOR_DEFAULT_DIR "/var/lib/wanqi-collector"
#define WQ_COLLECTOR_DIR_ENV "WANQI_COLLECTOR_DIR"

typedef struct {
    char *ingest;               /* ingest ROUTER endpoint */
    char *query;                /* query ROUTER endpoint */
    uint64_t map_size;          /* LMDB map size, bytes */
    uint32_t credit;            /* batches an agent may have unacknowledged */
    uint32_t max_batch;         /* records per batch */
    uint32_t heartbeat_ms;      /* agent heartbeat interval */
    uint32_t session_idle_ms;   /* forget an agent connection silent this long */
    uint32_t unauth_per_address; /* connections per address not yet authenticated (0: no limit) */
    uint64_t buffer_max;        /* bytes of incomplete messages peers may make it hold (0: no bound) */
    uint64_t agent_quota;       /* bytes of one agent's records in the store (0: no quota) */
} wq_collector_config_t;

/*  Fill cfg with the defaults (strings are malloc'd: wq_collector_config_clear).
    Returns WQ_OK or WQ_E_NOMEM. */
int wq_collector_config_defaults(wq_collector_config_t *cfg);

/*  Free cfg's strings (safe twice). */
void wq_collector_config_clear(wq_collector_config_t *cfg);

/*  Set one key from text, checking type and limits ("8G", "512M" and plain
    bytes for sizes). Errors: WQ_E_UNKNOWN (no such key: text lists them),
    WQ_E_FORMAT / WQ_E_RANGE (bad value: text says the accepted range),
    WQ_E_NOMEM. */
int wq_collector_config_set(wq_collector_config_t *cfg, const char *key, const char *value, wq_err_t *err);

/*  Read a config file over cfg (keys absent from the file keep their
    values). Errors: WQ_E_IO (cannot read), WQ_E_CONFIG (a bad line: text
    gives path and line and why), WQ_E_NOMEM. */
int wq_collector_config_load(wq_collector_config_t *cfg, const char *path, wq_err_t *err);

/*  Write cfg as a commented config file to path (0600, must not exist).
    Errors: WQ_E_IO. */
int wq_collector_config_save(const wq_collector_config_t *cfg, const char *path, wq_err_t *err);

/*  Print the key table (name, default, help) for --help. */
void wq_collector_config_help(FILE *out);

/*  The data directory: dir if not NULL, else $WANQI_COLLECTOR_DIR, else
    WQ_COLLECTOR_DEFAULT_DIR. Static or borrowed string. */
const char *wq_collector_dir(const char *dir);

#endif
