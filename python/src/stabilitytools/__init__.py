"""StabilityTools for your own training loop: heartbeat, graceful stop, resumable checkpoints and the dashboard.

Run under ``Start-TrainingProcess -FilePath python -ArgumentList train.py`` (its supervisor passes the state directory,
the service and the run in the environment), or by hand (``state_dir=``, ``run_id=``)::

    import stabilitytools as stability

    with stability.run(total_epochs=10) as run:
        run.params(lr=0.01, batch=64)
        ckpt = run.resume(torch.load)                   # the newest valid checkpoint, or None
        if ckpt:
            model.load_state_dict(ckpt.state)
        for epoch in run.epochs():                      # the epochs still to train; stops on SIGTERM
            for batch in loader:
                loss = train_step(batch)
                run.step(loss=loss)                     # progress for the supervisor's hang detection
            run.log(epoch=epoch, loss=loss, val_accuracy=evaluate(), grad_norm=gn)
            run.checkpoint(model.state_dict(), epoch=epoch, save=torch.save)

Everything goes in the run's folder of the state directory (``runs/<run_id>/``) by the status-file contract that the
cmdlets, the supervisor and the dashboard read: see docs/trainers.md and docs/status-files.md in the repository.
Standard library only; Linux and macOS.
"""
from __future__ import annotations

from typing import Any, Optional

from ._checkpoints import Checkpoint
from ._run import VERSION as __version__
from ._run import Run
from .errors import (ConfigurationError, CorruptDocumentError, LockTimeoutError, StabilityError, StatusWriteError,
                     StopRequested, UnsafeFileError)

__all__ = ["run", "Run", "Checkpoint", "StabilityError", "ConfigurationError", "CorruptDocumentError",
           "LockTimeoutError", "StatusWriteError", "StopRequested", "UnsafeFileError", "__version__"]


def run(state_dir: Optional[str] = None, *, run_id: Optional[str] = None, service: Optional[str] = None,
        total_epochs: int = 0, steps_per_epoch: int = 0, device: str = "cpu", trainer: Optional[str] = None,
        keep_checkpoints: int = 3, heartbeat_interval: float = 1.0, handle_signals: bool = True, exit_codes: bool = True,
        fsync: bool = False, lock_timeout: float = 5.0, run_lock_timeout: float = 15.0, **options: Any) -> Run:
    """A training run, to open with ``with``.

    Args:
        state_dir: the state directory; default ``$STABILITY_HOME``, else ``$XDG_STATE_HOME/stability-tools``, else
            ``~/.local/state/stability-tools``.
        run_id: the run, when run by hand (default: a new one). Under a supervisor ``$STABILITY_RUN_ID`` wins, so every
            restart of the service resumes the same run.
        service: the service name events carry (default ``$STABILITY_SERVICE``, else ``training``).
        total_epochs: epochs in the whole run (0: unknown; ``epochs()`` needs it).
        steps_per_epoch: steps per epoch, for the status's total steps and ETA (0: unknown).
        device: what ``run.json`` and the status show (``cpu``, ``cuda:0``).
        trainer: the program's name in ``run.json`` (default: the script's file name).
        keep_checkpoints: how many checkpoints to keep, newest first (default 3).
        heartbeat_interval: seconds between status writes by the heartbeat thread (default 1).
        handle_signals: turn SIGTERM and SIGINT into a graceful stop (main thread only; default True).
        exit_codes: end the process with the code that tells the supervisor what happened: 128 + the signal on a stop
            (143 for SIGTERM), 78 (EX_CONFIG, no restart) on a ``ConfigurationError``. Default True; False returns
            from the ``with`` block instead (``run.outcome`` says how it ended).
        fsync: fsync each status document (default False: a killed process still leaves whole documents; checkpoints
            and ``run.json`` are always fsynced).
        lock_timeout: seconds to wait for a document's lock (default 5).
        run_lock_timeout: seconds to wait for the run's lock, held by any other trainer on the same run (default 15).
        **options: ``disk_full_retry=(first, longest)`` seconds between attempts while the disk is full (default
            (1, 5)); ``environ=`` a mapping to read instead of ``os.environ``.
    """
    return Run(state_dir, run_id=run_id, service=service, total_epochs=total_epochs, steps_per_epoch=steps_per_epoch,
               device=device, trainer=trainer, keep_checkpoints=keep_checkpoints, heartbeat_interval=heartbeat_interval,
               handle_signals=handle_signals, exit_codes=exit_codes, fsync=fsync, lock_timeout=lock_timeout,
               run_lock_timeout=run_lock_timeout, **options)
