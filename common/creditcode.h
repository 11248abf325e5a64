/*  =========================================================================
    creditcode - the Unified Social Credit Code (GB 32100-2015)

    18 characters from 0123456789ABCDEFGHJKLMNPQRTUWXY (no I, O, Z, S, V).
    The last is a check character: with the first 17 mapped to their index
    in that alphabet, c18 = (31 - (sum(index_i * 3^i mod 31, i = 0..16) mod 31))
    mod 31, taking 3^i mod 31 as the weight of position i. A code that fails is
    a typing error. Digits 3-8 hold where the enterprise REGISTERED: never
    derive an enterprise's county from them.
    =========================================================================
*/
#ifndef WQ_CREDITCODE_H_INCLUDED
#define WQ_CREDITCODE_H_INCLUDED

#include "common/error.h"

#define WQ_CREDITCODE_LEN 18

/*  Check s (NUL-terminated). Returns WQ_OK, or WQ_E_FORMAT (length or a
    character outside the alphabet; text says which position) or
    WQ_E_CHECKCHAR (text says the expected character). Lower-case input is
    an error, not silently upper-cased. */
int wq_creditcode_check(const char *s, wq_err_t *err);

/*  The check character for the first 17 characters of s, or 0 if any of
    them is outside the alphabet. Used by generators to make valid codes. */
char wq_creditcode_checkchar(const char *first17);

#endif
