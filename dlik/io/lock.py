"""One run per results file: a lock file naming its holder, freed by the kernel when it dies.

The lock is `flock` on `<results>.lock` (which holds the holder's pid, host, start time and
command). A run killed with -9 leaves the file but not the flock, so the next run takes it
over; where flock is unsupported the pid is checked instead (same host only).
"""

from __future__ import annotations

import errno
import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # not POSIX: pid check only
    fcntl = None

UNSUPPORTED = {errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL}
_HELD: dict[str, int] = {}  # lock path -> fd held by this process (re-entrant)


class LockHeld(RuntimeError):
    """Another running dlik process writes the same results file."""


def lock_path(results: str | Path) -> Path:
    """Return the lock file of a results CSV (`results.csv` -> `results.csv.lock`)."""
    results = Path(results)
    return results.with_name(results.name + ".lock")


def _read(path: Path) -> dict:
    try:
        return json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        return {}


def _describe(info: dict) -> str:
    if not info:
        return "holder unknown"
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(info.get("time", 0)))
    return (f"pid {info.get('pid')} on {info.get('host')}, since {when}: "
            f"{info.get('command', '?')}")


def _alive(info: dict) -> bool:
    """Return True when info names a process that may still run (another host: assume so)."""
    pid = info.get("pid")
    if not isinstance(pid, int):
        return False
    if info.get("host") != socket.gethostname():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return pid != os.getpid()


def _refuse(path: Path, info: dict) -> LockHeld:
    results = path.with_name(path.name[: -len(".lock")])
    # the advice first: a refusal is cut to one line of 200 characters
    return LockHeld(
        f"run_name=NAME writes elsewhere: {results} is being written by another dlik run "
        f"({_describe(info)}); or wait for it to finish. If no such run exists (e.g. it ran "
        f"on another host and died), delete {path}")


def _acquire(path: Path, info: dict) -> int:
    """Return an fd holding the lock at path, raising LockHeld when a live run holds it."""
    for _ in range(20):
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if fcntl is None:
                raise OSError(errno.ENOSYS, "no fcntl")
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise _refuse(path, _read(path)) from None
        except OSError as exc:
            if exc.errno not in UNSUPPORTED:
                os.close(fd)
                raise
            if _alive(_read(path)):  # no flock here: trust a live pid on this host
                os.close(fd)
                raise _refuse(path, _read(path)) from None
        try:  # a run that just finished may have unlinked the file we opened: retry
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if not same:
            os.close(fd)
            continue
        old = _read(path)
        if old:
            print(f"[dlik] taking over the stale lock {path} ({_describe(old)}; not running)",
                  file=sys.stderr)
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps(info).encode())
        os.fsync(fd)
        return fd
    raise LockHeld(f"could not take the lock {path}: it keeps being replaced by other runs")


@contextmanager
def hold(path: str | Path) -> Iterator[Path]:
    """Hold the lock file at path for the block (re-entrant within one process)."""
    path = Path(path).absolute()
    key = str(path)
    if key in _HELD:
        yield path
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    info = {"pid": os.getpid(), "host": socket.gethostname(), "time": time.time(),
            "command": " ".join(sys.argv)}
    _HELD[key] = _acquire(path, info)
    try:
        yield path
    finally:
        fd = _HELD.pop(key)
        try:
            path.unlink()  # while still holding it, so no one locks a file about to vanish
        except FileNotFoundError:
            pass
        os.close(fd)
