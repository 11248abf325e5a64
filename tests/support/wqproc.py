"""wqproc - the process guard of tests/support/testsupport.h, for Python tests.

Python tests (e.g. the browser tests) that start wanqi programs, chromedriver
or anything else use this module, so that every child dies with the test,
however the test dies, and no temp folder is left behind:

    from wqproc import Guard          # tests/support on sys.path
    with Guard() as g:
        tmp = g.tmpdir()              # /tmp/wanqi-test-PID-XXXXXX, removed at the end
        p = g.start([bin, "run", "--dir", d], log=tmp + "/collector.log")
        g.wait_until(lambda: port_open(5571), 30, "the collector's query port")
        ...
        g.stop(p)                     # SIGTERM, then SIGKILL after 10 s; returns the status

What it guarantees (the same as the C guard):
  - each child leads its own process group and gets SIGKILL when this
    process dies (PR_SET_PDEATHSIG through ctypes, checked against the race
    with getppid), so `kill -9` of the test or of ctest leaves nothing;
  - at exit, on SIGTERM/SIGINT/SIGHUP, and when the guard's `with` block
    ends, every child still running is killed with its process group and
    every temp folder is removed (WANQI_KEEP_TMP=1 keeps them);
  - this process gets SIGTERM when its parent (ctest) dies;
  - WANQI_TEST_TIMEOUT=N (set by tests/CMakeLists.txt) is a watchdog: after
    N s the test prints the tail of every child's log, cleans up and exits 124;
  - wait_until has a wall-clock deadline and, when it expires, fails saying
    what it waited for, what it saw last and the tail of every child's log.

Only the standard library is used.
"""

import atexit
import ctypes
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)


def _die_with_parent(sig, parent):
    """In a child (or ourselves): get sig when parent dies; if it already
    did (we were re-parented), die now."""
    if _libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
        return False
    return os.getppid() == parent


def _tail(path, nbytes=2048):
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - nbytes))
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return ""
    if size > nbytes and "\n" in text:
        text = text.split("\n", 1)[1]
    return text


# ---- what most tests start with -------------------------------------------


def bin_path(name):
    """A wanqi program of the build under test ($WANQI_BIN_DIR, set by
    ctest); exits saying so when the variable is not set."""
    d = os.environ.get("WANQI_BIN_DIR") or sys.exit("WANQI_BIN_DIR is not set (run through ctest)")
    return os.path.join(d, name)


def run_ok(argv, stdin=None, timeout=180):
    """Run a program to completion (one call: init, authorize, status ...)
    with a deadline of timeout s; its stdout (text). AssertionError with its
    exit status and output when it fails."""
    p = subprocess.run(argv, input=(stdin or "").encode(), capture_output=True, timeout=timeout)
    if p.returncode != 0:
        raise AssertionError("%s failed (%d): %s %s" % (" ".join(argv), p.returncode,
                                                       p.stdout.decode(errors="replace"),
                                                       p.stderr.decode(errors="replace")))
    return p.stdout.decode()


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class WaitTimeout(AssertionError):
    """A wait_until whose deadline passed."""


class Guard:
    """Children and temp folders of one test process. Use one per process
    (a module-level instance is fine); it is also a context manager."""

    def __init__(self):
        self.children = []      # Popen objects
        self.logs = []
        self.dirs = []
        self._main = os.getpid()
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, self._on_signal)
        parent = os.getppid()
        if not _die_with_parent(signal.SIGTERM, parent):
            self._on_signal(signal.SIGTERM, None)
        atexit.register(self.cleanup)
        timeout = int(os.environ.get("WANQI_TEST_TIMEOUT", "0") or 0)
        if timeout > 0:
            self._watchdog_s = timeout
            signal.signal(signal.SIGALRM, self._on_watchdog)
            signal.alarm(timeout)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()
        return False

    # ---- temp folders ---------------------------------------------------

    def tmpdir(self):
        """A new /tmp/wanqi-test-PID-XXXXXX, removed by cleanup(). Folders
        of dead test processes are swept first (as the C guard does)."""
        if not self.dirs:
            _sweep_stale()
        d = tempfile.mkdtemp(prefix="wanqi-test-%d-" % os.getpid(), dir="/tmp")
        if os.environ.get("WANQI_KEEP_TMP"):
            with open(os.path.join(d, ".wanqi-keep"), "w") as f:
                f.write("kept because WANQI_KEEP_TMP was set\n")
        self.dirs.append(d)
        return d

    # ---- processes ------------------------------------------------------

    def start(self, argv, log=None, env=None, **popen_args):
        """Start argv guarded; stdout+stderr appended to log (a path) if given.
        env: extra variables added to os.environ. Returns the Popen."""
        parent = os.getpid()

        def preexec():
            os.setpgid(0, 0)
            if not _die_with_parent(signal.SIGKILL, parent):
                os._exit(127)

        full_env = dict(os.environ)
        full_env.pop("WANQI_TEST_TIMEOUT", None)
        if env:
            full_env.update(env)
        out = None
        if log:
            out = open(log, "ab")
            self.logs.append(log)
            popen_args.setdefault("stdout", out)
            popen_args.setdefault("stderr", subprocess.STDOUT)
        popen_args.setdefault("stdin", subprocess.DEVNULL)
        try:
            p = subprocess.Popen(argv, env=full_env, preexec_fn=preexec, **popen_args)
        finally:
            if out:
                out.close()
        self.children.append(p)
        return p

    def stop(self, p, grace=10):
        """SIGTERM, then SIGKILL (with its group) after grace seconds.
        Returns the exit status (negative: killed by that signal)."""
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(grace)
            except subprocess.TimeoutExpired:
                _killpg(p.pid)
                p.wait()
        if p in self.children:
            self.children.remove(p)
        return p.returncode

    def run(self, argv, timeout, **kw):
        """subprocess.run, guarded, with a deadline (seconds): on expiry the
        child and its group are killed and WaitTimeout is raised."""
        kw.setdefault("stdout", subprocess.PIPE)
        kw.setdefault("stderr", subprocess.PIPE)
        p = self.start(argv, **kw)
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _killpg(p.pid)
            p.communicate()
            self.children.remove(p)
            self.fail("%s did not finish within %s s" % (" ".join(map(str, argv[:2])), timeout))
        self.children.remove(p)
        return subprocess.CompletedProcess(argv, p.returncode, out, err)

    # ---- waiting --------------------------------------------------------

    def wait_until(self, cond, timeout, what, seen=None):
        """Call cond() every 50 ms until it is true or timeout seconds (wall
        clock) have passed; then fail with what was awaited, seen() (the
        figures last seen, if given) and the tail of every child's log."""
        deadline = time.monotonic() + timeout
        while True:
            if cond():
                return
            if time.monotonic() >= deadline:
                last = (": last seen " + str(seen())) if seen else ""
                self.fail("waited %s s for %s%s" % (timeout, what, last))
            time.sleep(0.05)

    def fail(self, message):
        sys.stderr.write("wqproc: FAILED: %s\n" % message)
        self.print_log_tails()
        raise WaitTimeout(message)

    def print_log_tails(self):
        for log in self.logs:
            text = _tail(log)
            if text:
                sys.stderr.write("---- tail of %s\n%s\n" % (log, text.rstrip("\n")))
        sys.stderr.flush()

    # ---- the end --------------------------------------------------------

    def cleanup(self):
        """Kill every child still running (and its group), remove the temp
        folders. Idempotent; only in the process that made the guard."""
        if os.getpid() != self._main:
            return
        for p in self.children:
            if p.poll() is None:
                sys.stderr.write("wqproc: killing %s (pid %d), still running at the end\n"
                                 % (os.path.basename(str(p.args[0])), p.pid))
                _killpg(p.pid)
        for p in self.children:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                pass
        self.children = []
        keep = bool(os.environ.get("WANQI_KEEP_TMP"))
        for d in self.dirs:
            if keep:
                sys.stderr.write("wqproc: keeping %s (WANQI_KEEP_TMP is set)\n" % d)
            else:
                shutil.rmtree(d, ignore_errors=True)
        self.dirs = []

    def _on_signal(self, sig, frame):
        sys.stderr.write("\nwqproc: signal %d received: stopping the programs this test started\n"
                         % sig)
        self.cleanup()
        signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)

    def _on_watchdog(self, sig, frame):
        sys.stderr.write("\nwqproc: WATCHDOG: this test is still running after %d s "
                         "(WANQI_TEST_TIMEOUT): some wait has no deadline or too long a one\n"
                         % self._watchdog_s)
        self.print_log_tails()
        self.cleanup()
        os._exit(124)


def _killpg(pid):
    for target in (-pid, pid):
        try:
            os.kill(target, signal.SIGKILL)
        except OSError:
            pass


def _sweep_stale():
    """Remove /tmp/wanqi-test-PID-* folders whose PID is gone (tests killed
    by SIGKILL), unless they hold .wanqi-keep."""
    for name in os.listdir("/tmp"):
        m = re.match(r"wanqi-test-(\d+)-", name)
        if not m:
            continue
        path = os.path.join("/tmp", name)
        try:
            os.kill(int(m.group(1)), 0)
            continue            # alive
        except ProcessLookupError:
            pass
        except OSError:
            continue
        try:
            st = os.lstat(path)
        except OSError:
            continue
        if (not os.path.isdir(path) or st.st_uid != os.geteuid()
                or os.path.exists(os.path.join(path, ".wanqi-keep"))):
            continue
        sys.stderr.write("wqproc: removing %s, left by test process %s (gone)\n"
                         % (path, m.group(1)))
        shutil.rmtree(path, ignore_errors=True)
