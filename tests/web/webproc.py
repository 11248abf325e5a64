"""webproc - children and temp folders of a Python web test die with it.

A minimal stand-in for tests/support/wqproc.py (being added by another branch;
same names: Guard, tmpdir, start, stop, wait_until, cleanup), so that switching
to it is a one-line change. Every child leads its own process group and gets
SIGKILL when this process dies (PR_SET_PDEATHSIG); at exit, on SIGTERM/SIGINT
and when the `with` block ends, every child still running is killed with its
group and every temp folder is removed (WANQI_KEEP_TMP=1 keeps them).
"""
import atexit
import ctypes
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)


class WaitTimeout(AssertionError):
    pass


def _tail(path, nbytes=1500):
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - nbytes))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


class Guard:
    def __init__(self):
        self.children = []
        self.logs = []
        self.dirs = []
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, self._on_signal)
        _libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
        atexit.register(self.cleanup)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()
        return False

    def _on_signal(self, sig, frame):
        self.cleanup()
        os._exit(128 + sig)

    def tmpdir(self):
        d = tempfile.mkdtemp(prefix="wanqi-test-%d-" % os.getpid(), dir="/tmp")
        self.dirs.append(d)
        return d

    def start(self, argv, log=None, env=None, **popen_args):
        parent = os.getpid()

        def child():
            os.setsid()
            _libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
            if os.getppid() != parent:
                os._exit(1)

        full_env = dict(os.environ)
        full_env.update(env or {})
        out = open(log, "ab") if log else None
        if out:
            self.logs.append(log)
            popen_args.setdefault("stdout", out)
            popen_args.setdefault("stderr", subprocess.STDOUT)
        try:
            p = subprocess.Popen(argv, preexec_fn=child, env=full_env, **popen_args)
        finally:
            if out:
                out.close()
        self.children.append(p)
        return p

    def stop(self, p, timeout=10):
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        return p.returncode

    def wait_until(self, cond, timeout, what):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = cond()
            if last:
                return last
            time.sleep(0.1)
        logs = "".join("\n--- %s ---\n%s" % (l, _tail(l)) for l in self.logs)
        raise WaitTimeout("waited %ss for %s; last saw %r%s" % (timeout, what, last, logs))

    def cleanup(self):
        for p in self.children:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait()
        self.children = []
        if not os.environ.get("WANQI_KEEP_TMP"):
            for d in self.dirs:
                shutil.rmtree(d, ignore_errors=True)
        self.dirs = []
