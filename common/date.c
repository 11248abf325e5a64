/*  =========================================================================
    date - activity dates, day numbers and clocks

    Records carry activity dates as "YYYY-MM-DD" strings, which sort and
    compare correctly as text; day numbers (days since 1970-01-01) are used
    for deadlines and "overdue as of" arithmetic. All wall-clock output is
    China Standard Time (UTC+8, no daylight saving) whatever the machine's
    time zone, so that a county and the province always agree on "today".
    The civil-from-days conversion uses 400-year eras of 146097 days, with
    years starting on 1 March so that the leap day is last.
    =========================================================================
*/
#include "common/date.h"
#include "common/i18n.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_CST_OFFSET_S (8 * 3600)

static const char *const s_month_names[12] = {
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December"};

static bool
s_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
s_days_in_month(int y, int m)
{
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && s_leap(y) ? 29 : dim[m - 1];
}

/*  Days since 1970-01-01 for a proleptic Gregorian y-m-d. */
static int32_t
s_days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400;
    int yoe = y - era * 400;                                    /* 0..399 */
    int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;   /* 0..365, from 1 March */
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;            /* 0..146096 */
    return (int32_t) (era * 146097 + doe - 719468);
}

static void
s_civil_from_days(int32_t days, int *y, int *m, int *d)
{
    int32_t z = days + 719468;
    int32_t era = (z >= 0 ? z : z - 146096) / 146097;
    int32_t doe = z - era * 146097;
    int32_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int32_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int32_t mp = (5 * doy + 2) / 153;
    *d = (int) (doy - (153 * mp + 2) / 5 + 1);
    *m = (int) (mp < 10 ? mp + 3 : mp - 9);
    *y = (int) (yoe + era * 400 + (*m <= 2));
}

static void
s_put_digits(char *out, int v, int ndigits)
{
    for (int i = ndigits - 1; i >= 0; i--) {
        out[i] = (char) ('0' + v % 10);
        v /= 10;
    }
}

static bool
s_digits(const char *s, int n, int *v)
{
    int x = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        x = x * 10 + (s[i] - '0');
    }
    *v = x;
    return true;
}

/*  Quote s in an error text only if it is short printable ASCII. */
static const char *
s_quotable(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if ((unsigned char) s[n] < 0x20 || (unsigned char) s[n] >= 0x7F || n > 32)
            return "(date)";
    return s;
}

int
wq_date_check(const char *s, wq_err_t *err)
{
    int y, m, d;
    if (!s)
        return wq_err_set(err, WQ_E_MISSING, "date", _("date is missing"));
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-' || !s_digits(s, 4, &y) ||
        !s_digits(s + 5, 2, &m) || !s_digits(s + 8, 2, &d))
        return wq_err_set(err, WQ_E_FORMAT, "date",
                          _("\"%s\" is not a date in the form YYYY-MM-DD (e.g. 2019-05-01)"),
                          s_quotable(s));
    if (y < 2000 || y > 2099)
        return wq_err_set(err, WQ_E_FORMAT, "date",
                          _("%s: year %d is outside 2000-2099: check the year"), s, y);
    if (m < 1 || m > 12)
        return wq_err_set(err, WQ_E_FORMAT, "date", _("%s: there is no month %02d"), s, m);
    int dim = s_days_in_month(y, m);
    if (d < 1 || d > dim)
        return wq_err_set(err, WQ_E_FORMAT, "date", _("%s: %s %d has %d days"), s,
                          s_month_names[m - 1], y, dim);
    return WQ_OK;
}

int32_t
wq_date_days(const char *s)
{
    if (wq_date_check(s, NULL) != WQ_OK)
        return -1;
    int y = 0, m = 0, d = 0;
    s_digits(s, 4, &y);
    s_digits(s + 5, 2, &m);
    s_digits(s + 8, 2, &d);
    return s_days_from_civil(y, m, d);
}

void
wq_date_from_days(int32_t days, char out[11])
{
    int y, m, d;
    /* Outside 0000-03-01 .. 9999-12-31 there is no 4-digit answer. */
    if (days < -719468 + 60 || days > 2932896) {
        memcpy(out, "0000-00-00", 11);
        return;
    }
    s_civil_from_days(days, &y, &m, &d);
    s_put_digits(out, y, 4);
    out[4] = '-';
    s_put_digits(out + 5, m, 2);
    out[7] = '-';
    s_put_digits(out + 8, d, 2);
    out[10] = '\0';
}

void
wq_date_today(char out[11])
{
    int64_t secs = (int64_t) (wq_now_ms() / 1000) + S_CST_OFFSET_S;
    wq_date_from_days((int32_t) (secs / 86400), out);
}

void
wq_date_month(const char *date, char out[8])
{
    size_t n = 0;
    while (n < 7 && date && date[n])
        n++;
    memcpy(out, date, n);
    out[n] = '\0';
}

uint64_t
wq_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t) ts.tv_sec * 1000u + (uint64_t) ts.tv_nsec / 1000000u;
}

uint64_t
wq_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000u + (uint64_t) ts.tv_nsec / 1000000u;
}

void
wq_time_format(uint64_t ms, char out[20])
{
    uint64_t secs = ms / 1000 + S_CST_OFFSET_S;
    uint64_t days = secs / 86400;
    unsigned sod = (unsigned) (secs % 86400);
    char date[11];
    wq_date_from_days(days > INT32_MAX ? INT32_MAX : (int32_t) days, date);
    memcpy(out, date, 10);
    out[10] = ' ';
    s_put_digits(out + 11, (int) (sod / 3600), 2);
    out[13] = ':';
    s_put_digits(out + 14, (int) (sod / 60 % 60), 2);
    out[16] = ':';
    s_put_digits(out + 17, (int) (sod % 60), 2);
    out[19] = '\0';
}

/*  ---- dates as people write them ----------------------------------------- */

/*  Read 1..max digits at *p into *v, advancing *p. */
static bool
s_num(const char **p, int max, int *v)
{
    int n = 0, x = 0;
    while (n < max && **p >= '0' && **p <= '9') {
        x = x * 10 + (**p - '0');
        (*p)++;
        n++;
    }
    *v = x;
    return n > 0 && !(**p >= '0' && **p <= '9');
}

/*  Skip a time of day after a date: " 0:00", " 00:00:00", "T00:00:00". */
static const char *
s_skip_time(const char *p)
{
    const char *q = p;
    if (*q != ' ' && *q != 'T')
        return p;
    while (*q == ' ' || *q == 'T')
        q++;
    while ((*q >= '0' && *q <= '9') || *q == ':' || *q == '.')
        q++;
    return q;
}

int
wq_date_normalize(const char *in, char out[11], wq_err_t *err)
{
    const char *p = in ? in : "";
    while (*p == ' ')
        p++;
    size_t n = strlen(p);
    while (n > 0 && p[n - 1] == ' ')
        n--;
    char s[64];
    if (n == 0 || n >= sizeof s)
        goto bad;
    memcpy(s, p, n);
    s[n] = '\0';
    /* An Excel serial day number (a date cell saved as a number, or a
       date column formatted as "General"): 36526 is 2000-01-01. */
    bool digits_only = true;
    for (size_t i = 0; i < n; i++)
        digits_only &= (s[i] >= '0' && s[i] <= '9') || (s[i] == '.' && i > 0);
    if (digits_only && s[0] != '0' && n >= 5) {
        long serial = atol(s);
        if (serial >= 36526 && serial <= 73050) {
            wq_date_from_days((int32_t) (serial - 25569), out);
            return WQ_OK;
        }
    }
    const char *q = s;
    int y, m, d;
    if (!s_num(&q, 4, &y) || q - s != 4)
        goto bad;
    if (strncmp(q, "年", 3) == 0) {                /* 2019年5月6日 */
        q += 3;
        if (!s_num(&q, 2, &m) || strncmp(q, "月", 3) != 0)
            goto bad;
        q += 3;
        if (!s_num(&q, 2, &d))
            goto bad;
        if (strncmp(q, "日", 3) == 0)
            q += 3;
        else if (strncmp(q, "号", 3) == 0)
            q += 3;
    } else {                                        /* 2019-05-06 2019/5/6 2019.5.6 */
        char sep = *q;
        if (sep != '-' && sep != '/' && sep != '.')
            goto bad;
        q++;
        if (!s_num(&q, 2, &m) || *q != sep)
            goto bad;
        q++;
        if (!s_num(&q, 2, &d))
            goto bad;
    }
    q = s_skip_time(q);
    if (*q != '\0')
        goto bad;
    if (m < 1 || m > 12 || d < 1 || d > 31)
        goto bad;
    out[0] = '\0';
    s_put_digits(out, y, 4);
    out[4] = '-';
    s_put_digits(out + 5, m, 2);
    out[7] = '-';
    s_put_digits(out + 8, d, 2);
    out[10] = '\0';
    return wq_date_check(out, err);
bad:
    return wq_err_set(err, WQ_E_FORMAT, "date",
                      _("\"%s\" is not a date: write it as 2019-05-06, 2019/5/6, 2019.5.6 or "
                        "2019年5月6日"), in ? in : "");
}
