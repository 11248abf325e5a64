/*  =========================================================================
    testsupport - process, directory and port plumbing for integration tests

    See testsupport.h. Failures here are set-up failures: they end the test
    with a message rather than letting it pass vacuously.
    =========================================================================
*/
#include "testsupport.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

extern char **environ;

char *ts_strf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        fail_msg("ts_strf: out of memory");
    return s;
}

char *ts_tmpdir(void)
{
    char tmpl[] = "/tmp/wanqi-test-XXXXXX";
    if (!mkdtemp(tmpl))
        fail_msg("mkdtemp: %s", strerror(errno));
    return strdup(tmpl);
}

void ts_tmpdir_remove(char **path)
{
    if (!path || !*path)
        return;
    if (!getenv("WANQI_KEEP_TMP") && strncmp(*path, "/tmp/wanqi-test-", 16) == 0) {
        char *argv[] = {"rm", "-rf", *path, NULL};
        pid_t pid = fork();
        if (pid == 0) {
            execvp("rm", argv);
            _exit(127);
        }
        if (pid > 0)
            waitpid(pid, NULL, 0);
    }
    free(*path);
    *path = NULL;
}

const char *ts_bin(const char *program)
{
    static __thread char buf[4][1024];
    static __thread int next;
    const char *dir = getenv("WANQI_BIN_DIR");
    if (!dir)
        fail_msg("WANQI_BIN_DIR is not set: run this test through ctest");
    char *b = buf[next++ % 4];
    snprintf(b, sizeof buf[0], "%s/%s", dir, program);
    if (access(b, X_OK) != 0)
        fail_msg("program %s not found or not executable (build it first)", b);
    return b;
}

int ts_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        fail_msg("socket: %s", strerror(errno));
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof a;
    if (bind(fd, (struct sockaddr *) &a, sizeof a) != 0 || getsockname(fd, (struct sockaddr *) &a, &len) != 0)
        fail_msg("bind/getsockname on 127.0.0.1: %s", strerror(errno));
    int port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static char **s_env_with(char *const extra_env[])
{
    size_t n = 0, m = 0;
    while (environ[n])
        n++;
    while (extra_env && extra_env[m])
        m++;
    char **env = calloc(n + m + 1, sizeof *env);
    if (!env)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        bool overridden = false;
        const char *eq = strchr(environ[i], '=');
        size_t keylen = eq ? (size_t) (eq - environ[i]) : strlen(environ[i]);
        for (size_t j = 0; j < m; j++)
            if (strncmp(extra_env[j], environ[i], keylen) == 0 && extra_env[j][keylen] == '=')
                overridden = true;
        if (!overridden)
            env[k++] = environ[i];
    }
    for (size_t j = 0; j < m; j++)
        env[k++] = extra_env[j];
    env[k] = NULL;
    return env;
}

static pid_t s_spawn(char *const argv[], int in_fd, int out_fd, int err_fd, char *const extra_env[])
{
    char **env = s_env_with(extra_env);
    if (!env)
        fail_msg("out of memory");
    pid_t pid = fork();
    if (pid < 0)
        fail_msg("fork: %s", strerror(errno));
    if (pid == 0) {
        setpgid(0, 0);
        if (in_fd >= 0)
            dup2(in_fd, 0);
        if (out_fd >= 0)
            dup2(out_fd, 1);
        if (err_fd >= 0)
            dup2(err_fd, 2);
        execve(argv[0], argv, env);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    free(env);
    return pid;
}

pid_t ts_spawn(char *const argv[], const char *log_path, char *const extra_env[])
{
    int fd = -1;
    if (log_path) {
        fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd < 0)
            fail_msg("open %s: %s", log_path, strerror(errno));
    }
    int devnull = open("/dev/null", O_RDONLY);
    pid_t pid = s_spawn(argv, devnull, fd, fd, extra_env);
    if (fd >= 0)
        close(fd);
    if (devnull >= 0)
        close(devnull);
    return pid;
}

void ts_kill(pid_t pid, int sig)
{
    if (pid > 0)
        kill(pid, sig);
}

int ts_wait(pid_t pid, int timeout_ms)
{
    if (pid <= 0)
        return -1;
    for (int waited = 0;; waited += 10) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) {
            if (WIFEXITED(st))
                return WEXITSTATUS(st);
            if (WIFSIGNALED(st))
                return 128 + WTERMSIG(st);
            return -1;
        }
        if (r < 0)
            return -1;
        if (waited >= timeout_ms)
            return -1;
        ts_sleep_ms(10);
    }
}

int ts_stop(pid_t pid)
{
    if (pid <= 0)
        return -1;
    kill(pid, SIGTERM);
    int rc = ts_wait(pid, 10000);
    if (rc == -1) {
        kill(pid, SIGKILL);
        rc = ts_wait(pid, 5000);
    }
    return rc;
}

static char *s_slurp_fd(int fd)
{
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    if (!buf)
        return NULL;
    lseek(fd, 0, SEEK_SET);
    for (;;) {
        if (len + 1024 > cap) {
            cap *= 2;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                return NULL;
            }
            buf = nb;
        }
        ssize_t n = read(fd, buf + len, cap - len - 1);
        if (n <= 0)
            break;
        len += (size_t) n;
    }
    buf[len] = '\0';
    return buf;
}

int ts_run(char *const argv[], const char *in_path, char **out, char **err_out, int timeout_ms,
           char *const extra_env[])
{
    /* Temporary files rather than pipes: no deadlock on large outputs. */
    char out_tmpl[] = "/tmp/wanqi-ts-out-XXXXXX", err_tmpl[] = "/tmp/wanqi-ts-err-XXXXXX";
    int out_fd = mkstemp(out_tmpl), err_fd = mkstemp(err_tmpl);
    if (out_fd < 0 || err_fd < 0)
        fail_msg("mkstemp: %s", strerror(errno));
    unlink(out_tmpl);
    unlink(err_tmpl);
    int in_fd = open(in_path ? in_path : "/dev/null", O_RDONLY);
    if (in_fd < 0)
        fail_msg("open %s: %s", in_path, strerror(errno));
    pid_t pid = s_spawn(argv, in_fd, out_fd, err_fd, extra_env);
    close(in_fd);
    int rc = ts_wait(pid, timeout_ms);
    if (rc == -1) {
        kill(pid, SIGKILL);
        ts_wait(pid, 5000);
    }
    if (out)
        *out = s_slurp_fd(out_fd);
    if (err_out)
        *err_out = s_slurp_fd(err_fd);
    close(out_fd);
    close(err_fd);
    return rc;
}

void ts_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        fail_msg("fopen %s: %s", path, strerror(errno));
    fputs(text, f);
    if (fclose(f) != 0)
        fail_msg("write %s: %s", path, strerror(errno));
}

char *ts_read_file(const char *path)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return NULL;
    char *s = s_slurp_fd(fd);
    close(fd);
    return s;
}

void ts_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long) (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

bool ts_wait_until(bool (*cond)(void *arg), void *arg, int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms; waited += 50) {
        if (cond(arg))
            return true;
        ts_sleep_ms(50);
    }
    return cond(arg);
}
