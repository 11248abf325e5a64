/*  =========================================================================
    ratelimit - refuse logins after too many failures

    Failed logins are counted per key ("addr:192.0.2.7", "name:张三") in a
    fixed window: after max_failures within window_seconds the key is
    blocked until the window that began with its first failure ends. The
    server checks both the client address and the account name, so
    guessing one account's password from many addresses, and many accounts
    from one address, are both slowed. A success clears the key. The table
    holds `slots` keys; when full, the oldest window is forgotten. Times
    are passed in (seconds of a monotonic clock) so tests need no sleep.
    Thread safe.
    =========================================================================
*/
#ifndef WQ_RATELIMIT_H_INCLUDED
#define WQ_RATELIMIT_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct wq_ratelimit_t wq_ratelimit_t;

wq_ratelimit_t *wq_ratelimit_new(size_t slots, unsigned max_failures, unsigned window_seconds);
void wq_ratelimit_destroy(wq_ratelimit_t **self);

/*  True while key is blocked; *retry_after (may be NULL) gets the seconds
    left. */
bool wq_ratelimit_blocked(wq_ratelimit_t *self, const char *key, int64_t now,
                          unsigned *retry_after);

/*  Count one failure for key. */
void wq_ratelimit_fail(wq_ratelimit_t *self, const char *key, int64_t now);

/*  Forget key (after a successful login). */
void wq_ratelimit_clear(wq_ratelimit_t *self, const char *key);

#endif
