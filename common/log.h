/*  =========================================================================
    log - one line per event on stderr, for systemd's journal

    Format: "2026-11-29 10:02:03.123 wanqi-agent[1234] W: text". Levels:
    D(ebug), I(nfo), W(arn), E(rror). The level threshold comes from
    wq_log_init or the WANQI_LOG environment variable (debug|info|warn|error).
    Thread-safe: each line is written with one write(2).
    =========================================================================
*/
#ifndef WQ_LOG_H_INCLUDED
#define WQ_LOG_H_INCLUDED

typedef enum { WQ_LOG_DEBUG = 0, WQ_LOG_INFO = 1, WQ_LOG_WARN = 2, WQ_LOG_ERROR = 3 } wq_log_level_t;

/*  Set the program name shown in each line and the threshold (WANQI_LOG
    overrides it when set). */
void wq_log_init(const char *program, wq_log_level_t threshold);

void wq_log(wq_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define wq_debug(...) wq_log(WQ_LOG_DEBUG, __VA_ARGS__)
#define wq_info(...)  wq_log(WQ_LOG_INFO, __VA_ARGS__)
#define wq_warn(...)  wq_log(WQ_LOG_WARN, __VA_ARGS__)
#define wq_error(...) wq_log(WQ_LOG_ERROR, __VA_ARGS__)

#endif
