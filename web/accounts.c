/*  accounts - Argon2id password store in one 0600 file (see accounts.h). */
#include "web/accounts.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "common/utf8.h"

typedef struct {
    wq_account_t pub;
    char hash[crypto_pwhash_STRBYTES];
} s_entry_t;

struct wq_accounts_t {
    char *path;
    s_entry_t *items;
    size_t count, cap;
    char dummy[crypto_pwhash_STRBYTES];   /* hash verified for unknown names */
};

static bool s_word_ok(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-'))
            return false;
    return true;
}

static bool s_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > WQ_ACCOUNT_NAME_MAX || !wq_utf8_valid(s, n, NULL))
        return false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return false;
    return true;
}

static int s_check_password(const char *password, wq_err_t *err)
{
    size_t n = password ? strlen(password) : 0;
    if (n < WQ_PASSWORD_MIN || n > WQ_PASSWORD_MAX)
        return wq_err_set(err, WQ_E_FORMAT, "password", "a password has %d to %d bytes",
                          WQ_PASSWORD_MIN, WQ_PASSWORD_MAX);
    return WQ_OK;
}

static int s_hash(const char *password, char out[crypto_pwhash_STRBYTES], wq_err_t *err)
{
    if (crypto_pwhash_str(out, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        return wq_err_set(err, WQ_E_NOMEM, "password",
                          "could not hash the password (Argon2id needs %zu MiB of memory)",
                          (size_t)crypto_pwhash_MEMLIMIT_INTERACTIVE >> 20);
    return WQ_OK;
}

static int s_push(wq_accounts_t *self, const s_entry_t *e, wq_err_t *err)
{
    if (self->count == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 8;
        s_entry_t *g = realloc(self->items, cap * sizeof *g);
        if (!g)
            return wq_err_set(err, WQ_E_NOMEM, NULL, "no memory for accounts");
        self->items = g;
        self->cap = cap;
    }
    self->items[self->count++] = *e;
    return WQ_OK;
}

/*  Parse one line "name\trole\tarea\thash" into e. */
static bool s_parse_line(char *line, s_entry_t *e)
{
    char *f[4];
    char *p = line;
    for (int i = 0; i < 4; i++) {
        f[i] = p;
        p = strchr(p, '\t');
        if (i < 3) {
            if (!p)
                return false;
            *p++ = '\0';
        } else if (p) {
            return false;
        }
    }
    memset(e, 0, sizeof *e);
    if (!s_name_ok(f[0]) || !s_word_ok(f[1], WQ_ACCOUNT_ROLE_MAX) ||
        !s_word_ok(f[2], WQ_ACCOUNT_AREA_MAX) || strlen(f[3]) >= sizeof e->hash ||
        strncmp(f[3], "$argon2id$", 10) != 0)
        return false;
    strcpy(e->pub.name, f[0]);
    strcpy(e->pub.role, f[1]);
    strcpy(e->pub.area, f[2]);
    strcpy(e->hash, f[3]);
    return true;
}

int wq_accounts_open(const char *path, wq_accounts_t **out, wq_err_t *err)
{
    int rc = WQ_OK;
    FILE *f = NULL;
    char *line = NULL;
    size_t cap = 0;
    *out = NULL;
    if (sodium_init() < 0)
        return wq_err_set(err, WQ_E_INTERNAL, NULL, "libsodium failed to initialise");
    wq_accounts_t *self = calloc(1, sizeof *self);
    if (!self || !(self->path = strdup(path))) {
        rc = wq_err_set(err, WQ_E_NOMEM, NULL, "no memory for accounts");
        goto done;
    }
    /* A fixed hash of a random password: unknown names are checked against it. */
    char pw[33];
    unsigned char rnd[16];
    randombytes_buf(rnd, sizeof rnd);
    sodium_bin2hex(pw, sizeof pw, rnd, sizeof rnd);
    if ((rc = s_hash(pw, self->dummy, err)) != WQ_OK)
        goto done;
    f = fopen(path, "r");
    if (!f) {
        if (errno != ENOENT)
            rc = wq_err_set(err, WQ_E_IO, "accounts", "cannot read %s: %s", path, strerror(errno));
        goto done;
    }
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077)) {
        rc = wq_err_set(err, WQ_E_CONFIG, "accounts",
                        "%s is readable by other users (mode %03o): run chmod 600 %s", path,
                        (unsigned)(st.st_mode & 0777), path);
        goto done;
    }
    ssize_t n;
    size_t lineno = 0;
    while ((n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (n == 0)
            continue;
        s_entry_t e;
        if (!s_parse_line(line, &e) || wq_accounts_find(self, e.pub.name)) {
            rc = wq_err_set(err, WQ_E_CORRUPT, "accounts", "%s line %zu is not a valid account",
                            path, lineno);
            goto done;
        }
        if ((rc = s_push(self, &e, err)) != WQ_OK)
            goto done;
    }
    if (ferror(f))
        rc = wq_err_set(err, WQ_E_IO, "accounts", "cannot read %s: %s", path, strerror(errno));
done:
    free(line);
    if (f)
        fclose(f);
    if (rc == WQ_OK)
        *out = self;
    else
        wq_accounts_destroy(&self);
    return rc;
}

void wq_accounts_destroy(wq_accounts_t **self)
{
    if (!self || !*self)
        return;
    if ((*self)->items)
        sodium_memzero((*self)->items, (*self)->cap * sizeof(s_entry_t));
    free((*self)->items);
    free((*self)->path);
    free(*self);
    *self = NULL;
}

static s_entry_t *s_find(const wq_accounts_t *self, const char *name)
{
    for (size_t i = 0; i < self->count; i++)
        if (strcmp(self->items[i].pub.name, name) == 0)
            return &self->items[i];
    return NULL;
}

int wq_accounts_add(wq_accounts_t *self, const char *name, const char *password, const char *role,
                    const char *area, wq_err_t *err)
{
    int rc;
    if (!name || !s_name_ok(name))
        return wq_err_set(err, WQ_E_FORMAT, "name",
                          "an account name has 1 to %d bytes of UTF-8 and no control characters",
                          WQ_ACCOUNT_NAME_MAX);
    if (!role || !s_word_ok(role, WQ_ACCOUNT_ROLE_MAX))
        return wq_err_set(err, WQ_E_FORMAT, "role", "role '%s': 1 to %d letters, digits, _ or -",
                          role ? role : "", WQ_ACCOUNT_ROLE_MAX);
    if (!area || !s_word_ok(area, WQ_ACCOUNT_AREA_MAX))
        return wq_err_set(err, WQ_E_FORMAT, "area", "area '%s': 1 to %d letters, digits, _ or -",
                          area ? area : "", WQ_ACCOUNT_AREA_MAX);
    if ((rc = s_check_password(password, err)) != WQ_OK)
        return rc;
    if (s_find(self, name))
        return wq_err_set(err, WQ_E_STATE, "name", "account '%s' exists already", name);
    s_entry_t e;
    memset(&e, 0, sizeof e);
    strcpy(e.pub.name, name);
    strcpy(e.pub.role, role);
    strcpy(e.pub.area, area);
    if ((rc = s_hash(password, e.hash, err)) != WQ_OK)
        return rc;
    return s_push(self, &e, err);
}

int wq_accounts_set_password(wq_accounts_t *self, const char *name, const char *password,
                             wq_err_t *err)
{
    int rc;
    s_entry_t *e = s_find(self, name);
    if (!e)
        return wq_err_set(err, WQ_E_NOTFOUND, "name", "no account named '%s'", name);
    if ((rc = s_check_password(password, err)) != WQ_OK)
        return rc;
    return s_hash(password, e->hash, err);
}

int wq_accounts_remove(wq_accounts_t *self, const char *name, wq_err_t *err)
{
    s_entry_t *e = s_find(self, name);
    if (!e)
        return wq_err_set(err, WQ_E_NOTFOUND, "name", "no account named '%s'", name);
    size_t i = (size_t)(e - self->items);
    memmove(&self->items[i], &self->items[i + 1], (self->count - i - 1) * sizeof *e);
    self->count--;
    return WQ_OK;
}

int wq_accounts_save(wq_accounts_t *self, wq_err_t *err)
{
    int rc = WQ_OK;
    char *tmp = NULL;
    FILE *f = NULL;
    if (asprintf(&tmp, "%s.tmp", self->path) < 0) {
        tmp = NULL;
        return wq_err_set(err, WQ_E_NOMEM, NULL, "no memory");
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || fchmod(fd, 0600) != 0 || !(f = fdopen(fd, "w"))) {
        rc = wq_err_set(err, WQ_E_IO, "accounts", "cannot write %s: %s", tmp, strerror(errno));
        if (fd >= 0 && !f)
            close(fd);
        goto done;
    }
    for (size_t i = 0; i < self->count; i++) {
        const s_entry_t *e = &self->items[i];
        fprintf(f, "%s\t%s\t%s\t%s\n", e->pub.name, e->pub.role, e->pub.area, e->hash);
    }
    if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
        rc = wq_err_set(err, WQ_E_IO, "accounts", "cannot write %s: %s", tmp, strerror(errno));
        goto done;
    }
    int c = fclose(f);
    f = NULL;
    if (c != 0 || rename(tmp, self->path) != 0) {
        rc = wq_err_set(err, WQ_E_IO, "accounts", "cannot replace %s: %s", self->path,
                        strerror(errno));
        goto done;
    }
done:
    if (f)
        fclose(f);
    if (rc != WQ_OK)
        unlink(tmp);
    free(tmp);
    return rc;
}

int wq_accounts_verify(const wq_accounts_t *self, const char *name, const char *password,
                       wq_account_t *who, wq_err_t *err)
{
    const s_entry_t *e = name ? s_find(self, name) : NULL;
    size_t n = password ? strlen(password) : 0;
    const char *hash = e ? e->hash : self->dummy;
    bool ok = n <= WQ_PASSWORD_MAX &&
              crypto_pwhash_str_verify(hash, password ? password : "", n) == 0;
    if (!e || !ok)
        return wq_err_set(err, WQ_E_AUTH, "password", "wrong account name or password");
    if (who)
        *who = e->pub;
    return WQ_OK;
}

size_t wq_accounts_count(const wq_accounts_t *self)
{
    return self->count;
}

const wq_account_t *wq_accounts_at(const wq_accounts_t *self, size_t i)
{
    return i < self->count ? &self->items[i].pub : NULL;
}

bool wq_accounts_unchanged(const wq_accounts_t *a, const wq_accounts_t *b, const char *name)
{
    const s_entry_t *x = s_find(a, name), *y = s_find(b, name);
    return x && y && strcmp(x->pub.role, y->pub.role) == 0 &&
           strcmp(x->pub.area, y->pub.area) == 0 && strcmp(x->hash, y->hash) == 0;
}

const wq_account_t *wq_accounts_find(const wq_accounts_t *self, const char *name)
{
    s_entry_t *e = s_find(self, name);
    return e ? &e->pub : NULL;
}
