/*  =========================================================================
    peers - the collector's authorized-peers file (see peers.h)

    A deliberately plain text file that an operator can read, diff and back
    up: `wanqi-collector authorize` appends to it, the collector reads it at
    start and on SIGHUP, and the ZAP handler (zap.h) is fed from it. The
    parser is strict: a bad line stops the load with its line number, so a
    typo never silently locks a county out or lets a wrong key in.
    =========================================================================
*/
#include "collector/peers.h"
#include "common/i18n.h"
#include "common/division.h"
#include "proto/curve.h"

#include <czmq.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

struct wq_peers_t {
    wq_peer_t *items;
    size_t count;
    size_t cap;
};

static const char s_header[] =
    "# wanqi-collector authorized peers. One line per peer; lines starting with '#' are\n"
    "# comments ('#' inside a line is part of a key: Z85 keys may contain it).\n"
    "# Added by `wanqi-collector authorize`; reload a running collector with SIGHUP.\n"
    "#\n"
    "#   agent   PUBLIC_KEY_Z85  AGENT_ID  COUNTY_CODE\n"
    "#   client  PUBLIC_KEY_Z85  NAME\n";

static int
s_name_check(const char *name, wq_err_t *err)
{
    size_t n = strlen(name);
    if (n == 0 || n > WQ_PEER_NAME_MAX)
        return wq_err_set(err, WQ_E_FORMAT, "name", _("client name \"%s\" must have 1..%d characters"),
                          name, WQ_PEER_NAME_MAX);
    for (const char *p = name; *p; p++)
        if (!(isalnum((unsigned char) *p) || *p == '_' || *p == '.' || *p == '@' || *p == '-'))
            return wq_err_set(err, WQ_E_FORMAT, "name",
                              _("client name \"%s\": character '%c' not allowed (use A-Z a-z 0-9 _ . @ -)"),
                              name, *p);
    return WQ_OK;
}

int
wq_peer_check(const wq_peer_t *peer, wq_err_t *err)
{
    if (wq_curve_key_check(peer->key, NULL) != WQ_OK)
        return wq_err_set(err, WQ_E_FORMAT, "key",
                          _("\"%.60s\" is not a CURVE public key (40 Z85 characters)"), peer->key);
    if (peer->kind == WQ_PEER_AGENT) {
        int rc = wq_agent_id_check(peer->id, err);
        if (rc != WQ_OK)
            return rc;
        /* Any county-level code valid for the campaign: today's, or a 2019
           code retired in 2020 (an agent may still hold 2019 records). */
        rc = wq_division_check_county(peer->county, "2019-01-01", err);
        if (rc != WQ_OK) {
            if (err)
                snprintf(err->field, sizeof err->field, "county");
            return rc;
        }
        return WQ_OK;
    }
    if (peer->kind == WQ_PEER_CLIENT)
        return s_name_check(peer->id, err);
    return wq_err_set(err, WQ_E_FORMAT, "kind", _("peer kind must be \"agent\" or \"client\""));
}

static int
s_push(wq_peers_t *self, const wq_peer_t *peer)
{
    if (self->count == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 16;
        wq_peer_t *items = realloc(self->items, cap * sizeof *items);
        if (!items)
            return WQ_E_NOMEM;
        self->items = items;
        self->cap = cap;
    }
    self->items[self->count++] = *peer;
    return WQ_OK;
}

/*  Duplicate of peer (same key; same agent id; same client name) already in
    self, or NULL. */
static const wq_peer_t *
s_duplicate(const wq_peers_t *self, const wq_peer_t *peer, const char **what)
{
    for (size_t i = 0; i < self->count; i++) {
        const wq_peer_t *p = &self->items[i];
        if (strcmp(p->key, peer->key) == 0) {
            *what = "key";
            return p;
        }
        if (p->kind == peer->kind && strcmp(p->id, peer->id) == 0) {
            *what = peer->kind == WQ_PEER_AGENT ? "agent id" : "client name";
            return p;
        }
    }
    return NULL;
}

/*  Parse one non-comment line into peer. Returns WQ_OK or an error whose
    text says what is wrong (the caller adds path and line). */
static int
s_parse_line(char *line, wq_peer_t *peer, wq_err_t *err)
{
    char *fields[5] = {0};
    size_t n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(line, " \t\r\n", &save); tok; tok = strtok_r(NULL, " \t\r\n", &save)) {
        if (n == 5)
            return wq_err_set(err, WQ_E_FORMAT, NULL, _("too many fields"));
        fields[n++] = tok;
    }
    memset(peer, 0, sizeof *peer);
    if (n > 0 && strcmp(fields[0], "agent") == 0) {
        if (n != 4)
            return wq_err_set(err, WQ_E_FORMAT, NULL,
                              _("an agent line has 4 fields: agent KEY AGENT_ID COUNTY (found %zu)"), n);
        peer->kind = WQ_PEER_AGENT;
    } else if (n > 0 && strcmp(fields[0], "client") == 0) {
        if (n != 3)
            return wq_err_set(err, WQ_E_FORMAT, NULL,
                              _("a client line has 3 fields: client KEY NAME (found %zu)"), n);
        peer->kind = WQ_PEER_CLIENT;
    } else
        return wq_err_set(err, WQ_E_FORMAT, NULL, _("a line must start with \"agent\" or \"client\""));
    if (strlen(fields[1]) > WQ_KEY_Z85_LEN || strlen(fields[2]) > WQ_PEER_NAME_MAX
        || (n == 4 && strlen(fields[3]) > 6))
        return wq_err_set(err, WQ_E_FORMAT, NULL, _("a field is too long"));
    strcpy(peer->key, fields[1]);
    strcpy(peer->id, fields[2]);
    if (n == 4)
        strcpy(peer->county, fields[3]);
    return wq_peer_check(peer, err);
}

/*  Parse the whole stream f into a new list. */
static int
s_parse(FILE *f, const char *path, wq_peers_t **out, wq_err_t *err)
{
    int rc = WQ_OK;
    char *line = NULL;
    size_t linecap = 0;
    int lineno = 0;
    wq_peers_t *self = calloc(1, sizeof *self);
    if (!self) {
        rc = wq_err_set(err, WQ_E_NOMEM, NULL, _("out of memory reading %s"), path);
        goto fail;
    }
    ssize_t len;
    errno = 0;
    while ((len = getline(&line, &linecap, f)) >= 0) {
        lineno++;
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '#' || *p == '\n' || *p == '\r' || *p == 0)
            continue;
        wq_peer_t peer;
        wq_err_t lerr;
        wq_err_clear(&lerr);
        if (s_parse_line(p, &peer, &lerr) != WQ_OK) {
            rc = wq_err_set(err, WQ_E_CONFIG, lerr.field, _("%s line %d: %s; fix or remove that line"), path,
                            lineno, lerr.text);
            goto fail;
        }
        peer.line = lineno;
        const char *what = NULL;
        const wq_peer_t *dup = s_duplicate(self, &peer, &what);
        if (dup) {
            rc = wq_err_set(err, WQ_E_CONFIG, "peers", _("%s line %d: %s already listed on line %d"), path, lineno,
                            what, dup->line);
            goto fail;
        }
        if (s_push(self, &peer) != WQ_OK) {
            rc = wq_err_set(err, WQ_E_NOMEM, NULL, _("out of memory reading %s"), path);
            goto fail;
        }
    }
    if (ferror(f)) {
        rc = wq_err_set(err, WQ_E_IO, "peers", _("cannot read %s: %s"), path, strerror(errno));
        goto fail;
    }
    free(line);
    *out = self;
    return WQ_OK;
fail:
    free(line);
    wq_peers_destroy(&self);
    return rc;
}

int
wq_peers_load(const char *path, wq_peers_t **out, wq_err_t *err)
{
    *out = NULL;
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno == ENOENT) {
            *out = calloc(1, sizeof **out);
            return *out ? WQ_OK : wq_err_set(err, WQ_E_NOMEM, NULL, _("out of memory"));
        }
        return wq_err_set(err, WQ_E_IO, "peers", _("cannot open %s: %s"), path, strerror(errno));
    }
    /* Whoever can write the peers file decides who may write for which
       county: refuse a file others may write (issue 10). */
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || (st.st_mode & (S_IWGRP | S_IWOTH))) {
        fclose(f);
        return wq_err_set(err, WQ_E_CONFIG, "peers",
                          _("%s may be written by group or others (mode %03o): it decides which key "
                          "writes for which county; run chmod 600 %s"), path,
                          (unsigned) (st.st_mode & 0777), path);
    }
    int rc = s_parse(f, path, out, err);
    fclose(f);
    return rc;
}

void
wq_peers_destroy(wq_peers_t **self)
{
    if (!self || !*self)
        return;
    free((*self)->items);
    free(*self);
    *self = NULL;
}

size_t
wq_peers_count(const wq_peers_t *self)
{
    return self ? self->count : 0;
}

const wq_peer_t *
wq_peers_at(const wq_peers_t *self, size_t i)
{
    return self && i < self->count ? &self->items[i] : NULL;
}

const wq_peer_t *
wq_peers_find_key(const wq_peers_t *self, const char *key)
{
    if (!self || !key)
        return NULL;
    for (size_t i = 0; i < self->count; i++)
        if (strcmp(self->items[i].key, key) == 0)
            return &self->items[i];
    return NULL;
}

const wq_peer_t *
wq_peers_find_agent(const wq_peers_t *self, const char *agent)
{
    if (!self || !agent)
        return NULL;
    for (size_t i = 0; i < self->count; i++)
        if (self->items[i].kind == WQ_PEER_AGENT && strcmp(self->items[i].id, agent) == 0)
            return &self->items[i];
    return NULL;
}

int
wq_peers_create(const char *path, wq_err_t *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return wq_err_set(err, WQ_E_IO, "peers", _("cannot create %s: %s"), path, strerror(errno));
    int rc = WQ_OK;
    size_t n = sizeof s_header - 1;
    if (write(fd, s_header, n) != (ssize_t) n || fsync(fd) != 0)
        rc = wq_err_set(err, WQ_E_IO, "peers", _("cannot write %s: %s"), path, strerror(errno));
    close(fd);
    return rc;
}

int
wq_peers_append(const char *path, const wq_peer_t *peer, wq_err_t *err)
{
    int rc = wq_peer_check(peer, err);
    if (rc != WQ_OK)
        return rc;
    wq_peers_t *peers = NULL;
    FILE *f = NULL;
    char *line = NULL;
    int fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = wq_err_set(err, WQ_E_IO, "peers", _("cannot open %s: %s"), path, strerror(errno));
        goto fail;
    }
    if (flock(fd, LOCK_EX) != 0) {
        rc = wq_err_set(err, WQ_E_IO, "peers", _("cannot lock %s: %s"), path, strerror(errno));
        goto fail;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        rc = wq_err_set(err, WQ_E_IO, "peers", _("cannot stat %s: %s"), path, strerror(errno));
        goto fail;
    }
    if (st.st_size == 0) {
        size_t n = sizeof s_header - 1;
        if (write(fd, s_header, n) != (ssize_t) n) {
            rc = wq_err_set(err, WQ_E_IO, "peers", _("cannot write %s: %s"), path, strerror(errno));
            goto fail;
        }
    }
    /* Read what is there through a separate descriptor on the same file
       (our lock is held on fd, and readers take none). */
    f = fopen(path, "r");
    if (!f) {
        rc = wq_err_set(err, WQ_E_IO, "peers", _("cannot read %s: %s"), path, strerror(errno));
        goto fail;
    }
    rc = s_parse(f, path, &peers, err);
    if (rc != WQ_OK)
        goto fail;
    const char *what = NULL;
    const wq_peer_t *dup = s_duplicate(peers, peer, &what);
    if (dup) {
        rc = wq_err_set(err, WQ_E_DUPFIELD, what, _("%s already authorized in %s line %d (%s %s); nothing added"),
                        what, path, dup->line, dup->kind == WQ_PEER_AGENT ? "agent" : "client", dup->id);
        goto fail;
    }
    line = peer->kind == WQ_PEER_AGENT ? zsys_sprintf("agent\t%s\t%s\t%s\n", peer->key, peer->id, peer->county)
                                       : zsys_sprintf("client\t%s\t%s\n", peer->key, peer->id);
    if (!line) {
        rc = wq_err_set(err, WQ_E_NOMEM, NULL, _("out of memory"));
        goto fail;
    }
    size_t n = strlen(line);
    if (write(fd, line, n) != (ssize_t) n || fsync(fd) != 0) {
        rc = wq_err_set(err, WQ_E_IO, "peers", _("cannot append to %s: %s"), path, strerror(errno));
        goto fail;
    }
    rc = WQ_OK;
fail:
    zstr_free(&line);
    if (f)
        fclose(f);
    wq_peers_destroy(&peers);
    if (fd >= 0)
        close(fd);
    return rc;
}
