/*  =========================================================================
    curve - CURVE key files for agents, the collector and query clients

    Every wanqi link is CURVE-encrypted (PROTOCOL.md section 1). Each peer
    has a key pair kept as two CZMQ certificate files (ZPL text, what
    `zcert_save` writes):
        PATH          the public certificate: "curve/public-key" (Z85),
                      mode 0644, may be copied anywhere;
        PATH_secret   the secret certificate: public and secret key,
                      mode 0600, never leaves the machine.
    A peer's public key is given to the other side either as the 40
    characters of its Z85 text or as a file holding it (a public or secret
    certificate, or a text file whose first line is the Z85 key).

    These helpers make, load and check such files, and refuse a secret key
    that group or others can read or write: a secret key file that is not
    owner-only is an error, never a warning, because anyone who can read it
    can pose as that county (or as the collector).

    Ownership: a zcert_t returned here belongs to the caller
    (zcert_destroy). Errors: WQ_OK or a WQ_E_* code with err filled (field
    is the file or "key").
    =========================================================================
*/
#ifndef WQ_CURVE_H_INCLUDED
#define WQ_CURVE_H_INCLUDED

#include <stddef.h>
#include <czmq.h>
#include "common/error.h"

#define WQ_CURVE_KEY_TXT 41      /* Z85 text of a 32-byte key: 40 chars + NUL */
#define WQ_CURVE_PATH_MAX 200    /* longest PATH accepted (CZMQ's own limit is 255 with "_secret") */

/*  Make a new key pair and save it as PATH (public, 0644) and PATH_secret
    (secret, 0600). name (may be NULL), e.g. the agent id or "collector",
    is stored as certificate metadata "name" in both files. The directory
    of PATH is created with mode 0700 if it does not exist (its parent must
    exist); an existing directory is used as it is. Refuses to overwrite:
    if PATH or PATH_secret exists, nothing is written. The secret file is
    written under umask 077, then its mode is set and checked. On failure
    no key file is left behind.
    On success, if out is not NULL, *out is the new certificate.
    Errors: WQ_E_CONFIG (a file exists already, path too long),
    WQ_E_IO (cannot create the directory or write a file; text has errno),
    WQ_E_NOMEM. */
int wq_curve_create(const char *path, const char *name, zcert_t **out, wq_err_t *err);

/*  Load the key pair saved by wq_curve_create from PATH_secret (PATH is
    the public file's path, as given to wq_curve_create). Checks the secret
    file's permissions first (wq_curve_check_secret), then that it holds a
    well-formed public and secret key and that the public key is the one
    that belongs to the secret key.
    Errors: WQ_E_NOTFOUND (no PATH_secret), WQ_E_CONFIG (permissions, not
    a certificate, no secret key, keys do not match), WQ_E_IO. */
int wq_curve_load_pair(const char *path, zcert_t **out, wq_err_t *err);

/*  A peer's public key, from key_or_path: the 40-character Z85 key itself,
    or the path of a file holding it (a CZMQ public or secret certificate:
    only its public key is taken; or a text file whose first line is the
    Z85 key). out receives the 40 characters and a NUL.
    Errors: WQ_E_FORMAT (not a valid Z85 key, or a file without one),
    WQ_E_NOTFOUND (neither a key nor an existing file), WQ_E_IO. */
int wq_curve_public_key(const char *key_or_path, char out[WQ_CURVE_KEY_TXT], wq_err_t *err);

/*  True-or-error check of a Z85 key text: exactly 40 characters of the
    Z85 alphabet, each group of 5 encoding a value below 2^32.
    WQ_OK or WQ_E_FORMAT. */
int wq_curve_key_check(const char *z85, wq_err_t *err);

/*  Check that secret_path is a regular file that neither group nor others
    may read, write or execute (mode & 077 == 0), as ssh does for its keys.
    Errors: WQ_E_NOTFOUND, WQ_E_IO (stat failed), WQ_E_CONFIG (not a
    regular file, or too open: the text gives the mode and the command that
    fixes it). */
int wq_curve_check_secret(const char *secret_path, wq_err_t *err);

/*  "PATH_secret" into out (size bytes). WQ_OK, or WQ_E_CONFIG if it does
    not fit or PATH is longer than WQ_CURVE_PATH_MAX. */
int wq_curve_secret_path(const char *path, char *out, size_t size, wq_err_t *err);

#endif
