/*  =========================================================================
    creditcode - Unified Social Credit Code check (GB 32100-2015)

    Enterprises are identified by their 18-character credit code. A county
    cadre types it by hand, so the check character catches most typing
    errors before a record is stored. Only the syntax and check character
    are verified here; what the digits mean (registration authority and
    place) is never used to infer anything.
    =========================================================================
*/
#include "common/i18n.h"
#include "common/creditcode.h"

#include <stdbool.h>
#include <string.h>

static const char s_alphabet[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";

/*  Index of c in the alphabet, or -1. */
static int
s_index(char c)
{
    if (c == '\0')
        return -1;
    const char *p = strchr(s_alphabet, c);
    return p ? (int) (p - s_alphabet) : -1;
}

/*  True if s is all printable ASCII, so that it can be quoted in an error
    text (which must stay valid UTF-8). */
static bool
s_printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char) *s < 0x20 || (unsigned char) *s >= 0x7F)
            return false;
    return true;
}

/*  Check character index for 17 valid characters. */
static int
s_check_index(const char *first17)
{
    int sum = 0, weight = 1;    /* 3^0 mod 31 */
    for (int i = 0; i < 17; i++) {
        sum += s_index(first17[i]) * weight;
        weight = (weight * 3) % 31;
    }
    return (31 - sum % 31) % 31;
}

char
wq_creditcode_checkchar(const char *first17)
{
    if (!first17)
        return 0;
    for (int i = 0; i < 17; i++)
        if (s_index(first17[i]) < 0)
            return 0;
    return s_alphabet[s_check_index(first17)];
}

int
wq_creditcode_check(const char *s, wq_err_t *err)
{
    if (!s)
        return wq_err_set(err, WQ_E_MISSING, "credit_code", _("credit code is missing"));
    size_t len = strlen(s);
    if (len != WQ_CREDITCODE_LEN) {
        if (s_printable(s))
            return wq_err_set(err, WQ_E_FORMAT, "credit_code",
                              _("\"%.40s\" has %zu characters; a Unified Social Credit Code has "
                              "exactly 18"), s, len);
        return wq_err_set(err, WQ_E_FORMAT, "credit_code",
                          _("the credit code has %zu bytes, some not ASCII; a Unified Social "
                          "Credit Code has exactly 18 ASCII characters"), len);
    }
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (s_index(c) >= 0)
            continue;
        const char *why;
        if (c >= 'a' && c <= 'z')
            why = "lower-case letters are not allowed: type it in upper case";
        else if (c == 'I' || c == 'O' || c == 'Z' || c == 'S' || c == 'V')
            why = "the letters I, O, Z, S and V are never used: check the paper copy "
                  "(O may be the digit 0, I the digit 1)";
        else
            why = "only digits and the letters 0-9 A-H J-N P-R T U W-Y are allowed";
        if (s_printable(s))
            return wq_err_set(err, WQ_E_FORMAT, "credit_code",
                              _("\"%s\": character %zu ('%c') is not allowed: %s"), s, i + 1, c,
                              why);
        return wq_err_set(err, WQ_E_FORMAT, "credit_code",
                          _("credit code: character %zu (byte 0x%02X) is not allowed: %s"), i + 1,
                          (unsigned) (unsigned char) c, why);
    }
    char expect = s_alphabet[s_check_index(s)];
    if (s[17] != expect)
        return wq_err_set(err, WQ_E_CHECKCHAR, "credit_code",
                          _("\"%s\": the check character is '%c' but the first 17 characters "
                          "give '%c': a character was probably mistyped"), s, s[17], expect);
    return WQ_OK;
}
