/*  =========================================================================
    keys - the agent's CURVE key pair and the collector's public key

    The agent's certificate is DIR/agent.cert (public, CZMQ zcert format,
    mode 0644) and DIR/agent.cert_secret (secret, mode 0600), made and
    checked by proto/curve.h.
    =========================================================================
*/
#ifndef WQ_AGENT_KEYS_H_INCLUDED
#define WQ_AGENT_KEYS_H_INCLUDED

#include <czmq.h>
#include "common/error.h"

/*  Make a new key pair and save it in dir (proto/curve.h wq_curve_create;
    agent is stored as the certificates' "name"); public_txt (41 bytes)
    receives the Z85 public key. Refuses to overwrite existing key files.
    Errors: WQ_E_CONFIG (files exist, path too long), WQ_E_IO, WQ_E_NOMEM. */
int wq_keys_create(const char *dir, const char *agent, char public_txt[41], wq_err_t *err);

/*  Load the agent's certificate (with the secret) from dir. *cert is new
    (zcert_destroy). Errors: WQ_E_NOTFOUND (no key: run init), WQ_E_IO,
    WQ_E_CONFIG (secret readable by others, damaged, keys do not match). */
int wq_keys_load(const char *dir, zcert_t **cert, wq_err_t *err);

/*  arg is either a 40-character Z85 public key or the path of a file
    holding it (wq_curve_public_key): put the Z85 key into out. Errors:
    WQ_E_FORMAT, WQ_E_NOTFOUND, WQ_E_IO; err->field is "collector-key". */
int wq_keys_parse_public(const char *arg, char out[41], wq_err_t *err);

#endif
