"""What a run reports: the live status (written by a heartbeat thread, latest wins) and the metric history.

Overview of the threads: the training thread only updates ``LiveStatus`` in memory (under its lock, no I/O) at every
``Run.step``; the ``Heartbeat`` thread copies it every interval and writes ``training_status.json`` with a fresh
heartbeat. A slow or locked file delays a status write, never a training step. A hung training thread leaves the
heartbeat fresh but ``progress`` still, which is exactly what the supervisor's hang detection looks for.
"""
from __future__ import annotations

import math
import os
import sys
import threading
import time
from typing import Any, Callable, Dict, Iterable, Mapping, Optional

from ._files import now_iso

STANDARD_FIGURES = ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "samples_per_sec", "learning_rate")


def number(name: str, value: Any) -> float:
    """A reported figure as a float: ints, bools, numpy scalars and one-element tensors (anything with ``__float__``)."""
    try:
        return float(value)
    except (TypeError, ValueError) as e:
        raise TypeError(f"the figure {name!r} must be a number (got {type(value).__name__}: {value!r}); "
                        "report tensors with .item() or as one-element tensors") from e


class LiveStatus:
    """The run's progress as ``training_status.json`` shows it; thread-safe."""

    def __init__(self, run_id: str, device: str, total_epochs: int, total_steps: int):
        self.lock = threading.Lock()
        self.run_id, self.device = run_id, device
        self.state = "starting"
        self.epoch = 0
        self.total_epochs, self.total_steps = total_epochs, total_steps
        self.loss, self.accuracy = 0.0, 0.0
        self.val_loss: Optional[float] = None
        self.step = 0
        self.progress = 0
        self.model_path: Optional[str] = None
        self.error_message: Optional[str] = None
        self.last_update = now_iso()
        self._window_start = time.monotonic()
        self._window_samples = 0
        self._window_steps = 0
        self.samples_per_sec = 0.0
        self._steps_per_sec = 0.0

    def update(self, **fields: Any) -> None:
        with self.lock:
            for key, value in fields.items():
                setattr(self, key, value)
            self.last_update = now_iso()

    def advance(self, step: Optional[int], samples: Optional[int], loss: Optional[float], accuracy: Optional[float]) -> None:
        """One training step: the progress counter grows, throughput is measured over a window of a few seconds."""
        with self.lock:
            self.progress += 1
            self.step = self.step + 1 if step is None else int(step)
            if loss is not None:
                self.loss = loss
            if accuracy is not None:
                self.accuracy = accuracy
            self._window_steps += 1
            self._window_samples += samples or 0
            elapsed = time.monotonic() - self._window_start
            if elapsed >= 2.0:
                self.samples_per_sec = self._window_samples / elapsed
                self._steps_per_sec = self._window_steps / elapsed
                self._window_start, self._window_samples, self._window_steps = time.monotonic(), 0, 0
            self.last_update = now_iso()

    def document(self) -> Dict[str, Any]:
        with self.lock:
            running = self.state in ("starting", "running", "paused")
            remaining = max(self.total_steps - self.step, 0)
            eta = remaining / self._steps_per_sec if running and self.total_steps and self._steps_per_sec > 0 else None
            return {
                "is_running": running, "current_epoch": int(self.epoch), "total_epochs": int(self.total_epochs),
                "loss": self.loss, "accuracy": self.accuracy, "last_update": self.last_update,
                "model_path": self.model_path, "error_message": self.error_message, "state": self.state,
                "run_id": self.run_id, "step": int(self.step), "total_steps": int(self.total_steps),
                "samples_per_sec": self.samples_per_sec if running else 0.0, "eta_seconds": eta, "device": self.device,
                "val_loss": self.val_loss, "heartbeat": now_iso(), "progress": int(self.progress), "pid": os.getpid(),
            }


class Heartbeat(threading.Thread):
    """Calls ``write`` every ``interval`` seconds until stopped; a failed write is reported once and retried next time,
    never raised into the training thread."""

    def __init__(self, write: Callable[[], None], interval: float):
        super().__init__(name="stabilitytools-heartbeat", daemon=True)
        self._write, self.interval = write, interval
        self._stop_event = threading.Event()
        self.failures = 0
        self._last_error: Optional[str] = None

    def run(self) -> None:
        while not self._stop_event.wait(self.interval):
            self.beat()

    def beat(self) -> None:
        try:
            self._write()
            self._last_error = None
        except Exception as e:  # a status writer never throws into its host
            self.failures += 1
            if str(e) != self._last_error:
                self._last_error = str(e)
                print(f"stabilitytools: could not write the status (retrying every {self.interval:g} s): {e}", file=sys.stderr)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop_event.set()
        if self.is_alive():
            self.join(timeout)


class MetricHistory:
    """The epochs a run has recorded and its final and best figures (best: lowest for names ending in ``loss``,
    highest otherwise), seeded from ``metrics.jsonl`` so that a resumed run neither repeats an epoch nor forgets one."""

    def __init__(self, records: Iterable[dict] = ()):
        self.epochs: set = set()
        self.final: Dict[str, float] = {}
        self.best: Dict[str, float] = {}
        self.last_epoch = 0
        self.last: Optional[dict] = None
        for record in records:
            if record.get("kind", "epoch") == "epoch" and isinstance(record.get("epoch"), int):
                self.add(record)

    def add(self, record: dict) -> None:
        self.epochs.add(record["epoch"])
        self.last_epoch = max(self.last_epoch, record["epoch"])
        self.last = record
        figures = {k: record[k] for k in STANDARD_FIGURES if k in record}
        figures.update(record.get("scalars") or {})
        for name, value in figures.items():
            value = _as_float(value)
            if value is None:
                continue
            self.final[name] = value
            if not math.isfinite(value):
                continue
            seen = self.best.get(name)
            if seen is None or (value < seen if name.endswith("loss") else value > seen):
                self.best[name] = value


def _as_float(value: Any) -> Optional[float]:
    # What a reader of metrics.jsonl may find: numbers, or "NaN"/"Infinity"/"-Infinity" strings.
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    if value in ("NaN", "Infinity", "-Infinity"):
        return float(value.lower().replace("infinity", "inf"))
    return None


def flatten_parameters(values: Mapping[str, Any], prefix: str = "") -> Dict[str, Any]:
    """Parameters as run.json keeps them: nested mappings flattened to dotted keys (``optimizer.lr``), values JSON
    scalars or lists of them, anything else as its text."""
    flat: Dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            flat.update(flatten_parameters(value, name))
        elif isinstance(value, (str, bool, int, float)) or value is None:
            flat[name] = value
        elif isinstance(value, (list, tuple)) and all(isinstance(v, (str, bool, int, float)) or v is None for v in value):
            flat[name] = list(value)
        else:
            flat[name] = str(value)  # a path, an enum, a dtype: recorded as text
    return flat
