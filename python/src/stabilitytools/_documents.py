"""Documents and append-only logs of the status-file contract (docs/status-files.md), as the .NET ``StatusStore``
and ``JsonLinesLog``: writers lock ``<file>.lock``, number documents by ``seq`` and replace them atomically; readers take
no lock and report a document's condition (ok, missing, corrupt, oversized, unreadable) instead of raising.
"""
from __future__ import annotations

import json
import os
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

from ._files import (FileLock, encode, now_iso, open_fd, replace_bytes, sweep_temporaries, write_all, writer_info)
from .errors import CorruptDocumentError, StatusWriteError, UnsafeFileError

MAX_DOCUMENT_BYTES = 4 * 1024 * 1024
MAX_LOG_BYTES = 16 * 1024 * 1024
RETAINED_LOGS = 3
MAX_RECORD_BYTES = 1024 * 1024


class ReadResult:
    """A document read without a lock: ``state`` is ok, missing, corrupt, oversized or unreadable."""

    __slots__ = ("state", "document", "error")

    def __init__(self, state: str, document: Optional[dict] = None, error: Optional[str] = None):
        self.state, self.document, self.error = state, document, error

    def __repr__(self) -> str:
        return f"ReadResult({self.state!r}, error={self.error!r})"


def read_document(path: str, schema: Optional[str] = None, max_bytes: int = MAX_DOCUMENT_BYTES) -> ReadResult:
    """Reads a whole document (never through a link) and reports its condition instead of raising."""
    try:
        fd = open_fd(path, os.O_RDONLY, check=False)
    except FileNotFoundError:
        return ReadResult("missing", error="no such file")
    except (UnsafeFileError, OSError) as e:
        return ReadResult("unreadable", error=str(e))
    try:
        size = os.fstat(fd).st_size
        if size > max_bytes:
            return ReadResult("oversized", error=f"the file is {size} bytes, over the {max_bytes}-byte cap")
        chunks, total = [], 0
        while True:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            total += len(chunk)
            if total > max_bytes:
                return ReadResult("oversized", error=f"the file grew past the {max_bytes}-byte cap while being read")
            chunks.append(chunk)
    except OSError as e:
        return ReadResult("unreadable", error=str(e))
    finally:
        os.close(fd)
    try:
        document = json.loads(b"".join(chunks).decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        return ReadResult("corrupt", error=f"not valid JSON: {e}")
    if not isinstance(document, dict):
        return ReadResult("corrupt", error="the document is not a JSON object")
    if schema is not None and document.get("schema") != schema:
        found = document.get("schema")
        return ReadResult("corrupt", error=f"the document's schema is {found!r}, expected {schema!r}" if found
                          else f"the document has no 'schema' (expected {schema!r})")
    return ReadResult("ok", document)


def _seq_of(path: str) -> int:
    result = read_document(path)
    seq = result.document.get("seq") if result.document else None
    return seq if isinstance(seq, int) and not isinstance(seq, bool) else 0


def _stamp(schema: str, seq: int, body: Dict[str, Any]) -> Dict[str, Any]:
    envelope = {"schema": schema, "seq": seq + 1, "written_at": now_iso(), "writer": writer_info()}
    envelope.update((k, v) for k, v in body.items() if k not in envelope)
    return envelope


def write_document(path: str, schema: str, body: Dict[str, Any], *, fsync: bool = False, lock_timeout: float = 5.0) -> Dict[str, Any]:
    """Writes ``body`` as the next document at ``path`` (lock, seq + 1, temporary file, rename); returns it stamped."""
    with FileLock(path + ".lock", lock_timeout):
        sweep_temporaries(path)
        document = _stamp(schema, _seq_of(path), body)
        replace_bytes(path, encode(document), fsync=fsync)
        return document


def update_document(path: str, schema: str, change: Callable[[Optional[dict]], Dict[str, Any]], *, fsync: bool = True,
                    lock_timeout: float = 5.0) -> Dict[str, Any]:
    """Locked read-modify-write: ``change(current or None)`` gives the new body, read and written under the lock, so
    concurrent updaters in any process never lose each other's fields. A document that exists but cannot be read is
    never replaced: ``CorruptDocumentError``, the file left as it is."""
    with FileLock(path + ".lock", lock_timeout):
        sweep_temporaries(path)
        current = read_document(path, schema)
        if current.state not in ("ok", "missing"):
            raise CorruptDocumentError(path, current.error or current.state)
        body = change(current.document)
        seq = current.document.get("seq", 0) if current.document else 0
        document = _stamp(schema, seq if isinstance(seq, int) else 0, body)
        replace_bytes(path, encode(document), fsync=fsync)
        return document


def rotated_path(path: str, index: int) -> str:
    return f"{path}.{index}"


def _rotate_if_full(path: str, incoming: int, max_bytes: int, retained: int) -> None:
    try:
        length = os.lstat(path).st_size
    except FileNotFoundError:
        return
    if length == 0 or length + incoming <= max_bytes:
        return
    if retained == 0:
        os.unlink(path)
        return
    try:
        os.unlink(rotated_path(path, retained))
    except FileNotFoundError:
        pass
    for i in range(retained - 1, 0, -1):
        if os.path.lexists(rotated_path(path, i)):
            os.replace(rotated_path(path, i), rotated_path(path, i + 1))
    os.replace(path, rotated_path(path, 1))


def append_records(path: str, records: Iterable[Dict[str, Any]], *, max_bytes: int = MAX_LOG_BYTES,
                   retained: int = RETAINED_LOGS, fsync: bool = False, lock_timeout: float = 5.0) -> None:
    """Appends records to a JSON-lines log, one line each, in one write under the file's lock; rotates by size first.

    A fragment left by a writer that died mid-line is ended with a newline first; a failed (short) append is truncated
    back, so the next record starts clean.
    """
    data = b"".join(encode(r) + b"\n" for r in records)
    if not data:
        return
    with FileLock(path + ".lock", lock_timeout):
        try:
            _rotate_if_full(path, len(data), max_bytes, retained)
            fd = open_fd(path, os.O_RDWR | os.O_CREAT | os.O_APPEND)
        except OSError as e:
            raise StatusWriteError(path, e) from e
        try:
            size = os.fstat(fd).st_size
            if size > 0 and os.pread(fd, 1, size - 1) != b"\n":
                data = b"\n" + data
            try:
                write_all(fd, data)
                if fsync:
                    os.fsync(fd)
            except OSError as e:
                try:
                    os.ftruncate(fd, size)
                except OSError:
                    pass  # readers skip the partial line anyway
                raise StatusWriteError(path, e) from e
        finally:
            os.close(fd)


def read_records(path: str, retained: int = RETAINED_LOGS) -> Tuple[List[dict], int]:
    """Every record of a JSON-lines log, oldest first (``<file>.N`` … ``<file>.1``, ``<file>``), and how many lines
    were skipped (unparsable, oversized); an incomplete last line (a write in progress) is not read."""
    records: List[dict] = []
    skipped = 0
    for file in [rotated_path(path, i) for i in range(retained, 0, -1)] + [path]:
        try:
            fd = open_fd(file, os.O_RDONLY, check=False)
        except (FileNotFoundError, UnsafeFileError):
            continue
        try:
            with os.fdopen(fd, "rb") as f:
                content = f.read()
        except OSError:
            continue
        lines = content.split(b"\n")
        for line in lines[:-1]:  # the last piece has no newline yet: a write in progress, not ours to read
            if not line.strip():
                continue
            if len(line) > MAX_RECORD_BYTES:
                skipped += 1
                continue
            try:
                record = json.loads(line.decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                skipped += 1
                continue
            if isinstance(record, dict):
                records.append(record)
            else:
                skipped += 1
    return records, skipped
