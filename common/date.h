/*  =========================================================================
    date - calendar dates and clock helpers

    Activity dates are proleptic Gregorian "YYYY-MM-DD" strings (years 2000 to
    2099). They compare correctly as strings and as day numbers.
    =========================================================================
*/
#ifndef WQ_DATE_H_INCLUDED
#define WQ_DATE_H_INCLUDED

#include <stdint.h>
#include "common/error.h"

/*  Check s is a real date "YYYY-MM-DD" in 2000-01-01..2099-12-31.
    WQ_E_FORMAT with a precise text otherwise (e.g. "2019-02-30: February
    2019 has 28 days"). */
int wq_date_check(const char *s, wq_err_t *err);

/*  A date as people write it, to "YYYY-MM-DD" in out: 2019-05-06,
    2019-5-6, 2019/5/6, 2019.5.6, 2019年5月6日 (or 6号), each optionally
    followed by a time of day (" 0:00", "T00:00:00", as spreadsheets save
    date cells), or an Excel serial day number 36526..73050 (2000-01-01 ..
    2099-12-31). Then checked as wq_date_check. WQ_E_FORMAT (the text names
    the accepted forms) otherwise. */
int wq_date_normalize(const char *in, char out[11], wq_err_t *err);

/*  Days since 1970-01-01 for a valid date; -1 if not valid. */
int32_t wq_date_days(const char *s);

/*  Inverse of wq_date_days: out must hold 11 bytes. */
void wq_date_from_days(int32_t days, char out[11]);

/*  Today's date (UTC+8, China Standard Time) into out[11]. */
void wq_date_today(char out[11]);

/*  "YYYY-MM" month key of a date into out[8]. */
void wq_date_month(const char *date, char out[8]);

/*  Wall-clock milliseconds since the epoch; monotonic milliseconds. */
uint64_t wq_now_ms(void);
uint64_t wq_mono_ms(void);

/*  Format epoch ms as "YYYY-MM-DD HH:MM:SS" in UTC+8 into out[20]. */
void wq_time_format(uint64_t ms, char out[20]);

#endif
