/*  scope - area clamping for accounts (see scope.h). */
#include "collector/dash/scope.h"
#include "common/i18n.h"

#include <string.h>
#include "common/division.h"

void dash_prefix(const char *code, char out[7])
{
    size_t n = strnlen(code, 6);
    memcpy(out, code, n);
    out[n] = '\0';
    while (n > 2 && out[n - 1] == '0' && out[n - 2] == '0')
        out[n -= 2] = '\0';
}

int dash_account_check(const char *role, const char *area, wq_err_t *err)
{
    const wq_division_t *d = wq_division_find(area);
    wq_level_t want = !strcmp(role, "province") ? WQ_LEVEL_PROVINCE
                      : !strcmp(role, "city")   ? WQ_LEVEL_CITY
                      : !strcmp(role, "county") ? WQ_LEVEL_COUNTY
                                                : 0;
    if (!want)
        return wq_err_set(err, WQ_E_FORMAT, "role", _("role is province, city or county, not \"%s\""),
                          role);
    if (!d || !(d->level == want || (want == WQ_LEVEL_COUNTY && d->level == WQ_LEVEL_ZONE)))
        return wq_err_set(err, WQ_E_FORMAT, "area", _("area \"%s\" is not a known %s code"), area, role);
    return WQ_OK;
}

bool dash_in_scope(const wq_account_t *who, const char *county)
{
    char p[7];
    dash_prefix(who->area, p);
    return county && strncmp(county, p, strlen(p)) == 0 &&
           dash_account_check(who->role, who->area, NULL) == WQ_OK;
}

int dash_scope(const wq_account_t *who, const char *requested, char out[7], wq_err_t *err)
{
    int rc = dash_account_check(who->role, who->area, err);
    if (rc != WQ_OK)
        return wq_err_set(err, WQ_E_AUTH, "account", _("account %s has no valid area"), who->name);
    const char *area = requested && *requested ? requested : who->area;
    const wq_division_t *d = strlen(area) == 6 ? wq_division_find(area) : NULL;
    if (!d)
        return wq_err_set(err, WQ_E_FORMAT, "area", _("area \"%s\" is not a known code"), area);
    char mine[7], theirs[7];
    dash_prefix(who->area, mine);
    dash_prefix(area, theirs);
    if (strncmp(theirs, mine, strlen(mine)) != 0)
        return wq_err_set(err, WQ_E_AUTH, "area", _("area %s is outside account %s's area %s"), area,
                          who->name, who->area);
    memcpy(out, area, 7);
    return WQ_OK;
}
