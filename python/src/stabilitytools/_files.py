"""The status-file contract's file discipline (docs/status-files.md), as the .NET ``SafeFile``, ``FileLock`` and
``AtomicFile`` do it.

Every product file is opened with ``O_NOFOLLOW`` (never through a symbolic link) and checked with ``fstat`` on the
descriptor actually opened: a regular file owned by this user or root, narrowed to 0600 with ``fchmod`` when it has
group or other bits. Temporary files are new, unguessable names created ``O_CREAT|O_EXCL``. Writers take ``flock`` on
``<file>.lock`` (the lock .NET takes with ``FileShare.None``), so a Python and a .NET writer exclude each other.
"""
from __future__ import annotations

import datetime
import errno
import fcntl
import json
import math
import os
import secrets
import socket
import stat
import threading
import time
from typing import Any, Callable, Dict, Optional

from .errors import LockTimeoutError, StatusWriteError, UnsafeFileError

OWNER_ONLY_FILE = 0o600
OWNER_ONLY_DIR = 0o700

# ELOOP is what Linux and macOS give for O_NOFOLLOW on a link; the BSDs give EMLINK.
_LINK_ERRNOS = (errno.ELOOP, errno.EMLINK)


def now_iso() -> str:
    """Now, UTC, ISO-8601 with offset: the contract's timestamps."""
    return datetime.datetime.now(datetime.timezone.utc).isoformat()


def writer_info() -> Dict[str, Any]:
    return {"pid": os.getpid(), "host": socket.gethostname()}


def json_safe(value: Any) -> Any:
    """JSON has no NaN or Infinity: the contract writes them as the strings "NaN", "Infinity", "-Infinity"."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def encode(document: Any) -> bytes:
    """Compact UTF-8 JSON without bare NaN tokens (which .NET, rightly, reads as corrupt)."""
    return json.dumps(json_safe(document), allow_nan=False, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def is_trusted_owner(uid: int) -> bool:
    return uid == 0 or uid == os.geteuid()


def open_fd(path: str, flags: int, *, check: bool = True) -> int:
    """Opens ``path`` for the product: never through a link, created 0600, and (with ``check``) only a regular file of
    this user or root. Returns the descriptor.

    Raises ``UnsafeFileError`` for a link or a foreign or odd file, ``FileNotFoundError`` when missing, ``OSError`` else.
    """
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC, OWNER_ONLY_FILE)
    except OSError as e:
        if e.errno in _LINK_ERRNOS:
            raise UnsafeFileError(path, "it is a symbolic link; the product never opens a file through a link") from e
        if e.errno == errno.EEXIST and os.path.islink(path):
            raise UnsafeFileError(path, "a symbolic link was planted at the name of a new file") from e
        raise
    if not check:
        return fd
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UnsafeFileError(path, f"it is not a regular file (mode {oct(st.st_mode)})")
        if not is_trusted_owner(st.st_uid):
            raise UnsafeFileError(path, f"it is owned by uid {st.st_uid}, not by you or root; someone else put it there")
        if st.st_mode & 0o077 and st.st_uid == os.geteuid():
            os.fchmod(fd, OWNER_ONLY_FILE)
    except BaseException:
        os.close(fd)
        raise
    return fd


def ensure_dir(path: str) -> str:
    """Creates ``path`` (and parents) owner-only; refuses one that is a link, not a directory, or someone else's."""
    try:
        os.makedirs(path, mode=OWNER_ONLY_DIR, exist_ok=True)
    except FileExistsError as e:
        raise UnsafeFileError(path, "it is not a directory") from e
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
        raise UnsafeFileError(path, "it is a symbolic link or not a directory; the product keeps its files only in real folders")
    if not is_trusted_owner(st.st_uid):
        raise UnsafeFileError(path, f"the folder is owned by uid {st.st_uid}, not by you or root")
    if st.st_mode & 0o022:
        raise UnsafeFileError(path, f"the folder is writable by others (mode {oct(st.st_mode & 0o777)}): "
                                    f"run 'chmod go-w {path}' after checking what is in it")
    return path


def fsync_dir(path: str) -> None:
    """fsync a folder so that a rename in it survives a power loss (POSIX)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class FileLock:
    """An exclusive ``flock`` on ``<file>.lock``, with a bounded wait; the kernel drops it if the holder dies.

    The lock file is never deleted: another writer could then lock a different inode of the same name.
    """

    def __init__(self, path: str, timeout: float = 5.0):
        self.path = path
        self.timeout = timeout
        self._fd: Optional[int] = None

    def acquire(self, stop: Optional[threading.Event] = None) -> "FileLock":
        try:
            fd = open_fd(self.path, os.O_RDWR | os.O_CREAT)
        except OSError as e:
            raise StatusWriteError(self.path, e) from e
        start = time.monotonic()
        attempt = 0
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self._fd = fd
                return self
            except BlockingIOError:
                waited = time.monotonic() - start
                if waited >= self.timeout or (stop is not None and stop.is_set()):
                    os.close(fd)
                    raise LockTimeoutError(self.path, waited)
            # A held lock lasts one write: wait in growing steps capped at 5 ms, as the .NET FileLock does.
            time.sleep(min(0.005, 0.0001 * (2 ** min(attempt, 6))))
            attempt += 1

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None

    def __enter__(self) -> "FileLock":
        return self.acquire()

    def __exit__(self, *exc: Any) -> None:
        self.release()


def try_lock(path: str) -> Optional[FileLock]:
    """Takes the lock once, without waiting; None when another process holds it."""
    try:
        return FileLock(path, timeout=0).acquire()
    except LockTimeoutError:
        return None


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_swept: set = set()
_swept_lock = threading.Lock()


def sweep_temporaries(path: str) -> None:
    """Once per file and process: removes ``<file>.tmp-<pid>[-<random>]`` left by writers killed before their rename."""
    with _swept_lock:
        if path in _swept:
            return
        _swept.add(path)
    folder, name = os.path.split(path)
    prefix = name + ".tmp-"
    try:
        entries = os.listdir(folder or ".")
    except OSError:
        return
    for entry in entries:
        if not entry.startswith(prefix):
            continue
        pid_text = entry[len(prefix):].split("-", 1)[0]
        if pid_text.isdigit() and int(pid_text) != os.getpid() and not pid_alive(int(pid_text)):
            try:
                os.unlink(os.path.join(folder, entry))
            except OSError:
                pass  # someone else swept it first, or it is not ours: not worth failing a write


def temporary_name(path: str) -> str:
    """A sibling no one can guess ahead: the pid (for sweeping) and 48 random bits, as .NET's ``SafeFile``."""
    return f"{path}.tmp-{os.getpid()}-{secrets.token_hex(6)}"


def _refuse_foreign_target(path: str) -> None:
    # rename(2) replaces a link rather than following it, but a file someone else put at the name means someone else
    # can write this folder: refuse rather than quietly replace what they planted.
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if not is_trusted_owner(st.st_uid) or not (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)):
        raise UnsafeFileError(path, f"the file there is owned by uid {st.st_uid} with mode {oct(st.st_mode)}, not a regular file of yours")


def replace_file(path: str, write: Callable[[int], None], *, fsync: bool) -> None:
    """Writes a new temporary sibling through ``write(fd)``, optionally fsyncs it, and renames it over ``path``.

    On failure the temporary file is removed and ``path`` is untouched. ``OSError`` from ``write`` propagates as is
    (the caller decides: ``StatusWriteError``, a disk-full pause, ...).
    """
    temp = temporary_name(path)
    fd = open_fd(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    try:
        try:
            write(fd)
            if fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
        _refuse_foreign_target(path)
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass  # a leftover temporary is harmless (never read) and swept by the next writer
        raise


def replace_bytes(path: str, data: bytes, *, fsync: bool) -> None:
    try:
        replace_file(path, lambda fd: write_all(fd, data), fsync=fsync)
    except OSError as e:
        raise StatusWriteError(path, e) from e


def user_name() -> Optional[str]:
    """The name of this process's effective user, for events; None when it has none."""
    try:
        import pwd
        return pwd.getpwuid(os.geteuid()).pw_name
    except (ImportError, KeyError):
        return None
