/*  =========================================================================
    session - login sessions and their CSRF tokens, in memory

    A session is created at login: its token is 32 random bytes from
    libsodium's randombytes_buf (64 hex characters), sent to the browser
    as an HttpOnly, SameSite=Strict cookie (Secure over HTTPS; the server
    writes the cookie). Each session has its own CSRF token, also 32 random
    bytes, which pages put in every form (field "csrf") or send as the
    X-CSRF-Token header; the server refuses a state-changing request whose
    token does not match (wq_session_csrf_ok, constant time). A session
    ends at logout or after idle_seconds without a request. Sessions live
    in memory only: restarting the program logs everyone out, which is
    what we want after an upgrade. When the table is full the least
    recently used session is dropped. All functions are thread safe.
    =========================================================================
*/
#ifndef WQ_SESSION_H_INCLUDED
#define WQ_SESSION_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "common/error.h"
#include "web/accounts.h"

#define WQ_TOKEN_HEX 64

typedef struct {
    char token[WQ_TOKEN_HEX + 1];
    char csrf[WQ_TOKEN_HEX + 1];
    bool anonymous;         /* created without a login (loopback, accounts off) */
    wq_account_t who;       /* zeroed when anonymous */
} wq_session_t;

typedef struct wq_sessions_t wq_sessions_t;

/*  New store for at most max sessions (>= 1), idle expiry in seconds. NULL
    on no memory or if libsodium cannot initialise. */
wq_sessions_t *wq_sessions_new(size_t max, unsigned idle_seconds);
void wq_sessions_destroy(wq_sessions_t **self);

/*  For tests: the clock (seconds) the store uses; NULL restores the
    monotonic clock. */
void wq_sessions_set_clock(wq_sessions_t *self, int64_t (*now)(void));

/*  Start a session for who (NULL: anonymous); a copy goes to *out. */
int wq_sessions_create(wq_sessions_t *self, const wq_account_t *who, wq_session_t *out,
                       wq_err_t *err);

/*  Find the live session with this token and mark it used; a copy goes to
    *out. Errors: WQ_E_NOTFOUND (unknown, malformed or expired: an expired
    one is removed). */
int wq_sessions_lookup(wq_sessions_t *self, const char *token, wq_session_t *out);

/*  End the session with this token (no error if there is none). */
void wq_sessions_end(wq_sessions_t *self, const char *token);

/*  End every session of an account (after its password changed). */
void wq_sessions_end_account(wq_sessions_t *self, const char *name);

/*  Number of live sessions. */
size_t wq_sessions_count(wq_sessions_t *self);

/*  True when presented (may be NULL) is exactly s's CSRF token. */
bool wq_session_csrf_ok(const wq_session_t *s, const char *presented);

#endif
