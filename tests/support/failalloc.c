/*  =========================================================================
    failalloc - malloc/calloc/realloc/free replacements for fault loops

    See failalloc.h. Built only into the tests that inject allocation
    failures; under AddressSanitizer the replacements are left out (ASan
    owns malloc) and the counters stay at zero.
    =========================================================================
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "tests/support/failalloc.h"

#define S_MAX_LIVE 65536
static bool s_armed;
static long s_fail_at;          /* fail the allocation with this number; 0: never */
static long s_count;            /* allocations since armed */
static size_t s_nlive;          /* entries used in s_live */
static bool s_overflow;
static long s_balance;          /* whole process: allocations minus frees */

#if FA_ENABLED
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void __libc_free(void *p);

static void *s_live[S_MAX_LIVE];   /* blocks allocated while armed, not freed */

static bool
s_fail_now(void)
{
    if (!s_armed)
        return false;
    return ++s_count == s_fail_at;
}

static void
s_track(void *p)
{
    s_balance++;
    if (!s_armed)
        return;
    if (s_nlive == S_MAX_LIVE) {
        s_overflow = true;
        return;
    }
    s_live[s_nlive++] = p;
}

static void
s_untrack(void *p)
{
    s_balance--;
    for (size_t i = s_nlive; i-- > 0;)
        if (s_live[i] == p) {
            s_live[i] = s_live[--s_nlive];
            return;
        }
}

void *
malloc(size_t size)
{
    if (s_fail_now())
        return NULL;
    void *p = __libc_malloc(size);
    if (p)
        s_track(p);
    return p;
}

void *
calloc(size_t n, size_t size)
{
    if (s_fail_now())
        return NULL;
    void *p = __libc_calloc(n, size);
    if (p)
        s_track(p);
    return p;
}

void *
realloc(void *old, size_t size)
{
    if (s_fail_now())
        return NULL;
    void *p = __libc_realloc(old, size);
    if (!p) {
        if (old && size == 0)
            s_untrack(old);     /* glibc freed it */
        return NULL;
    }
    if (!old) {
        s_track(p);
        return p;
    }
    for (size_t i = 0; i < s_nlive; i++)
        if (s_live[i] == old) {
            s_live[i] = p;
            break;
        }
    return p;   /* if not found: allocated before arming, not ours to track */
}

void
free(void *p)
{
    if (p)
        s_untrack(p);
    __libc_free(p);
}
#endif

void
fa_arm(long fail_at)
{
    s_count = 0;
    s_nlive = 0;
    s_overflow = false;
    s_fail_at = fail_at;
    s_armed = true;
}

size_t
fa_disarm(void)
{
    s_armed = false;
    assert_false(s_overflow);
    return s_nlive;
}

long
fa_count(void)
{
    return s_count;
}

long
fa_balance(void)
{
    return s_balance;
}
