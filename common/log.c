/*  =========================================================================
    log - one line per event on stderr

    Programs log through wq_log so that every line has the same shape
    ("2026-11-29 10:02:03.123 wanqi-agent[1234] W: text") and lands in the
    journal whole: the line is formatted into one buffer and written with a
    single write(2), so threads never interleave within a line. Timestamps
    are China Standard Time (UTC+8), like every date the campaign shows.
    =========================================================================
*/
#include "common/log.h"
#include "common/date.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static char s_program[64] = "wanqi";
static atomic_int s_threshold = -1;    /* -1: not set yet, use WANQI_LOG or info */

static int
s_level_from_env(int fallback)
{
    const char *v = getenv("WANQI_LOG");
    if (!v || !*v)
        return fallback;
    if (strcasecmp(v, "debug") == 0)
        return WQ_LOG_DEBUG;
    if (strcasecmp(v, "info") == 0)
        return WQ_LOG_INFO;
    if (strcasecmp(v, "warn") == 0 || strcasecmp(v, "warning") == 0)
        return WQ_LOG_WARN;
    if (strcasecmp(v, "error") == 0)
        return WQ_LOG_ERROR;
    return fallback;
}

void
wq_log_init(const char *program, wq_log_level_t threshold)
{
    if (program && *program) {
        const char *slash = strrchr(program, '/');
        snprintf(s_program, sizeof s_program, "%s", slash ? slash + 1 : program);
    }
    atomic_store(&s_threshold, s_level_from_env((int) threshold));
}

void
wq_log(wq_log_level_t level, const char *fmt, ...)
{
    static const char letters[] = "DIWE";
    int threshold = atomic_load(&s_threshold);
    if (threshold < 0) {
        threshold = s_level_from_env(WQ_LOG_INFO);
        atomic_store(&s_threshold, threshold);
    }
    if ((int) level < threshold)
        return;
    char line[2048];
    char stamp[20];
    uint64_t ms = wq_now_ms();
    wq_time_format(ms, stamp);
    int n = snprintf(line, sizeof line, "%s.%03u %s[%ld] %c: ", stamp, (unsigned) (ms % 1000),
                     s_program, (long) getpid(),
                     letters[(unsigned) level < 4 ? (unsigned) level : 3]);
    if (n < 0)
        return;
    size_t used = (size_t) n < sizeof line ? (size_t) n : sizeof line - 1;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + used, sizeof line - used, fmt, ap);
    va_end(ap);
    if (m > 0)
        used += (size_t) m < sizeof line - used ? (size_t) m : sizeof line - used - 1;
    /* Keep one event on one line: a stray newline inside would split it. */
    while (used > 0 && line[used - 1] == '\n')
        used--;
    for (size_t i = (size_t) n; i < used; i++)
        if (line[i] == '\n')
            line[i] = ' ';
    if (used >= sizeof line - 1)
        used = sizeof line - 2;
    line[used++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, used);
    (void) w;    /* nowhere to report a failure to write the log */
}
