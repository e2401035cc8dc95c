"""Checkpoints: atomic save through the caller's save(), newest-K retention, resume past a damaged newest one, and a
pause instead of a crash when the disk is full."""
from __future__ import annotations

import errno
import json
import os
import pickle
import shutil
import subprocess
import threading

import pytest

import stabilitytools as stability
from conftest import read_json, read_lines, wait_until


def folder(state_dir, run_id="r"):
    return os.path.join(state_dir, "runs", run_id, "checkpoints")


def names(state_dir, run_id="r"):
    return sorted(os.listdir(folder(state_dir, run_id)))


def save_epochs(state_dir, epochs, keep=3, total=None, **kwargs):
    """Trains ``epochs`` epochs of a run of ``total``; one cut short ends stopped, as a killed one would be resumed."""
    with stability.run(state_dir, run_id="r", total_epochs=total or epochs, keep_checkpoints=keep, exit_codes=False, **kwargs) as run:
        for epoch in run.epochs():
            run.step()
            run.log(epoch=epoch)
            run.checkpoint({"weights": [epoch] * 10}, epoch=epoch)
            if epoch == epochs:
                run.request_stop()


def test_the_newest_k_checkpoints_are_kept_each_a_payload_and_its_manifest(state_dir):
    save_epochs(state_dir, 5, keep=2)
    assert names(state_dir) == ["ckpt-e000004-s000000000004.bin", "ckpt-e000004-s000000000004.json",
                                "ckpt-e000005-s000000000005.bin", "ckpt-e000005-s000000000005.json"]
    manifest = read_json(os.path.join(folder(state_dir), "ckpt-e000005-s000000000005.json"))
    assert (manifest["schema"], manifest["epoch"], manifest["step"], manifest["run_id"]) == ("checkpoint/1", 5, 5, "r")
    payload = os.path.join(folder(state_dir), manifest["file"])
    assert manifest["bytes"] == os.path.getsize(payload)
    # The payload is exactly what save() wrote: torch.load (here pickle.load) opens it by hand too.
    with open(payload, "rb") as f:
        assert pickle.load(f) == {"weights": [5] * 10}
    for name in names(state_dir):
        assert os.stat(os.path.join(folder(state_dir), name)).st_mode & 0o777 == 0o600


def test_resume_loads_the_newest_checkpoint_and_starts_after_its_epoch(state_dir):
    save_epochs(state_dir, 2, total=4)
    with stability.run(state_dir, run_id="r", total_epochs=4) as run:
        found = run.resume()
        assert (found.epoch, found.step, found.state) == (2, 2, {"weights": [2] * 10})
        assert (run.start_epoch, list(run.epochs())) == (2, [3, 4])
    resumed = [e for e in read_lines(os.path.join(state_dir, "events.jsonl")) if e["type"] == "resumed"]
    assert resumed[0]["data"]["checkpoint"] == "ckpt-e000002-s000000000002.bin"


def damage(path):
    with open(path, "r+b") as f:
        f.seek(os.path.getsize(path) // 2)
        f.write(b"\x00garbage\x00")


@pytest.mark.parametrize("how", ["flipped bytes", "truncated", "manifest lost its end"])
def test_resume_falls_back_past_a_corrupt_newest_checkpoint_and_sets_it_aside(state_dir, how):
    save_epochs(state_dir, 3, total=5)
    newest = os.path.join(folder(state_dir), "ckpt-e000003-s000000000003")
    if how == "flipped bytes":
        damage(newest + ".bin")
    elif how == "truncated":
        os.truncate(newest + ".bin", 10)
    else:
        os.truncate(newest + ".json", 20)
    with stability.run(state_dir, run_id="r", total_epochs=5) as run:
        found = run.resume()
        assert (found.epoch, found.state) == (2, {"weights": [2] * 10})
        assert list(run.epochs()) == [3, 4, 5]
    assert os.path.exists(newest + ".bin.corrupt") and os.path.exists(newest + ".json.corrupt")
    fallback = [e for e in read_lines(os.path.join(state_dir, "events.jsonl")) if e["type"] == "checkpoint_fallback"]
    assert len(fallback) == 1 and fallback[0]["severity"] == "warning"
    assert fallback[0]["data"]["checkpoint"] == "ckpt-e000003-s000000000003.bin"


def test_with_every_checkpoint_damaged_the_run_starts_fresh(state_dir):
    save_epochs(state_dir, 2)
    for name in names(state_dir):
        if name.endswith(".bin"):
            damage(os.path.join(folder(state_dir), name))
    with stability.run(state_dir, run_id="r", total_epochs=2) as run:
        assert run.resume() is None and run.start_epoch == 0


def test_an_intact_checkpoint_that_load_cannot_read_raises_and_is_kept(state_dir):
    save_epochs(state_dir, 1)

    def wrong_load(f):
        return json.load(f)  # pickle bytes: not what this load reads

    with pytest.raises(stability.StabilityError, match="intact"):
        with stability.run(state_dir, run_id="r", total_epochs=1) as run:
            run.resume(wrong_load)
    assert "ckpt-e000001-s000000000001.bin" in names(state_dir)


def test_a_save_killed_before_its_manifest_leaves_no_checkpoint_and_is_swept(state_dir):
    save_epochs(state_dir, 1)
    orphan = os.path.join(folder(state_dir), "ckpt-e000002-s000000000002.bin")
    temp = os.path.join(folder(state_dir), "ckpt-e000003-s000000000003.bin.tmp-999999999-abcdef012345")
    for path in (orphan, temp):
        with open(path, "wb") as f:
            f.write(b"half")
    with stability.run(state_dir, run_id="r", total_epochs=2) as run:
        assert run.resume().epoch == 1
    assert not os.path.exists(orphan) and not os.path.exists(temp)


def test_a_full_disk_pauses_the_save_and_training_continues_once_space_returns(state_dir):
    status = os.path.join(state_dir, "runs", "r", "training_status.json")
    attempts = []

    def save_on_a_full_disk(obj, f):
        attempts.append(1)
        if len(attempts) == 2:
            # Paused now: the heartbeat thread reports it while this write waits for room.
            wait_until(lambda: (read_json(status) or {}).get("state") == "paused", "the paused status")
        if len(attempts) <= 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        pickle.dump(obj, f)

    with stability.run(state_dir, run_id="r", total_epochs=1, heartbeat_interval=0.02, disk_full_retry=(0.05, 0.05)) as run:
        run.log(epoch=1)
        run.checkpoint({"w": 1}, epoch=1, save=save_on_a_full_disk)
    assert len(attempts) == 3
    types = [e["type"] for e in read_lines(os.path.join(state_dir, "events.jsonl"))]
    assert types == ["started", "disk_full", "disk_space_recovered", "completed"]
    assert not [n for n in names(state_dir) if ".tmp-" in n]
    assert read_json(status)["state"] == "completed"


def test_a_stop_while_paused_on_a_full_disk_ends_the_run_stopped(state_dir):
    def never_room(obj, f):
        raise OSError(errno.ENOSPC, "No space left on device")

    with stability.run(state_dir, run_id="r", total_epochs=2, exit_codes=False, disk_full_retry=(0.05, 0.05)) as run:
        run.log(epoch=1)
        threading.Timer(0.3, run.request_stop).start()
        run.checkpoint({"w": 1}, epoch=1, save=never_room)
    assert run.outcome == "stopped"
    assert read_json(os.path.join(state_dir, "runs", "r", "run.json"))["state"] == "stopped"


@pytest.fixture
def small_tmpfs(tmp_path):
    """A 4 MiB tmpfs (a real file system that fills up): needs root and mount(8) on Linux."""
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("needs root to mount a tmpfs: the full-disk test ran with a simulated ENOSPC only")
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", str(mount)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"could not mount a tmpfs here: {done.stderr.strip()}")
    yield str(mount)
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_really_full_file_system_pauses_the_checkpoint_until_space_is_freed(small_tmpfs):
    state_dir = os.path.join(small_tmpfs, "state")
    filler = os.path.join(small_tmpfs, "filler")
    status = os.path.join(state_dir, "runs", "r", "training_status.json")
    with stability.run(state_dir, run_id="r", total_epochs=1, heartbeat_interval=0.05, disk_full_retry=(0.1, 0.2)) as run:
        run.log(epoch=1)
        # Leave room for the small documents, not for a 1 MiB checkpoint.
        with open(filler, "wb") as f:
            free = shutil.disk_usage(small_tmpfs).free
            f.write(b"\0" * (free - 256 * 1024))
        saver = threading.Thread(target=run.checkpoint, args=(os.urandom(1 << 20),), kwargs={"epoch": 1})
        saver.start()
        wait_until(lambda: (read_json(status) or {}).get("state") == "paused", "the paused status", timeout=20)
        assert saver.is_alive()
        os.unlink(filler)
        saver.join(20)
        assert not saver.is_alive()
    assert [n for n in names(state_dir) if n.endswith(".bin")] == ["ckpt-e000001-s000000000000.bin"]
    types = [e["type"] for e in read_lines(os.path.join(state_dir, "events.jsonl"))]
    assert "disk_full" in types and "disk_space_recovered" in types and types[-1] == "completed"
