"""Real trainer processes (tests/child_trainer.py): a graceful stop on SIGTERM/SIGINT, and resume after SIGKILL with
every epoch recorded exactly once."""
from __future__ import annotations

import os
import signal

import pytest

from conftest import finish, read_json, read_lines, start_child, wait_until


def run_files(state_dir, run_id="child"):
    base = os.path.join(state_dir, "runs", run_id)
    return os.path.join(base, "training_status.json"), os.path.join(base, "run.json"), os.path.join(base, "metrics.jsonl")


def wait_at_work(state_dir, process, min_progress=1, timeout=60):
    """Until the child's heartbeat (its own pid) shows it training."""
    status_path = run_files(state_dir)[0]

    def at_work():
        if process.poll() is not None:
            pytest.fail(f"the child exited early with {process.returncode}: {process.stderr.read()}")
        status = read_json(status_path)
        return status and status["pid"] == process.pid and status["state"] == "running" and status["progress"] >= min_progress

    wait_until(at_work, "the child trainer at work", timeout)


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_stops_the_trainer_gracefully_records_stopped_and_exits_128_plus_the_signal(state_dir, signum, code):
    child = start_child(state_dir, "--epochs", "50", "--steps", "20", "--step-delay", "0.01")
    wait_at_work(state_dir, child, min_progress=25)
    child.send_signal(signum)
    returncode, _, err = finish(child, timeout=30)
    assert returncode == code, err
    assert f"{signal.Signals(signum).name} received" in err
    status_path, run_path, metrics_path = run_files(state_dir)
    status, info = read_json(status_path), read_json(run_path)
    assert (status["state"], status["is_running"], info["state"]) == ("stopped", False, "stopped")
    # Only whole epochs were recorded, each with the weight it ended at (epoch * steps): nothing of the cut epoch.
    records = read_lines(metrics_path)
    assert [r["scalars"]["weight"] for r in records] == [20 * r["epoch"] for r in records]
    assert [r["epoch"] for r in records] == list(range(1, len(records) + 1))
    assert [e["type"] for e in read_lines(os.path.join(state_dir, "events.jsonl"))][-1] == "stopped"


def test_a_trainer_killed_three_times_resumes_each_time_and_records_every_epoch_exactly_once(state_dir):
    args = ("--epochs", "12", "--steps", "10", "--step-delay", "0.02")
    for kill in range(3):
        child = start_child(state_dir, *args)
        # Somewhere inside an epoch of this life: a few steps past the progress it resumed at.
        wait_at_work(state_dir, child, min_progress=5 + 7 * kill)
        child.kill()
        finish(child, timeout=30)
    child = start_child(state_dir, *args)
    returncode, out, err = finish(child, timeout=120)
    assert returncode == 0, err
    assert "start epoch 0" not in out  # the last life resumed from a checkpoint, not from scratch
    status_path, run_path, metrics_path = run_files(state_dir)
    records = read_lines(metrics_path)
    assert [r["epoch"] for r in records] == list(range(1, 13))
    assert [r["scalars"]["weight"] for r in records] == [10 * e for e in range(1, 13)]
    info = read_json(run_path)
    assert (info["state"], info["attempts"], info["epochs"], info["parameters"]["lr"]) == ("completed", 4, 12, 0.1)
    assert read_json(status_path)["state"] == "completed"
    assert not [n for n in os.listdir(os.path.dirname(run_path) + "/checkpoints") if ".tmp-" in n]


def test_an_exception_in_the_users_loop_fails_the_run_with_its_message_and_exit_code_1(state_dir):
    child = start_child(state_dir, "--epochs", "3", "--fail-at-epoch", "2")
    returncode, _, err = finish(child, timeout=60)
    assert returncode == 1 and "boom at epoch 2" in err
    info = read_json(run_files(state_dir)[1])
    assert (info["state"], info["error_message"]) == ("failed", "RuntimeError: boom at epoch 2")
