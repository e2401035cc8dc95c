"""A run's checkpoints: atomic save through the caller's ``save(obj, file)``, newest-K retention, and resume that falls
back past a damaged newest checkpoint.

Layout, in ``runs/<run_id>/checkpoints/``: ``ckpt-e<epoch>-s<step>.bin`` holds exactly what ``save`` wrote (so
``torch.load`` opens it by hand too), and ``ckpt-e<epoch>-s<step>.json`` (schema ``checkpoint/1``) its size and
SHA-256. The payload is written (temporary file, fsync, rename) before its manifest, so a checkpoint exists only once
both are durable: a kill at any instant leaves a whole checkpoint or none (an orphan payload is swept at the next start).
A checkpoint whose payload no longer matches its manifest is damaged; it is renamed ``*.corrupt`` (kept for
inspection, never tried again, not counted in K) and the next older one is tried.
"""
from __future__ import annotations

import hashlib
import os
import re
from typing import Any, Callable, List, Optional, Tuple

from ._documents import read_document
from ._files import (encode, ensure_dir, fsync_dir, now_iso, open_fd, pid_alive, replace_bytes,
                     replace_file, writer_info)
from .errors import StabilityError, StatusWriteError

SCHEMA = "checkpoint/1"
_NAME = re.compile(r"\Ackpt-e(\d{6})-s(\d{12})\.json\Z")

Saver = Callable[[Any, Any], Any]
Loader = Callable[[Any], Any]


class Checkpoint:
    """A checkpoint that was loaded: the object ``load`` returned, where the run was, and the file."""

    def __init__(self, state: Any, epoch: int, step: int, path: str, manifest: dict):
        self.state, self.epoch, self.step, self.path, self.manifest = state, epoch, step, path, manifest

    def __repr__(self) -> str:
        return f"Checkpoint(epoch={self.epoch}, step={self.step}, path={self.path!r})"


class CheckpointStore:
    def __init__(self, folder: str, keep: int = 3, run_id: str = ""):
        if keep < 1:
            raise ValueError(f"keep must be at least 1 (was {keep}): the newest checkpoint is what a restart resumes from")
        self.folder = folder
        self.keep = keep
        self.run_id = run_id

    def _ensure(self) -> None:
        ensure_dir(self.folder)

    def manifests(self) -> List[Tuple[int, int, str]]:
        """(epoch, step, manifest path) of every checkpoint present, newest first."""
        try:
            names = os.listdir(self.folder)
        except FileNotFoundError:
            return []
        found = []
        for name in names:
            m = _NAME.match(name)
            if m:
                found.append((int(m.group(1)), int(m.group(2)), os.path.join(self.folder, name)))
        return sorted(found, reverse=True)

    def sweep(self) -> None:
        """Removes what writers killed mid-save left: temporary files of dead processes, payloads without a manifest.
        The caller holds the run's lock, so no other live writer saves here."""
        try:
            names = os.listdir(self.folder)
        except FileNotFoundError:
            return
        for name in names:
            path = os.path.join(self.folder, name)
            if ".tmp-" in name:
                pid = name.split(".tmp-", 1)[1].split("-", 1)[0]
                if pid.isdigit() and int(pid) != os.getpid() and pid_alive(int(pid)):
                    continue
            elif not (name.endswith(".bin") and not os.path.lexists(path[:-4] + ".json")):
                continue
            try:
                os.unlink(path)
            except OSError:
                pass  # left for the next start

    def save(self, obj: Any, epoch: int, step: int, save: Saver, extra: Optional[dict] = None) -> str:
        """Saves ``obj`` as the checkpoint of (epoch, step) and drops all but the newest ``keep``. Returns the payload's
        path. Raises ``StatusWriteError`` (``disk_full`` tells a full disk) with nothing torn left behind."""
        self._ensure()
        base = os.path.join(self.folder, f"ckpt-e{epoch:06d}-s{step:012d}")
        payload = base + ".bin"

        def write(fd: int) -> None:
            with os.fdopen(fd, "wb", closefd=False) as f:
                save(obj, f)
                f.flush()

        try:
            replace_file(payload, write, fsync=True)
            size, digest = _digest(payload)
        except OSError as e:
            raise StatusWriteError(payload, e) from e
        manifest = {"schema": SCHEMA, "seq": 1, "written_at": now_iso(), "writer": writer_info(), "run_id": self.run_id,
                    "epoch": epoch, "step": step, "file": os.path.basename(payload), "bytes": size, "sha256": digest}
        if extra:
            manifest.update((k, v) for k, v in extra.items() if k not in manifest)
        replace_bytes(base + ".json", encode(manifest), fsync=True)
        fsync_dir(self.folder)
        for _, _, old in self.manifests()[self.keep:]:
            # The manifest first: a kill between the two leaves an orphan payload, which the next start sweeps.
            for path in (old, old[:-5] + ".bin"):
                try:
                    os.unlink(path)
                except OSError:
                    pass
        return payload

    def load_newest(self, load: Loader, on_corrupt: Callable[[str, str], None]) -> Optional[Checkpoint]:
        """Loads the newest checkpoint that verifies; each one that does not is set aside as ``*.corrupt`` and reported
        through ``on_corrupt(path, reason)`` before the next older one is tried. None when there is no valid one.

        A checkpoint whose bytes verify but that ``load`` cannot read is not damage but code that changed: that raises
        ``StabilityError`` and sets nothing aside, so a wrong ``load`` never costs the run its checkpoints."""
        for epoch, step, manifest_path in self.manifests():
            payload = manifest_path[:-5] + ".bin"
            reason = _verify(manifest_path, payload, epoch, step)
            if reason is None:
                fd = open_fd(payload, os.O_RDONLY)
                with os.fdopen(fd, "rb") as f:
                    try:
                        state = load(f)
                    except Exception as e:
                        raise StabilityError(
                            f"The checkpoint '{payload}' is intact (its SHA-256 matches) but load() could not read it: "
                            f"{type(e).__name__}: {e}. Pass the load that matches the save it was written with.") from e
                return Checkpoint(state, epoch, step, payload, read_document(manifest_path).document or {})
            on_corrupt(payload, reason)
            for path in (manifest_path, payload):
                try:
                    os.replace(path, path + ".corrupt")
                except OSError:
                    pass  # could not set it aside: it fails verification again next start, which is harmless
        return None


def _digest(path: str) -> Tuple[int, str]:
    h = hashlib.sha256()
    size = 0
    fd = open_fd(path, os.O_RDONLY)
    with os.fdopen(fd, "rb") as f:
        while True:
            chunk = f.read(1 << 20)
            if not chunk:
                break
            size += len(chunk)
            h.update(chunk)
    return size, h.hexdigest()


def _verify(manifest_path: str, payload: str, epoch: int, step: int) -> Optional[str]:
    """Why the checkpoint cannot be trusted, or None."""
    manifest = read_document(manifest_path, SCHEMA)
    if manifest.state != "ok":
        return f"its manifest is {manifest.state}: {manifest.error}"
    doc = manifest.document or {}
    if doc.get("epoch") != epoch or doc.get("step") != step:
        return "its manifest names another position than its file name"
    try:
        size, digest = _digest(payload)
    except FileNotFoundError:
        return "its payload is missing"
    except OSError as e:
        return f"its payload cannot be read: {e}"
    if size != doc.get("bytes"):
        return f"its payload is {size} bytes, the manifest says {doc.get('bytes')} (truncated or damaged)"
    if digest != doc.get("sha256"):
        return "checksum mismatch (the file is damaged)"
    return None
