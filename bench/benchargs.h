/*  =========================================================================
    benchargs - the command line of a bench program: --help and numbers

    Every bench program answers `--help` (or -h) anywhere on its command
    line by printing its usage on stdout and exiting 0, and refuses a bad
    argument with one line on stderr naming it, exit 2 (so
    a typo never runs a benchmark with a default nobody asked for). Bench
    programs are for the IT person and print English (tests/i18n scans no
    bench/ file). Header only: each bench program is one .c file.
    =========================================================================
*/
#ifndef WQ_BENCHARGS_H_INCLUDED
#define WQ_BENCHARGS_H_INCLUDED

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*  Whether --help or -h is among argv[1..argc-1]. */
static inline bool
bench_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return true;
    return false;
}

/*  Say what is wrong with the command line in one line on stderr
    ("PROG: PROBLEM \"ARG\" (see PROG --help)", without ARG when it is
    NULL); returns 2, the exit status of bad usage. */
static inline int
bench_usage_error(const char *prog, const char *problem, const char *arg)
{
    if (arg)
        fprintf(stderr, "%s: %s \"%s\" (see %s --help)\n", prog, problem, arg, prog);
    else
        fprintf(stderr, "%s: %s (see %s --help)\n", prog, problem, prog);
    return 2;
}

/*  text as a whole number in [min, max] in base (10, or 16 for a hex
    incarnation); false (nothing printed) if it is anything else. */
static inline bool
bench_parse_int(const char *text, int base, long long min, long long max, long long *out)
{
    char *end = NULL;
    errno = 0;
    if (!text || !*text || *text == ' ' || *text == '+' || (*text == '-' && min >= 0))
        return false;
    long long v = strtoll(text, &end, base);
    if (errno || !end || *end || v < min || v > max)
        return false;
    *out = v;
    return true;
}

/*  text as a number (decimals allowed) in [min, max]; false if not. */
static inline bool
bench_parse_double(const char *text, double min, double max, double *out)
{
    char *end = NULL;
    errno = 0;
    if (!text || !*text || *text == ' ')
        return false;
    double v = strtod(text, &end);
    if (errno || !end || *end || !(v >= min && v <= max))
        return false;
    *out = v;
    return true;
}

#endif
