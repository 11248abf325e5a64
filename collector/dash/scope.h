/*  =========================================================================
    scope - which areas an account may see

    province: the whole province; city: its own city and that city's
    counties; county: itself. Every handler asks dash_scope for the area it
    will query, whatever the URL says: an area outside the account's is
    refused (403), never widened or silently replaced. The account's area is
    a GB/T 2260 code (130000, 130100, 130102).
    =========================================================================
*/
#ifndef WQ_DASH_SCOPE_H_INCLUDED
#define WQ_DASH_SCOPE_H_INCLUDED

#include <stdbool.h>
#include "common/error.h"
#include "web/accounts.h"

/*  Check an account's role and area (at `user add` and at every request).
    Errors: WQ_E_FORMAT (role not province/city/county, or area not a known
    code of that level). */
int dash_account_check(const char *role, const char *area, wq_err_t *err);

/*  The area to query: requested (NULL or "" = the account's own) if it is
    a known province/city/county code inside the account's area. out gets
    the 6-digit code. Errors: WQ_E_FORMAT (not a known code), WQ_E_AUTH
    (outside the account's area). */
int dash_scope(const wq_account_t *who, const char *requested, char out[7], wq_err_t *err);

/*  Whether county (6 digits) lies inside the account's area. */
bool dash_in_scope(const wq_account_t *who, const char *county);

/*  The prefix of a code (130000 -> "13", 130100 -> "1301"). */
void dash_prefix(const char *code, char out[7]);

#endif
