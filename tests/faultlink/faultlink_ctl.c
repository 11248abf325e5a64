/*  =========================================================================
    faultlink_ctl - test-side plumbing for wq-faultlink

    See faultlink_ctl.h. The link is started with --ready-file so that we
    learn its ephemeral ports without racing for them; each command uses its
    own short control connection (connect, write a line, read a line), so a
    test never shares a socket state with the proxy between commands.
    =========================================================================
*/
#include "faultlink_ctl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

#include "tests/support/testsupport.h"

#define FL_CTL_TIMEOUT_MS 10000

typedef struct {
    const char *path;
    pid_t pid;
    int status;  /* exit status if it already ended, else -1 */
} s_ready_t;

/*  Ready file there, or the process gone (no point waiting then). */
static bool s_ready(void *arg)
{
    s_ready_t *r = arg;
    if (access(r->path, R_OK) == 0)
        return true;
    r->status = ts_wait(r->pid, 0);
    return r->status != -1;
}

fl_link_t *fl_start(const char *dir, int target_port, char *const extra_args[])
{
    static int serial;
    fl_link_t *link = calloc(1, sizeof *link);
    if (!link)
        fail_msg("fl_start: out of memory");
    char *ready = ts_strf("%s/faultlink-%d-%d.ready", dir, (int) getpid(), ++serial);
    link->log_path = ts_strf("%s/faultlink-%d.log", dir, serial);
    link->target_port = target_port;
    char *target = ts_strf("127.0.0.1:%d", target_port);
    unlink(ready);

    size_t nextra = 0;
    while (extra_args && extra_args[nextra])
        nextra++;
    char **argv = calloc(nextra + 10, sizeof *argv);
    if (!argv)
        fail_msg("fl_start: out of memory");
    size_t k = 0;
    argv[k++] = (char *) ts_bin("wq-faultlink");
    argv[k++] = "--listen";
    argv[k++] = "127.0.0.1:0";
    argv[k++] = "--target";
    argv[k++] = target;
    argv[k++] = "--ready-file";
    argv[k++] = ready;
    for (size_t i = 0; i < nextra; i++)
        argv[k++] = extra_args[i];
    argv[k] = NULL;
    char *bin = strdup(argv[0]); /* ts_bin's buffer is reused by later calls */
    argv[0] = bin;
    link->pid = ts_spawn(argv, link->log_path, NULL);

    s_ready_t r = {ready, link->pid, -1};
    if (!ts_wait_until(s_ready, &r, FL_CTL_TIMEOUT_MS) || r.status != -1) {
        char *log = ts_read_file(link->log_path);
        fail_msg("wq-faultlink did not start (exit status %d, -1: still running); its log:\n%s",
                 r.status, log ? log : "");
    }
    char *text = ts_read_file(ready);
    if (!text || sscanf(text, "listen=%d control=%d", &link->port, &link->control_port) != 2)
        fail_msg("wq-faultlink ready file %s is malformed: '%s'", ready, text ? text : "");
    free(text);
    free(bin);
    free(argv);
    free(target);
    unlink(ready);
    free(ready);
    return link;
}

int fl_stop(fl_link_t **link)
{
    if (!link || !*link)
        return -1;
    int rc = ts_stop((*link)->pid);
    free((*link)->log_path);
    free(*link);
    *link = NULL;
    return rc;
}

static int s_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        fail_msg("socket: %s", strerror(errno));
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t) port);
    if (connect(fd, (struct sockaddr *) &a, sizeof a) != 0)
        fail_msg("connect to wq-faultlink control port %d: %s", port, strerror(errno));
    return fd;
}

__attribute__((format(printf, 2, 0))) static char *
s_vcmd(fl_link_t *link, const char *fmt, va_list ap)
{
    char line[512];
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    if (n < 0 || (size_t) n >= sizeof line - 1)
        fail_msg("fl_cmd: command too long");
    line[n++] = '\n';
    int fd = s_connect(link->control_port);
    if (send(fd, line, (size_t) n, MSG_NOSIGNAL) != n)
        fail_msg("fl_cmd: send to control port: %s", strerror(errno));
    char reply[2048];
    size_t len = 0;
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        int r = poll(&p, 1, FL_CTL_TIMEOUT_MS);
        if (r <= 0)
            fail_msg("fl_cmd '%.*s': no reply from wq-faultlink", n - 1, line);
        ssize_t got = recv(fd, reply + len, sizeof reply - 1 - len, 0);
        if (got <= 0)
            fail_msg("fl_cmd '%.*s': control connection closed without a reply", n - 1, line);
        len += (size_t) got;
        reply[len] = '\0';
        char *nl = strchr(reply, '\n');
        if (nl) {
            *nl = '\0';
            break;
        }
        if (len == sizeof reply - 1)
            fail_msg("fl_cmd: reply too long");
    }
    close(fd);
    char *out = strdup(reply);
    if (!out)
        fail_msg("fl_cmd: out of memory");
    return out;
}

char *fl_cmd(fl_link_t *link, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *reply = s_vcmd(link, fmt, ap);
    va_end(ap);
    return reply;
}

void fl_ok(fl_link_t *link, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *reply = s_vcmd(link, fmt, ap);
    va_end(ap);
    if (strncmp(reply, "ok", 2) != 0 || (reply[2] != '\0' && reply[2] != ' '))
        fail_msg("wq-faultlink refused a command: %s", reply);
    free(reply);
}

long long fl_reply_value(const char *reply, const char *key)
{
    size_t kl = strlen(key);
    for (const char *p = reply; (p = strstr(p, key)) != NULL; p += kl) {
        bool starts = p == reply || p[-1] == ' ';
        if (starts && p[kl] == '=')
            return strtoll(p + kl + 1, NULL, 10);
    }
    return -1;
}

long long fl_stat(fl_link_t *link, const char *name)
{
    char *reply = fl_cmd(link, "stats");
    long long v = fl_reply_value(reply, name);
    if (v < 0)
        fail_msg("wq-faultlink stats has no counter '%s': %s", name, reply);
    free(reply);
    return v;
}
