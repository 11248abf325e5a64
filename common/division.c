/*  =========================================================================
    division - Hebei's divisions table, built once from the embedded CSVs

    Every record names a county by its GB/T 2260 code, and the centre rolls
    counts up county -> city -> province by code prefix. The four CSVs in
    common/data are compiled into the library by embed_csv.cmake (no file
    is read at run time) and parsed here, once, into one table sorted by
    code: today's divisions, the 2019 campaign's divisions (so that 2019
    and 2020 records naming a county abolished in Xingtai's 2020
    reorganisation stay valid), and the NBS functional zones, which some
    counties report as units of their own. The code-changes file tells a
    user which new code replaced a retired one.
    =========================================================================
*/
#include "common/i18n.h"
#include "common/division.h"
#include "common/date.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Defined in the generated division_data.c. */
extern const char wq_csv_divisions[];
extern const char wq_csv_divisions_2019[];
extern const char wq_csv_functional_zones[];
extern const char wq_csv_code_changes_2019_2020[];

/* Retired codes are accepted for activity dates up to this one. */
#define S_RETIRED_UNTIL "2020-12-31"
#define S_MAX_FIELDS 8

static pthread_once_t s_once = PTHREAD_ONCE_INIT;
static wq_division_t *s_table;     /* sorted by code; never freed */
static size_t s_count;
static bool s_load_failed;
static char *s_buffers[4];         /* the parsed CSV copies s_table points into */

/*  Split one CSV record starting at *pos in the mutable text buf into
    NUL-terminated fields (RFC 4180: quoted fields, "" for a quote),
    unquoting in place. Advances *pos past the record's line end. Returns
    the number of fields, 0 at the end of the text. */
static size_t
s_csv_record(char *buf, size_t *pos, char *fields[S_MAX_FIELDS])
{
    size_t i = *pos, n = 0;
    if (buf[i] == '\0')
        return 0;
    for (;;) {
        char *out = buf + i;
        char *start = out;
        if (buf[i] == '"') {
            i++;
            for (;;) {
                if (buf[i] == '\0')
                    break;
                if (buf[i] == '"') {
                    if (buf[i + 1] == '"') {
                        *out++ = '"';
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                *out++ = buf[i++];
            }
        }
        while (buf[i] != '\0' && buf[i] != ',' && buf[i] != '\n' && buf[i] != '\r')
            *out++ = buf[i++];
        char sep = buf[i];
        if (sep != '\0')
            i++;
        if (sep == '\r' && buf[i] == '\n')
            i++;
        *out = '\0';
        if (n < S_MAX_FIELDS)
            fields[n++] = start;
        if (sep != ',')
            break;
    }
    *pos = i;
    return n;
}

static int
s_cmp_code(const void *a, const void *b)
{
    return strcmp(((const wq_division_t *) a)->code, ((const wq_division_t *) b)->code);
}

static bool
s_is_code(const char *s)
{
    for (int i = 0; i < 6; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return s[6] == '\0';
}

/*  Linear search during loading (the table is not sorted yet). */
static wq_division_t *
s_find_loading(const char *code)
{
    for (size_t i = 0; i < s_count; i++)
        if (strcmp(s_table[i].code, code) == 0)
            return &s_table[i];
    return NULL;
}

/*  Add the rows of one divisions CSV (code,name,level,parent_code). */
static bool
s_load_list(char *text, bool current, bool in_2019)
{
    size_t pos = 0;
    char *f[S_MAX_FIELDS];
    size_t n = s_csv_record(text, &pos, f);    /* header */
    if (n < 4 || strcmp(f[0], "code") != 0)
        return false;
    while ((n = s_csv_record(text, &pos, f)) > 0) {
        if (n == 1 && f[0][0] == '\0')
            continue;    /* blank line */
        wq_level_t level = wq_level_parse(f[2]);
        if (n < 4 || !s_is_code(f[0]) || level == 0 || (f[3][0] && !s_is_code(f[3])))
            return false;
        wq_division_t *d = s_find_loading(f[0]);
        if (!d) {
            d = &s_table[s_count++];
            memset(d, 0, sizeof *d);
            memcpy(d->code, f[0], 7);
            memcpy(d->parent, f[3], strlen(f[3]) + 1);
            d->name = f[1];
            d->level = level;
        }
        else if (current) {
            d->name = f[1];    /* today's name wins, e.g. 襄都区 over 桥东区 */
            d->level = level;
            memcpy(d->parent, f[3], strlen(f[3]) + 1);
        }
        d->current = d->current || current;
        d->in_2019 = d->in_2019 || in_2019;
    }
    return true;
}

/*  Apply the changes CSV (old_code,old_name,new_code,new_name,change):
    retired_to for codes that are no longer current. */
static bool
s_load_changes(char *text)
{
    size_t pos = 0;
    char *f[S_MAX_FIELDS];
    size_t n = s_csv_record(text, &pos, f);
    if (n < 5 || strcmp(f[0], "old_code") != 0)
        return false;
    while ((n = s_csv_record(text, &pos, f)) > 0) {
        if (n == 1 && f[0][0] == '\0')
            continue;
        if (n < 5 || !s_is_code(f[0]))
            return false;
        wq_division_t *d = s_find_loading(f[0]);
        if (!d)
            return false;
        if (!d->current)
            d->retired_to = f[2];
    }
    return true;
}

static char *
s_dup(const char *s)
{
    return strdup(s);
}

static size_t
s_lines(const char *s)
{
    size_t n = 1;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static void
s_load(void)
{
    /* Mutable copies: fields are split in place and names point into them,
       so they live as long as the process. */
    char *cur = s_dup(wq_csv_divisions);
    char *old = s_dup(wq_csv_divisions_2019);
    char *zones = s_dup(wq_csv_functional_zones);
    char *changes = s_dup(wq_csv_code_changes_2019_2020);
    size_t cap = 0;
    if (!cur || !old || !zones || !changes)
        goto fail;
    cap = s_lines(cur) + s_lines(old) + s_lines(zones);
    s_table = calloc(cap, sizeof *s_table);
    if (!s_table)
        goto fail;
    /* Zones did not change between the 2019 and 2023 NBS releases (SOURCES.md). */
    if (!s_load_list(cur, true, false) || !s_load_list(old, false, true) ||
        !s_load_list(zones, true, true) || !s_load_changes(changes)) {
        fprintf(stderr, _("wanqi: the embedded divisions tables do not parse (a build bug)\n"));
        abort();
    }
    qsort(s_table, s_count, sizeof *s_table, s_cmp_code);
    s_buffers[0] = cur;
    s_buffers[1] = old;
    s_buffers[2] = zones;
    s_buffers[3] = changes;
    return;
fail:
    free(cur);
    free(old);
    free(zones);
    free(changes);
    free(s_table);
    s_table = NULL;
    s_count = 0;
    s_load_failed = true;
}

static bool
s_ready(void)
{
    pthread_once(&s_once, s_load);
    return !s_load_failed;
}

const wq_division_t *
wq_division_find(const char *code)
{
    if (!code || !s_is_code(code) || !s_ready())
        return NULL;
    wq_division_t key;
    memcpy(key.code, code, 7);
    return bsearch(&key, s_table, s_count, sizeof *s_table, s_cmp_code);
}

const wq_division_t *
wq_division_at(size_t i)
{
    if (!s_ready() || i >= s_count)
        return NULL;
    return &s_table[i];
}

/*  "130502 (襄都区) or 130503 (信都区)" for "130502;130503". */
static void
s_describe_new(const char *codes, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    const char *p = codes;
    while (*p && used < size) {
        char code[7] = "";
        size_t k = strcspn(p, ";");
        if (k == 6) {
            memcpy(code, p, 6);
            code[6] = '\0';
        }
        const wq_division_t *d = code[0] ? wq_division_find(code) : NULL;
        int w = snprintf(out + used, size - used, "%s%.*s%s%s%s", used ? " or " : "", (int) k, p,
                         d ? " (" : "", d ? d->name : "", d ? ")" : "");
        if (w < 0)
            break;
        used += (size_t) w;
        p += k;
        if (*p == ';')
            p++;
    }
}

int
wq_division_check_county(const char *code, const char *date, wq_err_t *err)
{
    if (!code || !*code)
        return wq_err_set(err, WQ_E_FORMAT, "county", _("the county code is missing"));
    if (!s_is_code(code)) {
        size_t n = strlen(code);
        bool ascii = n <= 32;
        for (size_t i = 0; ascii && i < n; i++)
            ascii = (unsigned char) code[i] >= 0x20 && (unsigned char) code[i] < 0x7F;
        if (ascii)
            return wq_err_set(err, WQ_E_FORMAT, "county",
                              _("\"%s\" is not a county code: give 6 digits (GB/T 2260), e.g. "
                              "130102"), code);
        return wq_err_set(err, WQ_E_FORMAT, "county",
                          _("the county code is not 6 digits (GB/T 2260), e.g. 130102"));
    }
    if (!s_ready())
        return wq_err_set(err, WQ_E_NOMEM, "county",
                          _("out of memory loading the divisions table: restart the program"));
    const wq_division_t *d = wq_division_find(code);
    if (!d)
        return wq_err_set(err, WQ_E_COUNTY, "county",
                          _("%s is not a Hebei county-level code in the divisions table "
                          "(GB/T 2260, 2019 or today): check the code"),
                          code);
    if (d->level != WQ_LEVEL_COUNTY && d->level != WQ_LEVEL_ZONE)
        return wq_err_set(err, WQ_E_COUNTY, "county",
                          _("%s (%s) is a %s, not a county-level unit: give the code of the "
                          "county, district or county-level city"),
                          code, d->name, wq_level_name(d->level));
    if (d->current)
        return WQ_OK;
    /* A code of the 2019 campaign retired in the 2020 reorganisation. */
    int rc = wq_date_check(date, err);
    if (rc != WQ_OK)
        return rc;
    if (strcmp(date, S_RETIRED_UNTIL) <= 0)
        return WQ_OK;
    if (d->retired_to) {
        char repl[200];
        s_describe_new(d->retired_to, repl, sizeof repl);
        return wq_err_set(err, WQ_E_COUNTY, "county",
                          _("%s (%s) was retired in the 2020 reorganisation and is valid only "
                          "for activities up to %s; for %s use %s"),
                          code, d->name, S_RETIRED_UNTIL, date, repl);
    }
    return wq_err_set(err, WQ_E_COUNTY, "county",
                      _("%s (%s) is no longer a division and is valid only for activities up "
                      "to %s: use today's code"),
                      code, d->name, S_RETIRED_UNTIL);
}

void
wq_division_rollup(const char *code, wq_level_t level, char out[7])
{
    if (!code || strlen(code) != 6) {
        out[0] = '\0';
        return;
    }
    memcpy(out, code, 7);
    if (level == WQ_LEVEL_CITY)
        memcpy(out + 4, "00", 2);
    else if (level == WQ_LEVEL_PROVINCE)
        memcpy(out + 2, "0000", 4);
}

wq_level_t
wq_level_parse(const char *s)
{
    if (!s)
        return 0;
    if (strcmp(s, "province") == 0)
        return WQ_LEVEL_PROVINCE;
    if (strcmp(s, "city") == 0)
        return WQ_LEVEL_CITY;
    if (strcmp(s, "county") == 0)
        return WQ_LEVEL_COUNTY;
    if (strcmp(s, "zone") == 0)
        return WQ_LEVEL_ZONE;
    return 0;
}

const char *
wq_level_name(wq_level_t level)
{
    switch (level) {
    case WQ_LEVEL_PROVINCE:
        return "province";
    case WQ_LEVEL_CITY:
        return "city";
    case WQ_LEVEL_COUNTY:
        return "county";
    case WQ_LEVEL_ZONE:
        return "zone";
    }
    return "unknown";
}
