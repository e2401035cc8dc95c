"""A run in one process: what it writes, where, and how it ends (docs/status-files.md, docs/trainers.md)."""
from __future__ import annotations

import os
import threading

import pytest

import stabilitytools as stability
from conftest import read_json, read_lines, wait_until
from stabilitytools._documents import write_document


def files(state_dir, run_id="r"):
    base = os.path.join(state_dir, "runs", run_id)
    return {name: os.path.join(base, name) for name in
            ("run.json", "training_status.json", "model_metrics.json", "metrics.jsonl", "market_data.json")}


def train(state_dir, epochs=3, run_id="r", **kwargs):
    with stability.run(state_dir, run_id=run_id, total_epochs=epochs, steps_per_epoch=4, **kwargs) as run:
        run.params(lr=0.1, model={"kind": "mlp", "layers": [8, 8]})
        for epoch in run.epochs():
            for i in range(4):
                run.step(loss=1.0 / (epoch + i), samples=16)
            run.log(epoch=epoch, loss=1.0 / epoch, val_loss=2.0 / epoch, val_accuracy=0.5 + epoch / 10,
                    grad_norm=0.1 * epoch)
            run.checkpoint({"epoch": epoch}, epoch=epoch)
    return run


def test_a_completed_run_leaves_every_document_by_the_contract_with_the_right_types(state_dir):
    run = train(state_dir)
    assert run.outcome == "completed"
    f = files(state_dir)
    status = read_json(f["training_status.json"])
    assert status["schema"] == "training_status/1"
    assert (status["state"], status["is_running"], status["current_epoch"], status["total_epochs"]) == ("completed", False, 3, 3)
    assert (status["step"], status["total_steps"], status["progress"], status["pid"]) == (12, 12, 12, os.getpid())
    # .NET reads these as int/long/double: a float where an int belongs, or null where a number belongs, is corrupt.
    for key in ("current_epoch", "total_epochs", "step", "total_steps", "progress", "pid"):
        assert type(status[key]) is int, key
    for key in ("loss", "accuracy", "samples_per_sec"):
        assert isinstance(status[key], float), key
    assert status["accuracy"] == pytest.approx(0.8) and status["val_loss"] == pytest.approx(2 / 3)
    metrics = read_json(f["model_metrics.json"])
    assert (metrics["schema"], metrics["epoch"], metrics["best_val_accuracy"]) == ("model_metrics/1", 3, pytest.approx(0.8))
    assert None not in metrics.values()
    info = read_json(f["run.json"])
    assert (info["schema"], info["state"], info["epochs"], info["attempts"], info["service"]) == ("training_run/1", "completed", 3, 1, "training")
    assert info["parameters"] == {"lr": 0.1, "model.kind": "mlp", "model.layers": [8, 8]}
    assert info["final"]["grad_norm"] == pytest.approx(0.3) and info["best"]["val_loss"] == pytest.approx(2 / 3)
    assert info["ended"] and info["error_message"] is None and "stabilitytools" in info["trainer"]
    records = read_lines(f["metrics.jsonl"])
    assert [(r["kind"], r["epoch"], r["step"]) for r in records] == [("epoch", 1, 4), ("epoch", 2, 8), ("epoch", 3, 12)]
    assert records[0]["train_loss"] == 1.0 and records[0]["scalars"] == {"grad_norm": pytest.approx(0.1)}
    events = read_lines(os.path.join(state_dir, "events.jsonl"))
    assert [e["type"] for e in events] == ["started", "completed"]
    assert all(e["service"] == "training" and isinstance(e["pid"], int) and all(isinstance(v, str) for v in e["data"].values())
               for e in events)


def test_parameters_and_the_end_go_beside_what_the_start_recorded(state_dir):
    # What Start-TrainingProcess writes before the program runs: the run, its service, experiment and tags.
    f = files(state_dir, "20261130-000000-abcdef")
    os.makedirs(os.path.dirname(f["run.json"]), mode=0o700)
    write_document(f["run.json"], "training_run/1", {"run_id": "20261130-000000-abcdef", "service": "exp-a",
                                                     "experiment": "lr-sweep", "tags": ["a"], "state": "created",
                                                     "created": "2026-11-30T00:00:00+00:00", "attempts": 0})
    env = {"STABILITY_HOME": state_dir, "STABILITY_RUN_ID": "20261130-000000-abcdef", "STABILITY_SERVICE": "exp-a",
           "STABILITY_RUN_DIR": os.path.dirname(f["run.json"])}
    with stability.run(total_epochs=1, environ=env) as run:
        run.params({"optimizer": {"name": "adam", "betas": (0.9, 0.99)}}, seed=7)
        run.log(epoch=1, val_accuracy=0.9)
    info = read_json(f["run.json"])
    assert (info["service"], info["experiment"], info["tags"], info["created"]) == ("exp-a", "lr-sweep", ["a"], "2026-11-30T00:00:00+00:00")
    assert info["parameters"] == {"optimizer.name": "adam", "optimizer.betas": [0.9, 0.99], "seed": 7}
    assert (info["state"], info["attempts"], info["final"]) == ("completed", 1, {"val_accuracy": 0.9})
    assert read_lines(os.path.join(state_dir, "events.jsonl"))[0]["service"] == "exp-a"


def test_a_resumed_run_refuses_changed_parameters_and_exits_78_so_no_restart_loops(state_dir, capsys):
    train(state_dir, epochs=1)
    with pytest.raises(SystemExit) as exit_:
        with stability.run(state_dir, run_id="r", total_epochs=1) as run:
            run.params(lr=0.2)
    assert exit_.value.code == 78
    assert "started with other parameters (lr: 0.1 -> 0.2)" in capsys.readouterr().err
    info = read_json(files(state_dir)["run.json"])
    assert info["parameters"]["lr"] == 0.1 and info["state"] == "failed"


def test_an_epoch_recorded_in_an_earlier_life_is_not_recorded_again(state_dir):
    with stability.run(state_dir, run_id="r", total_epochs=2) as run:
        assert run.log(epoch=1, loss=0.5) is True
        assert run.log(epoch=1, loss=0.4) is False
        assert run.log(epoch=1, step=3, loss=0.4, kind="step") is True  # step records are samples, any number of them
        run.log(epoch=2, loss=0.3)
    with stability.run(state_dir, run_id="r", total_epochs=2) as run:
        assert run.log(epoch=2, loss=0.1) is False
    epochs = [(r["kind"], r["epoch"], r.get("train_loss")) for r in read_lines(files(state_dir)["metrics.jsonl"])]
    assert epochs == [("epoch", 1, 0.5), ("step", 1, 0.4), ("epoch", 2, 0.3)]


def test_final_and_best_cover_every_life_of_the_run(state_dir):
    with stability.run(state_dir, run_id="r", total_epochs=3, exit_codes=False) as run:
        run.log(epoch=1, val_loss=0.2, val_accuracy=0.9)
        run.request_stop()
    assert run.outcome == "stopped"
    with stability.run(state_dir, run_id="r", total_epochs=3) as run:
        run.log(epoch=2, val_loss=0.5, val_accuracy=0.7)
        run.log(epoch=3, val_loss=0.4, val_accuracy=0.8)
    info = read_json(files(state_dir)["run.json"])
    assert info["final"] == {"val_loss": 0.4, "val_accuracy": 0.8}
    assert info["best"] == {"val_loss": 0.2, "val_accuracy": 0.9}
    assert (info["attempts"], info["epochs"]) == (2, 3)


class FakeTensor:
    """What a one-element torch tensor offers the library: __float__ (PyTorch itself is never imported)."""

    def __init__(self, value):
        self.value = value

    def __float__(self):
        return float(self.value)


def test_figures_are_numbers_tensors_and_numpy_scalars_included_and_anything_else_is_refused(state_dir):
    with stability.run(state_dir, run_id="r", total_epochs=1) as run:
        with pytest.raises(TypeError, match="'grad_norm' must be a number"):
            run.log(epoch=1, grad_norm="high")
        run.step(loss=FakeTensor(0.25))
        run.log(epoch=1, loss=FakeTensor(0.5), converged=True, nan_seen=float("nan"))
    record = read_lines(files(state_dir)["metrics.jsonl"])[0]
    assert record["train_loss"] == 0.5 and record["scalars"] == {"converged": 1.0, "nan_seen": "NaN"}


def test_an_exception_in_the_loop_records_failed_with_its_message_and_propagates(state_dir):
    with pytest.raises(ZeroDivisionError):
        with stability.run(state_dir, run_id="r", total_epochs=2) as run:
            run.log(epoch=1, loss=0.5)
            1 / 0
    status, info = read_json(files(state_dir)["training_status.json"]), read_json(files(state_dir)["run.json"])
    assert (status["state"], status["is_running"], status["current_epoch"]) == ("failed", False, 1)
    assert status["error_message"] == info["error_message"] == "ZeroDivisionError: division by zero"
    assert info["state"] == "failed"
    failed = read_lines(os.path.join(state_dir, "events.jsonl"))[-1]
    assert (failed["type"], failed["severity"]) == ("failed", "error")


def test_restarting_a_completed_run_trains_nothing_and_reports_its_figures_not_zeros(state_dir):
    train(state_dir)
    with stability.run(state_dir, run_id="r", total_epochs=3, steps_per_epoch=4) as run:
        status = read_json(files(state_dir)["training_status.json"])
        assert (status["current_epoch"], status["loss"], status["accuracy"]) == (3, pytest.approx(1 / 3), pytest.approx(0.8))
        assert list(run.epochs()) == []
    info = read_json(files(state_dir)["run.json"])
    assert (info["state"], info["attempts"]) == ("completed", 2)
    assert len(read_lines(files(state_dir)["metrics.jsonl"])) == 3


def test_the_heartbeat_keeps_beating_while_the_training_thread_is_busy_and_progress_stands_still(state_dir):
    path = files(state_dir)["training_status.json"]
    with stability.run(state_dir, run_id="r", total_epochs=1, heartbeat_interval=0.05) as run:
        run.step()
        first = wait_until(lambda: (d := read_json(path)) and d["progress"] == 1 and d, "the first step's status")
        # The training thread does nothing now (a hang, as the supervisor sees one): the heartbeat goes on.
        later = wait_until(lambda: (d := read_json(path)) and d["seq"] >= first["seq"] + 3 and d, "three more heartbeats")
        assert later["heartbeat"] > first["heartbeat"] and later["progress"] == 1
        run.log(epoch=1)


def test_a_second_trainer_on_the_same_run_is_refused_after_a_bounded_wait(state_dir):
    with stability.run(state_dir, run_id="r", total_epochs=1):
        result = {}

        def second():
            try:
                stability.run(state_dir, run_id="r", run_lock_timeout=0.3).open()
            except stability.LockTimeoutError as e:
                result["error"] = e

        thread = threading.Thread(target=second)
        thread.start()
        thread.join(10)
        assert "run.lock" in str(result["error"]) and "Stop-TrainingProcess" in str(result["error"])


def test_market_data_is_published_for_the_dashboards_chart(state_dir):
    import datetime
    t0 = datetime.datetime(2026, 11, 30, 12, 0)
    with stability.run(state_dir, run_id="r", total_epochs=1) as run:
        run.market([(t0, 1, 2, 0.5, 1.5, 100), {"time": "2026-11-30T12:01:00+00:00", "open": 1.5, "high": 2,
                                                 "low": 1, "close": 1.8, "volume": 80}],
                   [(t0, 0.6, 1)], symbol="SYNTH", source="feed")
        with pytest.raises(ValueError, match="signal is -1"):
            run.market([], [(t0, 0.6, 2)])
        run.log(epoch=1)
    doc = read_json(files(state_dir)["market_data.json"])
    assert (doc["schema"], doc["symbol"], doc["source"]) == ("market_data/1", "SYNTH", "feed")
    assert doc["bars"][0] == {"time": "2026-11-30T12:00:00+00:00", "open": 1.0, "high": 2.0, "low": 0.5, "close": 1.5, "volume": 100.0}
    assert doc["predictions"] == [{"time": "2026-11-30T12:00:00+00:00", "probability_up": 0.6, "signal": 1}]


def test_a_corrupt_run_json_is_left_as_it_is_and_the_trainer_exits_78_saying_what_to_do(state_dir, capsys):
    path = files(state_dir)["run.json"]
    os.makedirs(os.path.dirname(path), mode=0o700)
    with open(path, "w") as f:
        f.write('{"schema": "training_run/1", "parameters": {"lr": 0.1')
    before = open(path, "rb").read()
    with pytest.raises(SystemExit) as exit_:
        with stability.run(state_dir, run_id="r", total_epochs=1):
            pytest.fail("a run whose record cannot be read must not start")
    assert exit_.value.code == 78
    assert "Repair or remove it" in capsys.readouterr().err
    assert open(path, "rb").read() == before


def test_ctrl_c_without_the_librarys_handler_still_ends_the_run_stopped_with_130(state_dir):
    with pytest.raises(SystemExit) as exit_:
        with stability.run(state_dir, run_id="r", total_epochs=3, handle_signals=False) as run:
            run.log(epoch=1)
            raise KeyboardInterrupt
    assert exit_.value.code == 130
    assert read_json(files(state_dir)["run.json"])["state"] == "stopped"


def test_sys_exit_0_inside_the_block_is_an_ordinary_end(state_dir):
    with pytest.raises(SystemExit):
        with stability.run(state_dir, run_id="r", total_epochs=1) as run:
            run.log(epoch=1)
            raise SystemExit(0)
    assert read_json(files(state_dir)["run.json"])["state"] == "completed"
