/*  =========================================================================
    failalloc - allocation-failure injection for fault-loop tests

    Linking tests/support/failalloc.c into a test program replaces malloc,
    calloc, realloc and free in that program (glibc supports this; its own
    strdup, vasprintf, ... and msgpack-c call the replacement). The
    replacements forward to glibc (__libc_malloc & co) and, while armed,
    count allocations, fail the chosen one and keep a table of the blocks
    allocated and not yet freed.

    Only tests whose name contains "fault_alloc" or "nomem" get this file
    (tests/CMakeLists.txt, wq_add_test): no other program has its malloc
    replaced.

    AddressSanitizer owns malloc, so under it nothing is replaced,
    FA_ENABLED is 0 and the tests must skip; the sanitizer build covers
    leaks on the ordinary paths.
    =========================================================================
*/
#ifndef WQ_FAILALLOC_H_INCLUDED
#define WQ_FAILALLOC_H_INCLUDED

#include <stddef.h>

#if defined(__SANITIZE_ADDRESS__)
#define FA_ENABLED 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FA_ENABLED 0
#endif
#endif
#ifndef FA_ENABLED
#define FA_ENABLED 1
#endif

/*  Arm: from now on count allocations (malloc, calloc, realloc) from 1,
    and make allocation number fail_at return NULL (0: fail none). Empties
    the table of blocks allocated while armed. */
void fa_arm(long fail_at);

/*  Disarm and return the number of blocks allocated while armed and not
    freed. Fails the test (cmocka) if the table overflowed. Call it before
    any cmocka assert: cmocka itself allocates. */
size_t fa_disarm(void);

/*  Allocations attempted since the last fa_arm (failed one included). */
long fa_count(void);

/*  Blocks allocated and not freed in the whole process, armed or not
    (successful allocations minus frees). Compare two readings to see
    whether a call left blocks behind or freed blocks it did not own. */
long fa_balance(void);

#endif
