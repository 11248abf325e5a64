/*  =========================================================================
    i18n - gettext set-up (see i18n.h)

    Finding the catalog next to the program lets tests and a developer run
    build/bin/wanqi-agent in Chinese without installing anything, while an
    installed program uses the system's share/locale.
    =========================================================================
*/
#include "common/i18n.h"

#include <limits.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef WANQI_LOCALEDIR
#define WANQI_LOCALEDIR "/usr/local/share/locale"
#endif

static char s_dir[PATH_MAX];

/*  Whether DIR/zh_CN/LC_MESSAGES/wanqi.mo exists. */
static int
s_has_catalog(const char *dir)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/zh_CN/LC_MESSAGES/" WQ_TEXT_DOMAIN ".mo", dir);
    return access(path, R_OK) == 0;
}

static void
s_find_dir(void)
{
    const char *env = getenv("WANQI_LOCALEDIR");
    if (env && *env) {
        snprintf(s_dir, sizeof s_dir, "%s", env);
        return;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            char cand[PATH_MAX];
            if ((size_t) snprintf(cand, sizeof cand, "%s/../locale", exe) < sizeof cand
                && s_has_catalog(cand)) {
                snprintf(s_dir, sizeof s_dir, "%s", cand);
                return;
            }
        }
    }
    snprintf(s_dir, sizeof s_dir, "%s", WANQI_LOCALEDIR);
}

void
wq_i18n_init(void)
{
    setlocale(LC_ALL, "");
    /* Numbers are printed and parsed the C way whatever the locale. */
    setlocale(LC_NUMERIC, "C");
    s_find_dir();
    bindtextdomain(WQ_TEXT_DOMAIN, s_dir);
    bind_textdomain_codeset(WQ_TEXT_DOMAIN, "UTF-8");
    textdomain(WQ_TEXT_DOMAIN);
}

const char *
wq_i18n_localedir(void)
{
    return s_dir;
}

_Bool
wq_i18n_chinese(void)
{
    /* The catalog's header entry translates "" only when it was loaded. */
    const char *lang = setlocale(LC_MESSAGES, NULL);
    const char *language = getenv("LANGUAGE");
    int zh = (lang && strncmp(lang, "zh", 2) == 0)
             || (language && strncmp(language, "zh", 2) == 0 && lang && strcmp(lang, "C") != 0
                 && strcmp(lang, "POSIX") != 0);
    return zh && strcmp(_("English"), "English") != 0;
}
