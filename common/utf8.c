/*  =========================================================================
    utf8 - strict UTF-8 validation, text checks and display width

    Every string that enters wanqi (JSON import, msgpack from an agent) is
    checked here before it is stored: well-formed UTF-8 only (RFC 3629: no
    overlong forms, no UTF-16 surrogates, nothing above U+10FFFF) and, for
    one-line fields, no control characters. The width functions let text
    tables line up columns where Han characters take two terminal cells;
    the ranges below follow Unicode's East Asian Width property (W and F)
    for the blocks that campaign texts use, plus common emoji.
    =========================================================================
*/
#include "common/utf8.h"

#include <stdint.h>
#include <string.h>

/*  Decode one code point from p[0..n). Returns the sequence length (1-4)
    and *cp, or 0 if the bytes at p do not start a well-formed sequence. */
static size_t
s_decode(const unsigned char *p, size_t n, uint32_t *cp)
{
    unsigned char b0 = p[0];
    if (b0 < 0x80) {
        *cp = b0;
        return 1;
    }
    size_t len;
    uint32_t c, min;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        len = 2;
        c = b0 & 0x1F;
        min = 0x80;
    }
    else if (b0 >= 0xE0 && b0 <= 0xEF) {
        len = 3;
        c = b0 & 0x0F;
        min = 0x800;
    }
    else if (b0 >= 0xF0 && b0 <= 0xF4) {
        len = 4;
        c = b0 & 0x07;
        min = 0x10000;
    }
    else
        return 0;    /* continuation byte, C0/C1 overlong lead, or F5..FF */
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (p[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return len;
}

/*  A well-formed 3-byte sequence whose lead byte allows every
    continuation (E1..EC, EE, EF: no overlong form, no surrogate), which
    covers the CJK ideographs: s_decode's answer without its checks. */
static inline bool
s_plain3(const unsigned char *p, size_t n)
{
    return n >= 3 && p[0] >= 0xE1 && p[0] <= 0xEF && p[0] != 0xED && (p[1] & 0xC0) == 0x80
           && (p[2] & 0xC0) == 0x80;
}

bool
wq_utf8_valid(const char *s, size_t len, size_t *bad_offset)
{
    const unsigned char *p = (const unsigned char *) s;
    size_t i = 0;
    while (i < len) {
        if (p[i] < 0x80) {      /* ASCII without a call: most bytes of ids, dates, codes */
            i++;
            continue;
        }
        if (s_plain3(p + i, len - i)) {     /* Chinese: most bytes of texts */
            i += 3;
            continue;
        }
        uint32_t cp;
        size_t k = s_decode(p + i, len - i, &cp);
        if (k == 0) {
            if (bad_offset)
                *bad_offset = i;
            return false;
        }
        i += k;
    }
    return true;
}

bool
wq_utf8_text_ok(const char *s, size_t len, bool multiline, size_t *bad_offset)
{
    const unsigned char *p = (const unsigned char *) s;
    size_t i = 0;
    while (i < len) {
        uint32_t cp = 0;
        size_t k = s_decode(p + i, len - i, &cp);
        bool control = cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F);
        if (k > 0 && control && multiline && (cp == '\n' || cp == '\t'))
            control = false;
        if (k == 0 || control) {
            if (bad_offset)
                *bad_offset = i;
            return false;
        }
        i += k;
    }
    return true;
}

bool
wq_utf8_text_scan(const char *s, size_t len, bool multiline, size_t *chars)
{
    const unsigned char *p = (const unsigned char *) s;
    size_t i = 0, n = 0;
    while (i < len) {
        /* Eight ASCII bytes, none a control: no byte has its high bit set,
           none is below 0x20 (b - 0x20 borrows), none is 0x7F (b + 1 carries). */
        if (len - i >= 8) {
            uint64_t w;
            memcpy(&w, p + i, 8);
            const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
            if (((w | (w - ones * 0x20) | (w + ones)) & highs) == 0) {
                i += 8;
                n += 8;
                continue;
            }
        }
        /* One ASCII byte, or a well-formed 3-byte sequence (U+1000 and
           above: never a control), without a call: most bytes of texts. */
        unsigned char b = p[i];
        if (b >= 0x20 && b < 0x7F) {
            i++;
            n++;
            continue;
        }
        if (s_plain3(p + i, len - i)) {
            do {
                i += 3;
                n++;
            } while (s_plain3(p + i, len - i));
            continue;
        }
        uint32_t cp = 0;
        size_t k = s_decode(p + i, len - i, &cp);
        if (k == 0)
            return false;
        if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F)) {
            if (!(multiline && (cp == '\n' || cp == '\t')))
                return false;
        }
        i += k;
        n++;
    }
    *chars = n;
    return true;
}

typedef struct {
    uint32_t lo, hi;
} s_range_t;

/*  Zero-width: combining marks, zero-width spaces/joiners, variation
    selectors. Sorted. */
static const s_range_t s_zero[] = {
    {0x0300, 0x036F}, {0x0483, 0x0489}, {0x0591, 0x05BD}, {0x05BF, 0x05BF},
    {0x05C1, 0x05C2}, {0x05C4, 0x05C5}, {0x05C7, 0x05C7}, {0x0610, 0x061A},
    {0x064B, 0x065F}, {0x0670, 0x0670}, {0x06D6, 0x06DC}, {0x06DF, 0x06E4},
    {0x06E7, 0x06E8}, {0x06EA, 0x06ED}, {0x0E31, 0x0E31}, {0x0E34, 0x0E3A},
    {0x0E47, 0x0E4E}, {0x1AB0, 0x1AFF}, {0x1DC0, 0x1DFF}, {0x200B, 0x200F},
    {0x202A, 0x202E}, {0x2060, 0x2064}, {0x20D0, 0x20FF}, {0x302A, 0x302D},
    {0x3099, 0x309A}, {0xFE00, 0xFE0F}, {0xFE20, 0xFE2F}, {0xFEFF, 0xFEFF},
    {0xE0100, 0xE01EF},
};

/*  East Asian Wide (W) and Fullwidth (F). Sorted. */
static const s_range_t s_wide[] = {
    {0x1100, 0x115F},   /* Hangul Jamo leading consonants */
    {0x231A, 0x231B},   {0x2329, 0x232A}, {0x23E9, 0x23EC}, {0x23F0, 0x23F0},
    {0x23F3, 0x23F3},   {0x25FD, 0x25FE}, {0x2614, 0x2615}, {0x2648, 0x2653},
    {0x267F, 0x267F},   {0x2693, 0x2693}, {0x26A1, 0x26A1}, {0x26AA, 0x26AB},
    {0x26BD, 0x26BE},   {0x26C4, 0x26C5}, {0x26CE, 0x26CE}, {0x26D4, 0x26D4},
    {0x26EA, 0x26EA},   {0x26F2, 0x26F3}, {0x26F5, 0x26F5}, {0x26FA, 0x26FA},
    {0x26FD, 0x26FD},   {0x2705, 0x2705}, {0x270A, 0x270B}, {0x2728, 0x2728},
    {0x274C, 0x274C},   {0x274E, 0x274E}, {0x2753, 0x2755}, {0x2757, 0x2757},
    {0x2795, 0x2797},   {0x27B0, 0x27B0}, {0x27BF, 0x27BF}, {0x2B1B, 0x2B1C},
    {0x2B50, 0x2B50},   {0x2B55, 0x2B55},
    {0x2E80, 0x303E},   /* CJK radicals, Kangxi, CJK symbols and punctuation */
    {0x3041, 0x33FF},   /* kana, Bopomofo, Hangul compatibility, enclosed CJK */
    {0x3400, 0x4DBF},   /* CJK Extension A */
    {0x4E00, 0x9FFF},   /* CJK Unified Ideographs */
    {0xA000, 0xA4CF},   /* Yi */
    {0xA960, 0xA97F},   /* Hangul Jamo Extended-A */
    {0xAC00, 0xD7A3},   /* Hangul syllables */
    {0xF900, 0xFAFF},   /* CJK Compatibility Ideographs */
    {0xFE10, 0xFE19},   /* vertical forms */
    {0xFE30, 0xFE6F},   /* CJK compatibility forms, small form variants */
    {0xFF00, 0xFF60},   /* fullwidth forms */
    {0xFFE0, 0xFFE6},   /* fullwidth signs */
    {0x16FE0, 0x16FE4}, {0x17000, 0x18CFF}, {0x1B000, 0x1B2FF},
    {0x1F004, 0x1F004}, {0x1F0CF, 0x1F0CF}, {0x1F18E, 0x1F18E}, {0x1F191, 0x1F19A},
    {0x1F200, 0x1F251}, {0x1F300, 0x1F320}, {0x1F32D, 0x1F335}, {0x1F337, 0x1F37C},
    {0x1F37E, 0x1F393}, {0x1F3A0, 0x1F3CA}, {0x1F3CF, 0x1F3D3}, {0x1F3E0, 0x1F3F0},
    {0x1F3F4, 0x1F3F4}, {0x1F3F8, 0x1F43E}, {0x1F440, 0x1F440}, {0x1F442, 0x1F4FC},
    {0x1F4FF, 0x1F53D}, {0x1F54B, 0x1F54E}, {0x1F550, 0x1F567}, {0x1F57A, 0x1F57A},
    {0x1F595, 0x1F596}, {0x1F5A4, 0x1F5A4}, {0x1F5FB, 0x1F64F}, {0x1F680, 0x1F6C5},
    {0x1F6CC, 0x1F6CC}, {0x1F6D0, 0x1F6D2}, {0x1F6D5, 0x1F6D7}, {0x1F6EB, 0x1F6EC},
    {0x1F6F4, 0x1F6FC}, {0x1F7E0, 0x1F7EB}, {0x1F90C, 0x1F93A}, {0x1F93C, 0x1F945},
    {0x1F947, 0x1F9FF}, {0x1FA70, 0x1FAFF},
    {0x20000, 0x2FFFD}, /* CJK Extensions B-F, compatibility supplement */
    {0x30000, 0x3FFFD}, /* CJK Extensions G-H */
};

static bool
s_in(const s_range_t *r, size_t n, uint32_t cp)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cp < r[mid].lo)
            hi = mid;
        else if (cp > r[mid].hi)
            lo = mid + 1;
        else
            return true;
    }
    return false;
}

static size_t
s_cp_width(uint32_t cp)
{
    if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F))
        return 0;    /* controls take no cell of their own */
    if (cp < 0x300)
        return 1;
    if (s_in(s_zero, sizeof s_zero / sizeof s_zero[0], cp))
        return 0;
    if (s_in(s_wide, sizeof s_wide / sizeof s_wide[0], cp))
        return 2;
    return 1;
}

/*  Like s_decode but never fails: an ill-formed byte counts as one
    character of width 1 (U+FFFD as a terminal would show it). */
static size_t
s_next(const char *s, size_t len, size_t i, uint32_t *cp)
{
    size_t k = s_decode((const unsigned char *) s + i, len - i, cp);
    if (k == 0) {
        *cp = 0xFFFD;
        k = 1;
    }
    return k;
}

size_t
wq_utf8_chars(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; n++) {
        if ((unsigned char) s[i] < 0x80) {
            i++;
            continue;
        }
        if (s_plain3((const unsigned char *) s + i, len - i)) {
            i += 3;
            continue;
        }
        uint32_t cp;
        i += s_next(s, len, i, &cp);
    }
    return n;
}

size_t
wq_utf8_width(const char *s, size_t len)
{
    size_t cols = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        i += s_next(s, len, i, &cp);
        cols += s_cp_width(cp);
    }
    return cols;
}

size_t
wq_utf8_fit(const char *s, size_t len, size_t max_cols)
{
    size_t cols = 0, i = 0;
    while (i < len) {
        uint32_t cp;
        size_t k = s_next(s, len, i, &cp);
        size_t w = s_cp_width(cp);
        if (cols + w > max_cols)
            break;
        cols += w;
        i += k;
    }
    return i;
}
