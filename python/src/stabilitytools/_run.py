"""``stability.run()``: one training run under the status-file contract, opened from the supervisor's environment.

Overview: ``Run.open`` resolves the run (``STABILITY_RUN_ID``/``STABILITY_RUN_DIR`` from the supervisor, else the
arguments), takes the run's lock (``run.lock``: one trainer per run), records the attempt in ``run.json``, reads what
``metrics.jsonl`` already holds (so a resumed run records every epoch exactly once), installs SIGTERM/SIGINT handlers
that only set ``stop_event``, and starts the heartbeat thread. ``Run.close`` stops the heartbeat, then writes the
end state (completed, stopped, failed) to the status, ``run.json`` and ``events.jsonl``, restores the signal handlers
and releases the lock. The training thread never blocks on the heartbeat's writes.
"""
from __future__ import annotations

import os
import pickle
import signal
import socket
import sys
import threading
from typing import Any, Dict, Iterator, Mapping, Optional

from . import _market
from ._checkpoints import Checkpoint, CheckpointStore, Loader, Saver
from ._documents import append_records, read_records, update_document, write_document
from ._files import FileLock, now_iso, replace_file, user_name
from ._pause import DiskFullPause
from ._state import RunLocation
from ._status import STANDARD_FIGURES, Heartbeat, LiveStatus, MetricHistory, flatten_parameters, number
from .errors import ConfigurationError, CorruptDocumentError, StabilityError, StopRequested

VERSION = "0.1.0"
EX_CONFIG = 78


class Run:
    """One training run. Use it as ``with stability.run(...) as run:``; see ``stabilitytools.run`` for the arguments."""

    def __init__(self, state_dir: Optional[str] = None, *, run_id: Optional[str] = None, service: Optional[str] = None,
                 total_epochs: int = 0, steps_per_epoch: int = 0, device: str = "cpu", trainer: Optional[str] = None,
                 keep_checkpoints: int = 3, heartbeat_interval: float = 1.0, handle_signals: bool = True,
                 exit_codes: bool = True, fsync: bool = False, lock_timeout: float = 5.0, run_lock_timeout: float = 15.0,
                 disk_full_retry: tuple = (1.0, 5.0), environ: Optional[Mapping[str, str]] = None):
        if total_epochs < 0 or steps_per_epoch < 0:
            raise ConfigurationError("total_epochs and steps_per_epoch must not be negative (0: unknown).")
        if heartbeat_interval <= 0:
            raise ConfigurationError(f"heartbeat_interval must be positive (was {heartbeat_interval}).")
        self._args = (state_dir, run_id, service, environ if environ is not None else os.environ)
        self.total_epochs, self.steps_per_epoch, self.device = int(total_epochs), int(steps_per_epoch), device
        self._trainer = trainer or os.path.basename(sys.argv[0] or "python")
        self._keep, self._heartbeat_interval, self._handle_signals = keep_checkpoints, heartbeat_interval, handle_signals
        self._exit_codes, self._fsync, self._lock_timeout, self._run_lock_timeout = exit_codes, fsync, lock_timeout, run_lock_timeout
        self.stop_event = threading.Event()
        self._signum: Optional[int] = None
        self._pause = DiskFullPause(self.stop_event, self._on_pause, self._on_resume, lambda: self._signum, *disk_full_retry)
        self._write_lock = threading.Lock()
        self._events_lock = threading.Lock()
        self._pending_events: list = []
        self._closed = True
        self._previous_handlers: Dict[int, Any] = {}
        self.outcome: Optional[str] = None
        self.start_epoch = 0

    # --- opening and closing ---------------------------------------------------------------------------------------

    def open(self) -> "Run":
        state_dir, run_id, service, environ = self._args
        self.location = RunLocation.resolve(state_dir, run_id, service, environ)
        self.run_id, self.run_dir, self.state_dir, self.service = (
            self.location.run_id, self.location.run_dir, self.location.root, self.location.service)
        self._run_lock = FileLock(self.location.file("run.lock"), self._run_lock_timeout).acquire(self.stop_event)
        try:
            self._checkpoints = CheckpointStore(self.location.file("checkpoints"), self._keep, self.run_id)
            self._checkpoints.sweep()
            self.history = MetricHistory(read_records(self.location.file("metrics.jsonl"))[0])
            info = self._update_run_info(self._opening)
            self.attempt = info.get("attempts", 1)
            self._was_completed = info.get("state") == "completed"
            self.status = LiveStatus(self.run_id, self.device, self.total_epochs, self.total_epochs * self.steps_per_epoch)
            self._seed_status_from_history()
            self._install_signal_handlers()
            self._closed = False
            self._try(self._write_status, "the status")
            self.status.update(state="running")
            self.event("started", f"Run {self.run_id} started (attempt {self.attempt}) by {self._trainer}.",
                       attempt=self.attempt, epochs_recorded=len(self.history.epochs))
            self._heartbeat = Heartbeat(self._write_status, self._heartbeat_interval)
            self._heartbeat.start()
        except BaseException:
            self._restore_signal_handlers()
            self._run_lock.release()
            self._closed = True
            raise
        return self

    def _opening(self, old: Optional[dict]) -> dict:
        doc = dict(old or {})
        now = now_iso()
        doc.setdefault("run_id", self.run_id)
        doc.setdefault("service", self.service)
        doc.setdefault("tags", [])
        doc.setdefault("created", now)
        completed = doc.get("state") == "completed"
        attempts = doc.get("attempts") if isinstance(doc.get("attempts"), int) else 0
        doc.update(state="completed" if completed else "running", started=now, attempts=attempts + 1,
                   trainer=f"{self._trainer} (stabilitytools {VERSION})", host=socket.gethostname(), device=self.device)
        if not completed:
            doc.update(ended=None, error_message=None)
        return doc

    def _seed_status_from_history(self) -> None:
        # A restart reports where the run is, not zeros (issue #17: a restarted run's loss must not reset to 0).
        last = self.history.last or {}
        figures = {k: v for k, v in last.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
        self.status.update(epoch=self.history.last_epoch, step=int(figures.get("step", 0)),
                           loss=figures.get("train_loss", 0.0),
                           accuracy=figures.get("val_accuracy", figures.get("train_accuracy", 0.0)),
                           val_loss=figures.get("val_loss"))

    def close(self, error: Optional[BaseException] = None) -> str:
        """Ends the run: ``completed`` when ``error`` is None (and no stop cut it short), ``stopped`` on a stop,
        ``failed`` otherwise. Returns that state. Safe to call twice."""
        if self._closed:
            return self.outcome or "completed"
        if isinstance(error, SystemExit) and error.code in (None, 0):
            error = None  # sys.exit() inside the block: an ordinary end
        if isinstance(error, KeyboardInterrupt):  # Ctrl+C without our handler (handle_signals=False)
            self._signum = self._signum or signal.SIGINT
        stopped = isinstance(error, (StopRequested, KeyboardInterrupt)) or (error is None and self.stop_requested and not self._finished())
        state = "stopped" if stopped else ("completed" if error is None else "failed")
        message = None if state != "failed" else f"{type(error).__name__}: {error}"
        self._heartbeat.stop()
        self._closed = True
        self.outcome = state
        try:
            self.status.update(state=state, error_message=message)
            self._try(self._write_status, "the final status")
            self._try(lambda: self._update_run_info(lambda old: self._ending(old, state, message)), "the end of the run in run.json")
            summary = {"completed": f"Run {self.run_id} completed: {self.history.last_epoch} epochs.",
                       "stopped": f"Run {self.run_id} stopped after epoch {self.history.last_epoch}; a restart resumes it from its newest checkpoint.",
                       "failed": f"Run {self.run_id} failed: {message}"}[state]
            self.event(state, summary, "error" if state == "failed" else "info", epochs=self.history.last_epoch)
        finally:
            self._restore_signal_handlers()
            self._run_lock.release()
        return state

    def _ending(self, old: Optional[dict], state: str, message: Optional[str]) -> dict:
        doc = dict(old or {})
        doc.update(state=state, ended=now_iso(), error_message=message, epochs=self.history.last_epoch,
                   final=dict(self.history.final) or doc.get("final", {}), best=dict(self.history.best) or doc.get("best", {}))
        return doc

    def _finished(self) -> bool:
        return bool(self.total_epochs) and self.history.last_epoch >= self.total_epochs

    def __enter__(self) -> "Run":
        try:
            return self.open()
        except (ConfigurationError, CorruptDocumentError) as e:
            # What no restart can fix until someone fixes the input: EX_CONFIG, which a supervisor does not restart.
            if self._exit_codes:
                print(f"stabilitytools: {e}", file=sys.stderr)
                raise SystemExit(EX_CONFIG) from e
            raise

    def __exit__(self, exc_type: Any, exc: Optional[BaseException], tb: Any) -> bool:
        state = self.close(exc)
        if isinstance(exc, ConfigurationError) and self._exit_codes:
            print(f"stabilitytools: {exc}", file=sys.stderr)
            raise SystemExit(EX_CONFIG)
        if state == "stopped" and (exc is None or isinstance(exc, (StopRequested, KeyboardInterrupt))):
            if self._exit_codes:
                # 128 + the signal, as the built-in trainer: its supervisor never takes a stop for a completion.
                raise SystemExit(128 + (self._signum or signal.SIGTERM))
            return True
        return False

    # --- stopping --------------------------------------------------------------------------------------------------

    @property
    def stop_requested(self) -> bool:
        """True once SIGTERM or SIGINT arrived (or ``request_stop`` was called)."""
        return self.stop_event.is_set()

    def request_stop(self, signum: Optional[int] = None) -> None:
        """Asks the run to stop at its next stop point, as SIGTERM does."""
        if self._signum is None:
            self._signum = signum
        self.stop_event.set()

    def check_stop(self) -> None:
        """Raises ``StopRequested`` when a stop was requested: a stop point of your own."""
        if self.stop_event.is_set():
            raise StopRequested(self._signum)

    def _install_signal_handlers(self) -> None:
        # Python runs signal handlers in the main thread only, so only there can they be installed.
        if not self._handle_signals or threading.current_thread() is not threading.main_thread():
            return
        for signum in (signal.SIGTERM, signal.SIGINT):
            self._previous_handlers[signum] = signal.signal(signum, self._on_signal)

    def _restore_signal_handlers(self) -> None:
        for signum, handler in self._previous_handlers.items():
            signal.signal(signum, handler)
        self._previous_handlers.clear()

    def _on_signal(self, signum: int, frame: Any) -> None:
        if not self.stop_event.is_set():
            print(f"stabilitytools: {signal.Signals(signum).name} received: stopping at the next step.", file=sys.stderr)
        self.request_stop(signum)

    # --- reporting -------------------------------------------------------------------------------------------------

    def params(self, values: Optional[Mapping[str, Any]] = None, **more: Any) -> None:
        """Records the run's parameters in ``run.json`` (nested mappings flattened to dotted keys), where
        ``Get-TrainingRun`` and ``Compare-TrainingRun`` show them. A resumed run must keep the values it started with:
        a changed value raises ``ConfigurationError``."""
        flat = flatten_parameters({**(values or {}), **more})

        def change(old: Optional[dict]) -> dict:
            doc = dict(old or {})
            recorded = dict(doc.get("parameters") or {})
            changed = [f"{k}: {recorded[k]!r} -> {v!r}" for k, v in flat.items() if k in recorded and recorded[k] != v]
            if changed:
                raise ConfigurationError(
                    f"run {self.run_id!r} was started with other parameters ({'; '.join(changed)}). Resume it with its "
                    "original parameters, or start a new run (Start-TrainingProcess without -Resume/-RunId).")
            recorded.update(flat)
            doc["parameters"] = recorded
            return doc

        self._update_run_info(change)

    def epochs(self) -> Iterator[int]:
        """The epochs still to train: ``start_epoch + 1`` to ``total_epochs``. A stop point before each; nothing when
        the run had completed all of them before (restarting a completed run trains nothing, as the built-in trainer)."""
        if not self.total_epochs:
            raise ConfigurationError("epochs() needs total_epochs: pass stability.run(total_epochs=N).")
        if self._was_completed and self.history.last_epoch >= self.total_epochs:
            return
        for epoch in range(self.start_epoch + 1, self.total_epochs + 1):
            self.check_stop()
            self.status.update(epoch=epoch, state="running")
            yield epoch

    def step(self, loss: Any = None, accuracy: Any = None, *, samples: Optional[int] = None, step: Optional[int] = None) -> None:
        """One training step done: the progress counter the supervisor watches grows, the status shows ``loss``.
        No I/O. A stop point: raises ``StopRequested`` once a stop was requested."""
        self.status.advance(step, samples, None if loss is None else number("loss", loss),
                            None if accuracy is None else number("accuracy", accuracy))
        self.check_stop()

    def log(self, epoch: Optional[int] = None, step: Optional[int] = None, loss: Any = None, accuracy: Any = None, *,
            kind: str = "epoch", **figures: Any) -> bool:
        """Appends a metric record to ``metrics.jsonl``: the standard figures (``loss`` is ``train_loss``, ``accuracy``
        is ``train_accuracy``; ``val_loss``, ``val_accuracy``, ``samples_per_sec``, ``learning_rate``) and any other
        named scalar. An epoch record is written once per epoch: one the run recorded before (in an earlier life)
        returns False and writes nothing. Log an epoch, then checkpoint it: a kill in between retrains the epoch and
        its record stays the first one."""
        if kind not in ("epoch", "step"):
            raise ValueError(f"kind must be 'epoch' or 'step' (was {kind!r})")
        for alias, name, value in (("loss", "train_loss", loss), ("accuracy", "train_accuracy", accuracy)):
            if value is not None:
                if name in figures:
                    raise ValueError(f"give {alias!r} or {name!r}, not both")
                figures[name] = value
        if kind == "epoch" and epoch is None:
            raise ValueError("an epoch record needs epoch=")
        epoch = int(epoch if epoch is not None else self.status.epoch)
        if kind == "epoch" and epoch in self.history.epochs:
            return False
        step = int(step if step is not None else self.status.step)
        record: Dict[str, Any] = {"time": now_iso(), "run_id": self.run_id, "kind": kind, "epoch": epoch, "step": step}
        scalars = {}
        for name, value in figures.items():
            if value is None:
                continue
            (record if name in STANDARD_FIGURES else scalars)[name] = number(name, value)
        if scalars:
            record["scalars"] = scalars
        path = self.location.file("metrics.jsonl")
        self._pause.run(lambda: append_records(path, [record], lock_timeout=self._lock_timeout), "metrics.jsonl")
        if kind == "step":
            return True
        self.history.add(record)
        status = {"epoch": epoch, "step": step}
        if "train_loss" in record:
            status["loss"] = record["train_loss"]
        if "val_accuracy" in record or "train_accuracy" in record:
            status["accuracy"] = record.get("val_accuracy", record.get("train_accuracy"))
        if "val_loss" in record:
            status["val_loss"] = record["val_loss"]
        if "samples_per_sec" in record:
            status["samples_per_sec"] = record["samples_per_sec"]
        self.status.update(**status)
        self._try(lambda: self._write_model_metrics(record), "model_metrics.json")
        self._try(self._write_status, "the status")
        return True

    def market(self, bars: Any, predictions: Any = (), *, symbol: str = "", source: Optional[str] = None) -> None:
        """Publishes the latest market window and the model's predictions on it (``market_data.json``: the
        dashboard's chart). Bars are mappings or tuples (time, open, high, low, close, volume); predictions
        (time, probability_up, signal), signal -1, 0 or 1. Times: datetime (naive is UTC), ISO string or epoch seconds."""
        body = _market.document(bars, predictions, symbol, source)
        write_document(self.location.file("market_data.json"), "market_data/1", body, fsync=self._fsync, lock_timeout=self._lock_timeout)

    def event(self, type: str, message: str, severity: str = "info", **data: Any) -> None:
        """Appends an event to ``events.jsonl`` in the name of the run's service; never raises (an event is worth less
        than the training it reports on). One that cannot be written (a full disk) goes with the next one."""
        record = {"time": now_iso(), "service": self.service, "type": type, "severity": severity, "message": message,
                  "pid": os.getpid(), "user": user_name(), "host": socket.gethostname(),
                  "data": {"run_id": self.run_id, **{k: str(v) for k, v in data.items()}}}
        with self._events_lock:
            self._pending_events = self._pending_events[-99:] + [record]

            def flush() -> None:
                append_records(self.location.events_path, self._pending_events, lock_timeout=self._lock_timeout)
                self._pending_events = []

            self._try(flush, f"the {type} event (kept for the next event)")

    # --- checkpoints -----------------------------------------------------------------------------------------------

    def resume(self, load: Loader = pickle.load) -> Optional[Checkpoint]:
        """Loads the newest valid checkpoint with ``load(file)`` (e.g. ``torch.load``), falling back past damaged ones
        (each a ``checkpoint_fallback`` event), and sets ``start_epoch`` from it. None when there is none: a fresh start."""
        def corrupt(path: str, reason: str) -> None:
            self.event("checkpoint_fallback", f"Checkpoint {os.path.basename(path)} is unusable ({reason}); trying an older one.",
                       "warning", checkpoint=os.path.basename(path), reason=reason)

        found = self._checkpoints.load_newest(load, corrupt)
        if found is not None:
            self.start_epoch = found.epoch
            self.status.update(epoch=max(self.status.epoch, found.epoch), step=found.step, model_path=found.path)
            self.event("resumed", f"Run {self.run_id} resumed from {os.path.basename(found.path)} (epoch {found.epoch}).",
                       epoch=found.epoch, step=found.step, checkpoint=os.path.basename(found.path))
        return found

    def checkpoint(self, obj: Any, *, epoch: int, step: Optional[int] = None, save: Saver = pickle.dump) -> str:
        """Saves ``obj`` with ``save(obj, file)`` (e.g. ``torch.save``) as the checkpoint of ``epoch`` (epochs done),
        atomically and durably, keeping the newest ``keep_checkpoints``. Pauses while the disk is full. Returns its path."""
        step = int(self.status.step if step is None else step)
        path = self._pause.run(lambda: self._checkpoints.save(obj, int(epoch), step, save), f"checkpoint of epoch {epoch}")
        self.status.update(model_path=path)
        return path

    def save_final(self, obj: Any, save: Saver = pickle.dump) -> str:
        """Saves the final model as ``model-final.bin`` in the run's folder, atomically; ``run.json`` names it."""
        path = self.location.file("model-final.bin")

        def write() -> None:
            def into(fd: int) -> None:
                with os.fdopen(fd, "wb", closefd=False) as f:
                    save(obj, f)
            replace_file(path, into, fsync=True)

        self._pause.run(write, "the final model")
        self.status.update(model_path=path)
        self._update_run_info(lambda old: {**(old or {}), "final_model": path})
        return path

    # --- writing ---------------------------------------------------------------------------------------------------

    def _write_status(self) -> None:
        with self._write_lock:
            write_document(self.location.file("training_status.json"), "training_status/1", self.status.document(),
                           fsync=self._fsync, lock_timeout=self._lock_timeout)

    def _write_model_metrics(self, record: dict) -> None:
        body = {k: v for k, v in record.items() if k not in ("time", "kind")}
        if "val_accuracy" in self.history.best:
            body["best_val_accuracy"] = self.history.best["val_accuracy"]
        write_document(self.location.file("model_metrics.json"), "model_metrics/1", body, fsync=self._fsync, lock_timeout=self._lock_timeout)

    def _update_run_info(self, change: Any) -> dict:
        path = self.location.file("run.json")
        return self._pause.run(lambda: update_document(path, "training_run/1", change, fsync=True, lock_timeout=self._lock_timeout), "run.json")

    def _on_pause(self, what: str, error: BaseException) -> None:
        self.status.update(state="paused", error_message="The disk is full; training is paused until space returns.")
        print(f"stabilitytools: disk full writing {what}; paused until space returns.", file=sys.stderr)
        self.event("disk_full", f"The state directory's file system is full: {what} could not be written ({error}). Training is "
                   "paused and retries every few seconds; free space and it continues.", "error", what=what)

    def _on_resume(self, what: str, seconds: float) -> None:
        self.status.update(state="running", error_message=None)
        self.event("disk_space_recovered", f"Disk space returned after {seconds:.1f} s: {what} was written and training "
                   "continues; nothing was lost.", paused_seconds=f"{seconds:.3f}")

    def _try(self, action: Any, what: str) -> None:
        try:
            action()
        except (StabilityError, OSError) as e:
            print(f"stabilitytools: could not write {what}: {e}", file=sys.stderr)

