/*  =========================================================================
    utf8 - strict UTF-8 checks and terminal display width

    Campaign texts are Chinese. We accept only well-formed UTF-8 (no
    overlongs, no surrogates, nothing above U+10FFFF) and, unless a text is
    multi-line, no control characters. Display width lets tables line up
    when half the cells are double-width Han characters.
    =========================================================================
*/
#ifndef WQ_UTF8_H_INCLUDED
#define WQ_UTF8_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

/*  True if s[0..len) is well-formed UTF-8. If bad_offset is not NULL it
    receives the byte offset of the first bad byte on failure. */
bool wq_utf8_valid(const char *s, size_t len, size_t *bad_offset);

/*  True if s[0..len) is valid UTF-8 with no C0/C1 control characters and no
    DEL; when multiline is true, '\n' and '\t' are allowed too. */
bool wq_utf8_text_ok(const char *s, size_t len, bool multiline, size_t *bad_offset);

/*  One pass doing what wq_utf8_valid, wq_utf8_text_ok (multiline as
    there) and wq_utf8_chars do together: true if s[0..len) is valid UTF-8
    without control characters (NUL included), and then *chars is its
    number of code points. False says only that one of the checks fails:
    callers that report which one ask those functions. ASCII runs are
    checked eight bytes at a time. */
bool wq_utf8_text_scan(const char *s, size_t len, bool multiline, size_t *chars);

/*  Number of code points in a valid UTF-8 string. */
size_t wq_utf8_chars(const char *s, size_t len);

/*  Columns a valid UTF-8 string takes in a terminal: East Asian Wide and
    Fullwidth characters (Han, kana, Hangul, fullwidth forms, CJK punctuation)
    count 2, combining marks 0, the rest 1. */
size_t wq_utf8_width(const char *s, size_t len);

/*  Largest prefix length (bytes) of s that fits in max_cols columns without
    splitting a character. */
size_t wq_utf8_fit(const char *s, size_t len, size_t max_cols);

#endif
