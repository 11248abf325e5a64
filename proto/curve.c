/*  =========================================================================
    curve - CURVE key files for agents, the collector and query clients

    `wanqi-agent init` and `wanqi-collector init` make key pairs here, and
    `run` loads them; public keys of the other side come from a config value
    that is either the Z85 key or a file. Keeping it in one place means one
    file format (CZMQ certificates, so `zcert_load` and the CZMQ tools read
    them too), one permission rule for secret keys, and the same error texts
    on both sides. See curve.h for the contract.

    We parse secret certificates with zconfig rather than zcert_load,
    because zcert_load silently falls back to the public file (and a zero
    secret key) when the secret file is unreadable or garbled.
    =========================================================================
*/
#include "proto/curve.h"
#include "common/i18n.h"

#include <assert.h>
#include <errno.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define S_Z85_LEN 40
#define S_KEY_BYTES 32
#define S_FILE_MAX 65536   /* a key file is a few hundred bytes */

static const char s_z85_chars[] =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

int
wq_curve_key_check(const char *z85, wq_err_t *err)
{
    if (!z85)
        return wq_err_set(err, WQ_E_FORMAT, "key", _("no key given"));
    size_t len = strlen(z85);
    if (len != S_Z85_LEN)
        return wq_err_set(err, WQ_E_FORMAT, "key",
                          _("a CURVE key is 40 characters of Z85 text, this one has %zu"), len);
    for (size_t g = 0; g < S_Z85_LEN; g += 5) {
        uint64_t value = 0;
        for (size_t k = g; k < g + 5; k++) {
            const char *at = z85[k] ? strchr(s_z85_chars, z85[k]) : NULL;
            if (!at)
                return wq_err_set(err, WQ_E_FORMAT, "key",
                                  _("character %zu of the key ('%c') is not Z85"), k + 1,
                                  (z85[k] >= 0x20 && z85[k] < 0x7f) ? z85[k] : '?');
            value = value * 85 + (uint64_t) (at - s_z85_chars);
        }
        if (value > UINT32_MAX)
            return wq_err_set(err, WQ_E_FORMAT, "key",
                              _("characters %zu..%zu of the key do not encode 4 bytes"), g + 1, g + 5);
    }
    return WQ_OK;
}

int
wq_curve_secret_path(const char *path, char *out, size_t size, wq_err_t *err)
{
    if (!path || !*path)
        return wq_err_set(err, WQ_E_CONFIG, "key file", _("no key file path given"));
    if (strlen(path) > WQ_CURVE_PATH_MAX)
        return wq_err_set(err, WQ_E_CONFIG, "key file",
                          _("key file path of %zu characters, at most %d: use a shorter directory"),
                          strlen(path), WQ_CURVE_PATH_MAX);
    int n = snprintf(out, size, "%s_secret", path);
    if (n < 0 || (size_t) n >= size)
        return wq_err_set(err, WQ_E_CONFIG, "key file", _("key file path %s is too long"), path);
    return WQ_OK;
}

int
wq_curve_check_secret(const char *secret_path, wq_err_t *err)
{
    struct stat st;
    if (stat(secret_path, &st) != 0) {
        if (errno == ENOENT)
            return wq_err_set(err, WQ_E_NOTFOUND, secret_path,
                              _("secret key file %s does not exist: make the key pair with `init`"),
                              secret_path);
        return wq_err_set(err, WQ_E_IO, secret_path, _("cannot stat secret key file %s: %s"),
                          secret_path, strerror(errno));
    }
    if (!S_ISREG(st.st_mode))
        return wq_err_set(err, WQ_E_CONFIG, secret_path, _("secret key file %s is not a regular file"),
                          secret_path);
    if (st.st_mode & 077)
        return wq_err_set(err, WQ_E_CONFIG, secret_path,
                          _("secret key file %s has mode %04o: group or others may access it, so "
                          "anyone on this machine could pose as this peer; run `chmod 600 %s` "
                          "(and consider making a new key pair if others may have read it)"),
                          secret_path, (unsigned) (st.st_mode & 07777), secret_path);
    return WQ_OK;
}

/*  Whole file (at most S_FILE_MAX bytes) as a NUL-terminated string. */
static int
s_read_text(const char *path, char **out, wq_err_t *err)
{
    int rc = WQ_OK;
    char *buf = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT)
            return wq_err_set(err, WQ_E_NOTFOUND, path, _("key file %s does not exist"), path);
        return wq_err_set(err, WQ_E_IO, path, _("cannot open key file %s: %s"), path,
                          strerror(errno));
    }
    buf = malloc(S_FILE_MAX + 1);
    if (!buf) {
        rc = wq_err_set(err, WQ_E_NOMEM, path, _("out of memory reading %s"), path);
        goto done;
    }
    size_t n = fread(buf, 1, S_FILE_MAX + 1, f);
    if (ferror(f)) {
        rc = wq_err_set(err, WQ_E_IO, path, _("cannot read key file %s"), path);
        goto done;
    }
    if (n > S_FILE_MAX) {
        rc = wq_err_set(err, WQ_E_FORMAT, path, _("%s is over %d bytes: not a key file"), path,
                        S_FILE_MAX);
        goto done;
    }
    buf[n] = '\0';
    *out = buf;
    buf = NULL;
done:
    free(buf);
    fclose(f);
    return rc;
}

/*  A key file's public key: a bare Z85 first line, or a certificate. */
static int
s_public_from_file(const char *path, char out[WQ_CURVE_KEY_TXT], wq_err_t *err)
{
    char *text = NULL;
    zconfig_t *root = NULL;
    int rc = s_read_text(path, &text, err);
    if (rc != WQ_OK)
        return rc;
    /* a bare key: first line, surrounding blanks trimmed */
    char *line = text;
    line += strspn(line, " \t");
    size_t len = strcspn(line, "\r\n");
    while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t'))
        len--;
    if (len == S_Z85_LEN) {
        char key[WQ_CURVE_KEY_TXT];
        memcpy(key, line, S_Z85_LEN);
        key[S_Z85_LEN] = '\0';
        if (wq_curve_key_check(key, NULL) == WQ_OK) {
            memcpy(out, key, WQ_CURVE_KEY_TXT);
            goto done;
        }
    }
    /* a CZMQ certificate */
    root = zconfig_str_load(text);
    const char *pub = root ? zconfig_get(root, "/curve/public-key", NULL) : NULL;
    if (!pub) {
        rc = wq_err_set(err, WQ_E_FORMAT, path,
                        _("%s holds no CURVE public key: expected a certificate made by `init` "
                        "or a file whose first line is the 40-character Z85 key"),
                        path);
        goto done;
    }
    if ((rc = wq_curve_key_check(pub, err)) != WQ_OK) {
        wq_err_set(err, rc, path, _("the public key in %s is malformed: %s"), path, err ? err->text : "");
        goto done;
    }
    memcpy(out, pub, WQ_CURVE_KEY_TXT);
done:
    zconfig_destroy(&root);
    free(text);
    return rc;
}

int
wq_curve_public_key(const char *key_or_path, char out[WQ_CURVE_KEY_TXT], wq_err_t *err)
{
    struct stat st;
    if (!key_or_path || !*key_or_path)
        return wq_err_set(err, WQ_E_FORMAT, "key", _("no public key given"));
    /* An existing file wins: Z85's alphabet includes '/', '.' and '-', so a
       40-character path would otherwise pass for a key. */
    if (stat(key_or_path, &st) == 0)
        return s_public_from_file(key_or_path, out, err);
    if (strlen(key_or_path) == S_Z85_LEN && wq_curve_key_check(key_or_path, NULL) == WQ_OK) {
        memcpy(out, key_or_path, WQ_CURVE_KEY_TXT);
        return WQ_OK;
    }
    if (strlen(key_or_path) == S_Z85_LEN)
        return wq_curve_key_check(key_or_path, err);   /* looks like a key: say what is wrong */
    return wq_err_set(err, WQ_E_NOTFOUND, "key",
                      _("\"%s\" is neither a 40-character Z85 public key nor an existing key file"),
                      key_or_path);
}

/*  Make the directory of path (one level) with mode 0700 if missing. */
static int
s_make_dir(const char *path, wq_err_t *err)
{
    int rc = WQ_OK;
    char *copy = strdup(path);
    if (!copy)
        return wq_err_set(err, WQ_E_NOMEM, "key file", _("out of memory"));
    const char *dir = dirname(copy);
    struct stat st;
    if (stat(dir, &st) == 0) {
        if (!S_ISDIR(st.st_mode))
            rc = wq_err_set(err, WQ_E_IO, dir, _("%s is not a directory"), dir);
        goto done;
    }
    if (mkdir(dir, 0700) != 0 || chmod(dir, 0700) != 0)
        rc = wq_err_set(err, WQ_E_IO, dir, _("cannot create key directory %s: %s"), dir,
                        strerror(errno));
done:
    free(copy);
    return rc;
}

int
wq_curve_create(const char *path, const char *name, zcert_t **out, wq_err_t *err)
{
    char secret[WQ_CURVE_PATH_MAX + 16];
    zcert_t *cert = NULL;
    struct stat st;
    bool written = false;   /* files of ours to remove if we fail half-way */
    int rc = WQ_OK;
    if (out)
        *out = NULL;
    if ((rc = wq_curve_secret_path(path, secret, sizeof secret, err)) != WQ_OK)
        return rc;
    if (stat(path, &st) == 0 || stat(secret, &st) == 0)
        return wq_err_set(err, WQ_E_CONFIG, path,
                          _("key file %s or %s exists already: a key pair is made once; remove both "
                          "files first if you really mean to replace it (then give the new public "
                          "key to the other side)"),
                          path, secret);
    if ((rc = s_make_dir(path, err)) != WQ_OK)
        return rc;
    cert = zcert_new();
    if (!cert) {
        rc = wq_err_set(err, WQ_E_NOMEM, path, _("cannot make a CURVE key pair (zcert_new failed)"));
        goto fail;
    }
    if (name && *name)
        zcert_set_meta(cert, "name", "%s", name);

    /* secret first, never group/world-readable even for an instant */
    mode_t old = umask(077);
    int save = zcert_save_secret(cert, secret);
    umask(old);
    written = true;
    if (save != 0) {
        rc = wq_err_set(err, WQ_E_IO, secret, _("cannot write secret key file %s: %s"), secret,
                        strerror(errno));
        goto fail;
    }
    if (chmod(secret, 0600) != 0) {
        rc = wq_err_set(err, WQ_E_IO, secret, _("cannot chmod 600 %s: %s"), secret, strerror(errno));
        goto fail;
    }
    if ((rc = wq_curve_check_secret(secret, err)) != WQ_OK)
        goto fail;
    if (zcert_save_public(cert, path) != 0) {
        rc = wq_err_set(err, WQ_E_IO, path, _("cannot write public key file %s: %s"), path,
                        strerror(errno));
        goto fail;
    }
    if (chmod(path, 0644) != 0) {
        rc = wq_err_set(err, WQ_E_IO, path, _("cannot chmod 644 %s: %s"), path, strerror(errno));
        goto fail;
    }
    if (out)
        *out = cert;
    else
        zcert_destroy(&cert);
    return WQ_OK;
fail:
    if (written) {   /* leave nothing half made: a retry must not find "exists already" */
        unlink(secret);
        unlink(path);
    }
    zcert_destroy(&cert);
    return rc;
}

int
wq_curve_load_pair(const char *path, zcert_t **out, wq_err_t *err)
{
    char secret[WQ_CURVE_PATH_MAX + 16];
    char *text = NULL;
    zconfig_t *root = NULL;
    zcert_t *cert = NULL;
    int rc = WQ_OK;
    assert(out);
    *out = NULL;
    if ((rc = wq_curve_secret_path(path, secret, sizeof secret, err)) != WQ_OK)
        return rc;
    if ((rc = wq_curve_check_secret(secret, err)) != WQ_OK)
        return rc;
    if ((rc = s_read_text(secret, &text, err)) != WQ_OK)
        return rc;
    root = zconfig_str_load(text);
    const char *pub = root ? zconfig_get(root, "/curve/public-key", NULL) : NULL;
    const char *sec = root ? zconfig_get(root, "/curve/secret-key", NULL) : NULL;
    if (!pub || !sec) {
        rc = wq_err_set(err, WQ_E_CONFIG, secret,
                        _("%s is not a secret key certificate (no curve/public-key and "
                        "curve/secret-key): make the key pair with `init`"),
                        secret);
        goto done;
    }
    if (wq_curve_key_check(pub, NULL) != WQ_OK || wq_curve_key_check(sec, NULL) != WQ_OK) {
        rc = wq_err_set(err, WQ_E_CONFIG, secret, _("a key in %s is not 40 characters of Z85"),
                        secret);
        goto done;
    }
    char derived[WQ_CURVE_KEY_TXT];
    if (zmq_curve_public(derived, sec) != 0) {
        rc = wq_err_set(err, WQ_E_CONFIG, secret,
                        _("cannot derive the public key of %s: %s (libzmq without CURVE?)"), secret,
                        zmq_strerror(zmq_errno()));
        goto done;
    }
    if (strcmp(derived, pub) != 0) {
        rc = wq_err_set(err, WQ_E_CONFIG, secret,
                        _("the public key in %s does not belong to its secret key: the file was "
                        "edited or mixed up with another peer's"),
                        secret);
        goto done;
    }
    uint8_t pub_bin[S_KEY_BYTES], sec_bin[S_KEY_BYTES];
    if (!zmq_z85_decode(pub_bin, pub) || !zmq_z85_decode(sec_bin, sec)) {
        rc = wq_err_set(err, WQ_E_CONFIG, secret, _("cannot decode the keys in %s"), secret);
        goto done;
    }
    cert = zcert_new_from(pub_bin, sec_bin);
    memset(sec_bin, 0, sizeof sec_bin);
    if (!cert) {
        rc = wq_err_set(err, WQ_E_NOMEM, secret, _("out of memory loading %s"), secret);
        goto done;
    }
    const char *name = zconfig_get(root, "/metadata/name", NULL);
    if (name && *name)
        zcert_set_meta(cert, "name", "%s", name);
    *out = cert;
done:
    zconfig_destroy(&root);
    if (text) {
        memset(text, 0, strlen(text));
        free(text);
    }
    return rc;
}
