/*  =========================================================================
    i18n - messages in the reader's language (GNU gettext)

    Every text a person sees goes through _() (or N_() where it must be a
    constant, e.g. in a table, and is translated where it is printed). The
    catalog is the "wanqi" text domain; po/zh_CN.po holds the simplified
    Chinese translation and is compiled to wanqi.mo by the build.

    The locale picks the language: LANG=zh_CN.UTF-8 (or LC_ALL/LC_MESSAGES,
    and LANGUAGE=zh_CN) gives Chinese, anything else English. The zh_CN.UTF-8
    locale must exist on the machine (`locale-gen`, see scripts/bootstrap),
    otherwise glibc silently falls back to English.

    Where the catalogs are found (first that exists):
      1. $WANQI_LOCALEDIR (tests, unusual installs)
      2. DIR/../locale where DIR holds the running program (the build tree:
         build/bin/../locale)
      3. the compiled-in install path (CMAKE_INSTALL_PREFIX/share/locale)
    =========================================================================
*/
#ifndef WQ_I18N_H_INCLUDED
#define WQ_I18N_H_INCLUDED

#include <libintl.h>

#define WQ_TEXT_DOMAIN "wanqi"

/*  Translate: _("text") looks "text" up in the wanqi catalog. */
#define _(s) dgettext(WQ_TEXT_DOMAIN, s)
/*  Mark for extraction only; translate later with _(). */
#define N_(s) (s)
/*  Plural forms: n selects "one" / "other" (Chinese has one form). */
#define P_(one, other, n) dngettext(WQ_TEXT_DOMAIN, one, other, (unsigned long) (n))

/*  Set the locale from the environment (setlocale(LC_ALL, "")), bind the
    wanqi text domain to the catalog directory found as above, with UTF-8
    output, and make it the default domain. Call once at the start of main.
    Never fails: without a locale or catalog every text stays English. */
void wq_i18n_init(void);

/*  The catalog directory wq_i18n_init bound (for --version and tests). */
const char *wq_i18n_localedir(void);

/*  True when messages are being translated to Chinese (LC_MESSAGES is a
    zh locale and the catalog was found): lets code choose between Chinese
    labels and English codes for values it prints. */
_Bool wq_i18n_chinese(void);

#endif
