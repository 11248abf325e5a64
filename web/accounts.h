/*  =========================================================================
    accounts - the people who may log in, with Argon2id password hashes

    One text file, one account per line: name TAB role TAB area TAB hash,
    where hash is libsodium's crypto_pwhash_str (Argon2id, salt and cost
    inside the string). The file is written whole to a temporary file,
    fsync'd and renamed over the old one (a crash leaves the old or the new
    file, never half of one), with mode 0600: it is readable only by the
    service's own user. role and area mean what the program says (the
    dashboard: province/city/county and a division code; the workbench:
    its own roles); this module only stores them.

    Thread safety: after open, wq_accounts_verify and the readers may run
    from any number of threads at once. add/set_password/remove/save are
    for one thread (the command line) while nothing else uses the store.
    =========================================================================
*/
#ifndef WQ_ACCOUNTS_H_INCLUDED
#define WQ_ACCOUNTS_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include "common/error.h"

#define WQ_ACCOUNT_NAME_MAX 64    /* bytes of UTF-8 */
#define WQ_ACCOUNT_ROLE_MAX 16
#define WQ_ACCOUNT_AREA_MAX 16
#define WQ_PASSWORD_MIN 8         /* bytes */
#define WQ_PASSWORD_MAX 1024

typedef struct {
    char name[WQ_ACCOUNT_NAME_MAX + 1];
    char role[WQ_ACCOUNT_ROLE_MAX + 1];
    char area[WQ_ACCOUNT_AREA_MAX + 1];
} wq_account_t;

typedef struct wq_accounts_t wq_accounts_t;

/*  Load the accounts at path (a missing file is an empty store, created on
    the first save). Errors: WQ_E_IO (unreadable; text names the path),
    WQ_E_CORRUPT (a malformed line; text gives its number), WQ_E_CONFIG
    (the file is readable by group or others: fix with chmod 600),
    WQ_E_NOMEM, WQ_E_INTERNAL (libsodium failed to initialise). */
int wq_accounts_open(const char *path, wq_accounts_t **out, wq_err_t *err);
void wq_accounts_destroy(wq_accounts_t **self);

/*  Add an account (in memory; call save). name: 1..64 bytes of UTF-8
    without control characters; role, area: 1..16 bytes of [A-Za-z0-9_-];
    password: 8..1024 bytes. Errors: WQ_E_FORMAT (which field), WQ_E_STATE
    (name taken), WQ_E_NOMEM (also: libsodium could not allocate the hash
    memory). */
int wq_accounts_add(wq_accounts_t *self, const char *name, const char *password, const char *role,
                    const char *area, wq_err_t *err);

/*  Change a password. Errors: WQ_E_NOTFOUND, WQ_E_FORMAT, WQ_E_NOMEM. */
int wq_accounts_set_password(wq_accounts_t *self, const char *name, const char *password,
                             wq_err_t *err);

/*  Remove an account. Errors: WQ_E_NOTFOUND. */
int wq_accounts_remove(wq_accounts_t *self, const char *name, wq_err_t *err);

/*  Write the store atomically, mode 0600. Errors: WQ_E_IO. */
int wq_accounts_save(wq_accounts_t *self, wq_err_t *err);

/*  Check a password. On success fills *who (may be NULL) and returns
    WQ_OK. An unknown name costs the same hashing time as a wrong password
    (no timing oracle for names). Errors: WQ_E_AUTH (unknown name or wrong
    password: the text does not say which), WQ_E_NOMEM. */
int wq_accounts_verify(const wq_accounts_t *self, const char *name, const char *password,
                       wq_account_t *who, wq_err_t *err);

/*  True when name is in both a and b with the same role, area and password
    hash (a reloaded file left this account as it was). */
bool wq_accounts_unchanged(const wq_accounts_t *a, const wq_accounts_t *b, const char *name);

/*  Listing, in file order. */
size_t wq_accounts_count(const wq_accounts_t *self);
const wq_account_t *wq_accounts_at(const wq_accounts_t *self, size_t i);
/*  Account by name, or NULL. */
const wq_account_t *wq_accounts_find(const wq_accounts_t *self, const char *name);

#endif
