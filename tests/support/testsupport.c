/*  =========================================================================
    testsupport - process, directory and port plumbing for integration tests

    See testsupport.h. Failures here are set-up failures: they end the test
    with a message rather than letting it pass vacuously.
    =========================================================================
*/
#include "testsupport.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
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

/* ---- the guard: children, temp folders, signals, watchdog ------------

   Everything the cleanup needs lives in fixed static tables, so that the
   signal handlers can use it without allocating. Only the process that
   loaded this file (s_main_pid) cleans up: a forked child that has not
   yet exec'd must not kill its siblings or remove the folders. */

#define S_MAX_CHILDREN 128
#define S_MAX_LOGS 64
#define S_MAX_DIRS 32
#define S_PATH_MAX 512
#define S_TAIL_BYTES 2048

static pid_t s_main_pid;
static struct {
    pid_t pid;
    char name[64];
} s_children[S_MAX_CHILDREN];
static char s_logs[S_MAX_LOGS][S_PATH_MAX];
static char s_dirs[S_MAX_DIRS][S_PATH_MAX];
static volatile sig_atomic_t s_dying;
static long s_watchdog_s;

static void s_say(const char *text)
{
    size_t len = strlen(text);
    while (len > 0) {
        ssize_t n = write(2, text, len);
        if (n <= 0)
            return;
        text += n;
        len -= (size_t) n;
    }
}

static void s_say_long(long v)
{
    char buf[24];
    int i = (int) sizeof buf - 1;
    buf[i] = '\0';
    bool neg = v < 0;
    unsigned long u = neg ? (unsigned long) -v : (unsigned long) v;
    do {
        buf[--i] = (char) ('0' + u % 10);
        u /= 10;
    } while (u && i > 1);
    if (neg)
        buf[--i] = '-';
    s_say(buf + i);
}

/*  The last S_TAIL_BYTES of a log, from its first whole line. Only
    async-signal-safe calls: the watchdog uses it. */
static void s_say_tail(const char *path)
{
    static char buf[S_TAIL_BYTES + 1];
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return;
    off_t size = lseek(fd, 0, SEEK_END);
    off_t from = size > S_TAIL_BYTES ? size - S_TAIL_BYTES : 0;
    ssize_t n = lseek(fd, from, SEEK_SET) == from ? read(fd, buf, S_TAIL_BYTES) : -1;
    close(fd);
    if (n <= 0)
        return;
    buf[n] = '\0';
    char *text = buf;
    if (from > 0) {
        char *nl = strchr(buf, '\n');
        text = nl ? nl + 1 : buf;
    }
    s_say("---- tail of ");
    s_say(path);
    s_say(from > 0 ? " (last lines)\n" : "\n");
    s_say(text);
    if (n > 0 && buf[n - 1] != '\n')
        s_say("\n");
}

void ts_print_log_tails(void)
{
    for (int i = 0; i < S_MAX_LOGS; i++)
        if (s_logs[i][0])
            s_say_tail(s_logs[i]);
}

static void s_child_add(pid_t pid, const char *name)
{
    for (int i = 0; i < S_MAX_CHILDREN; i++)
        if (s_children[i].pid == 0) {
            const char *base = strrchr(name, '/');
            snprintf(s_children[i].name, sizeof s_children[i].name, "%s", base ? base + 1 : name);
            s_children[i].pid = pid;
            return;
        }
    /* Full: the child still dies with us through PR_SET_PDEATHSIG. */
}

static void s_child_forget(pid_t pid)
{
    for (int i = 0; i < S_MAX_CHILDREN; i++)
        if (s_children[i].pid == pid)
            s_children[i].pid = 0;
}

static void s_log_add(const char *path)
{
    int free_slot = -1;
    for (int i = 0; i < S_MAX_LOGS; i++) {
        if (strcmp(s_logs[i], path) == 0)
            return;
        if (!s_logs[i][0] && free_slot < 0)
            free_slot = i;
    }
    if (free_slot >= 0 && strlen(path) < S_PATH_MAX)
        memcpy(s_logs[free_slot], path, strlen(path) + 1);
}

/*  rm -rf path, without allocating (usable in a signal handler). */
static void s_remove_tree(const char *path)
{
    pid_t pid = fork();
    if (pid == 0) {
        char *const argv[] = {"rm", "-rf", "--", (char *) path, NULL};
        char *const env[] = {NULL};
        execve("/bin/rm", argv, env);
        _exit(127);
    }
    if (pid > 0)
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
}

/*  Kill every child still running (and its process group), reap it,
    remove every temp folder still registered. verbose: say what. */
static void s_cleanup(bool verbose)
{
    if (getpid() != s_main_pid)
        return;
    /* Our stderr may be a pipe to a ctest that is gone: saying so must not
       kill us (SIGPIPE) before the cleanup is done. */
    signal(SIGPIPE, SIG_IGN);
    for (int i = 0; i < S_MAX_CHILDREN; i++) {
        pid_t pid = s_children[i].pid;
        if (pid <= 0)
            continue;
        if (verbose) {
            s_say("testsupport: killing ");
            s_say(s_children[i].name);
            s_say(" (pid ");
            s_say_long(pid);
            s_say("), still running at the end of the test\n");
        }
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
    }
    for (int i = 0; i < S_MAX_CHILDREN; i++) {
        pid_t pid = s_children[i].pid;
        if (pid <= 0)
            continue;
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
        s_children[i].pid = 0;
    }
    bool keep = getenv("WANQI_KEEP_TMP") != NULL;
    for (int i = 0; i < S_MAX_DIRS; i++) {
        if (!s_dirs[i][0])
            continue;
        if (verbose) {
            s_say(keep ? "testsupport: keeping " : "testsupport: removing ");
            s_say(s_dirs[i]);
            s_say(keep ? " (WANQI_KEEP_TMP is set)\n"
                       : " left by a failed test (WANQI_KEEP_TMP=1 keeps it)\n");
        }
        if (!keep)
            s_remove_tree(s_dirs[i]);
        s_dirs[i][0] = '\0';
    }
}

void ts_cleanup(void)
{
    s_cleanup(true);
}

static void s_at_exit(void)
{
    s_cleanup(true);
}

/*  SIGTERM / SIGINT / SIGHUP (also sent by PR_SET_PDEATHSIG when ctest
    dies): clean up, then die of the same signal. SIGALRM: the watchdog. */
static void s_on_signal(int sig)
{
    if (getpid() != s_main_pid)
        _exit(128 + sig);
    if (s_dying)
        return;
    s_dying = 1;
    signal(SIGPIPE, SIG_IGN);   /* see s_cleanup */
    if (sig == SIGALRM) {
        s_say("\ntestsupport: WATCHDOG: this test is still running after ");
        s_say_long(s_watchdog_s);
        s_say(" s (WANQI_TEST_TIMEOUT): some wait has no deadline or a deadline is too long."
              " Logs of the programs it started:\n");
        ts_print_log_tails();
    } else {
        s_say("\ntestsupport: signal ");
        s_say_long(sig);
        s_say(" received: stopping the programs this test started\n");
    }
    s_cleanup(true);
    if (sig == SIGALRM)
        _exit(124);
    signal(sig, SIG_DFL);
    raise(sig);
}

/*  Folders of tests killed with SIGKILL (which nothing can catch): the
    next test to make a folder removes those whose owner is dead. The
    owner's pid is part of the name: wanqi-test-PID-XXXXXX. */
static void s_sweep_stale(void)
{
    DIR *d = opendir("/tmp");
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        long owner = 0;
        char rest[64];
        if (sscanf(e->d_name, "wanqi-test-%ld-%63s", &owner, rest) != 2 || owner <= 1)
            continue;
        if (kill((pid_t) owner, 0) == 0 || errno != ESRCH)
            continue;   /* alive (or not ours to judge) */
        char path[S_PATH_MAX];
        snprintf(path, sizeof path, "/tmp/%s", e->d_name);
        struct stat st;
        char keep[S_PATH_MAX + 16];
        snprintf(keep, sizeof keep, "%s/.wanqi-keep", path);
        if (lstat(path, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
            access(keep, F_OK) == 0)
            continue;
        fprintf(stderr, "testsupport: removing %s, left by test process %ld (gone)\n", path,
                owner);
        s_remove_tree(path);
    }
    closedir(d);
}

__attribute__((constructor)) static void s_guard_init(void)
{
    s_main_pid = getpid();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGALRM, &sa, NULL);
    /* If whatever started us (ctest, a shell) dies, even by SIGKILL, we
       get SIGTERM and clean up. If it died already, do so now. */
    pid_t parent = getppid();
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (parent == 1 || getppid() != parent)
        raise(SIGTERM);
    atexit(s_at_exit);
    const char *w = getenv("WANQI_TEST_TIMEOUT");
    if (w && atol(w) > 0) {
        s_watchdog_s = atol(w);
        alarm((unsigned) s_watchdog_s);
    }
}

char *ts_tmpdir(void)
{
    static bool swept;
    if (!swept) {
        swept = true;
        s_sweep_stale();
    }
    char *path = ts_strf("/tmp/wanqi-test-%ld-XXXXXX", (long) getpid());
    if (!mkdtemp(path))
        fail_msg("mkdtemp %s: %s", path, strerror(errno));
    if (getenv("WANQI_KEEP_TMP")) {
        char *keep = ts_strf("%s/.wanqi-keep", path);
        ts_write_file(keep, "kept because WANQI_KEEP_TMP was set\n");
        free(keep);
    }
    int i;
    for (i = 0; i < S_MAX_DIRS && s_dirs[i][0]; i++)
        ;
    if (i == S_MAX_DIRS || strlen(path) >= S_PATH_MAX)
        fail_msg("ts_tmpdir: more than %d temp folders at once", S_MAX_DIRS);
    memcpy(s_dirs[i], path, strlen(path) + 1);
    return path;
}

void ts_tmpdir_remove(char **path)
{
    if (!path || !*path)
        return;
    for (int i = 0; i < S_MAX_DIRS; i++)
        if (strcmp(s_dirs[i], *path) == 0)
            s_dirs[i][0] = '\0';
    for (int i = 0; i < S_MAX_LOGS; i++)
        if (strncmp(s_logs[i], *path, strlen(*path)) == 0)
            s_logs[i][0] = '\0';
    if (!getenv("WANQI_KEEP_TMP") && strncmp(*path, "/tmp/wanqi-test-", 16) == 0)
        s_remove_tree(*path);
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

static int64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*  fork + exec with the guard: the child leads its own process group (so
    the cleanup kills whatever it starts too), gets SIGKILL when this
    process dies (PR_SET_PDEATHSIG, checked against the fork/prctl race),
    and is registered before any signal can be handled. */
static pid_t s_spawn(char *const argv[], int in_fd, int out_fd, int err_fd, char *const extra_env[])
{
    char **env = s_env_with(extra_env);
    if (!env)
        fail_msg("out of memory");
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGHUP);
    sigaddset(&block, SIGALRM);
    sigprocmask(SIG_BLOCK, &block, &old);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        sigprocmask(SIG_SETMASK, &old, NULL);
        fail_msg("fork %s: %s", argv[0], strerror(e));
    }
    if (pid == 0) {
        setpgid(0, 0);
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
            _exit(127);
        /* exec keeps the mask and resets only the handled signals. */
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        signal(SIGALRM, SIG_DFL);
        signal(SIGPIPE, SIG_DFL);
        sigprocmask(SIG_SETMASK, &old, NULL);
        alarm(0);
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
    setpgid(pid, pid);  /* also here: no window where it shares our group */
    s_child_add(pid, argv[0]);
    sigprocmask(SIG_SETMASK, &old, NULL);
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
        s_log_add(log_path);
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
    /* Wall-clock deadline: on a loaded machine the sleeps run long. */
    int64_t deadline = s_now_ms() + timeout_ms;
    int nap = 1;
    for (;;) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) {
            s_child_forget(pid);
            if (WIFEXITED(st))
                return WEXITSTATUS(st);
            if (WIFSIGNALED(st))
                return 128 + WTERMSIG(st);
            return -1;
        }
        if (r < 0) {
            if (errno == EINTR)
                continue;
            s_child_forget(pid);
            return -1;
        }
        if (s_now_ms() >= deadline)
            return -1;
        ts_sleep_ms(nap);
        if (nap < 20)
            nap *= 2;
    }
}

int ts_stop(pid_t pid)
{
    if (pid <= 0)
        return -1;
    kill(pid, SIGTERM);
    int rc = ts_wait(pid, 10000);
    if (rc == -1) {
        kill(-pid, SIGKILL);
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
        fprintf(stderr, "testsupport: %s %s did not finish in %d s: killed\n", argv[0],
                argv[1] ? argv[1] : "", timeout_ms / 1000);
        kill(-pid, SIGKILL);
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
    /* A wall-clock deadline, not a count of polls: each cond() may itself
       run programs that take seconds on a loaded machine. */
    int64_t deadline = s_now_ms() + timeout_ms;
    for (;;) {
        if (cond(arg))
            return true;
        if (s_now_ms() >= deadline)
            return false;
        ts_sleep_ms(50);
    }
}

void ts_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = NULL;
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = NULL;
    va_end(ap);
    fprintf(stderr, "testsupport: FAILED: %s\n", msg ? msg : fmt);
    fflush(stderr);
    ts_print_log_tails();
    fail_msg("%s", msg ? msg : fmt);
    abort();    /* not reached: fail_msg leaves the test through longjmp */
}
