/*  =========================================================================
    keys - the agent's CURVE identity (see keys.h)

    The collector learns who is sending from the CURVE public key, never
    from the message body, so the secret key IS the agent's identity. The
    file handling (owner-only secret, refusal to overwrite, checking that
    the public key belongs to the secret one) is proto/curve.c's; this file
    only knows where the agent keeps its certificate.
    =========================================================================
*/
#include "agent/keys.h"
#include "common/i18n.h"

#include <stdio.h>
#include <string.h>
#include "agent/config.h"
#include "proto/curve.h"

static int
s_path(const char *dir, char *out, size_t size, wq_err_t *err)
{
    int n = snprintf(out, size, "%s/%s", dir, WQ_AGENT_CERT_FILE);
    if (n < 0 || (size_t) n >= size || (size_t) n > WQ_CURVE_PATH_MAX)
        return wq_err_set(err, WQ_E_CONFIG, "dir",
                          _("the data directory path is too long for a key file (at most %d "
                          "bytes): choose a shorter --dir"), WQ_CURVE_PATH_MAX - 12);
    return WQ_OK;
}

int
wq_keys_create(const char *dir, const char *agent, char public_txt[41], wq_err_t *err)
{
    char path[WQ_CURVE_PATH_MAX + 64];
    zcert_t *cert = NULL;
    int rc = s_path(dir, path, sizeof path, err);
    if (rc != WQ_OK)
        return rc;
    rc = wq_curve_create(path, agent, &cert, err);
    if (rc != WQ_OK)
        return rc;
    snprintf(public_txt, 41, "%s", zcert_public_txt(cert));
    zcert_destroy(&cert);
    return WQ_OK;
}

int
wq_keys_load(const char *dir, zcert_t **cert, wq_err_t *err)
{
    char path[WQ_CURVE_PATH_MAX + 64];
    int rc = s_path(dir, path, sizeof path, err);
    if (rc != WQ_OK)
        return rc;
    return wq_curve_load_pair(path, cert, err);
}

int
wq_keys_parse_public(const char *arg, char out[41], wq_err_t *err)
{
    int rc = wq_curve_public_key(arg, out, err);
    if (rc != WQ_OK && err)
        snprintf(err->field, sizeof err->field, "collector-key");
    return rc;
}
