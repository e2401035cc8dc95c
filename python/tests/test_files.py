"""The file discipline: locks, atomic replace, owner-only files, no links, append-only logs (docs/status-files.md)."""
from __future__ import annotations

import fcntl
import json
import os
import stat
import subprocess
import sys
import textwrap

import pytest

from conftest import PACKAGE_PARENT, read_json
from stabilitytools import CorruptDocumentError, LockTimeoutError, UnsafeFileError
from stabilitytools._documents import (append_records, read_document, read_records, rotated_path, update_document,
                                       write_document)
from stabilitytools._files import FileLock, ensure_dir, sweep_temporaries


@pytest.fixture
def folder(tmp_path):
    return ensure_dir(str(tmp_path / "docs"))


def mode_of(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_a_document_carries_the_envelope_and_its_seq_grows_by_one(folder):
    path = os.path.join(folder, "training_status.json")
    write_document(path, "training_status/1", {"state": "running"})
    second = write_document(path, "training_status/1", {"state": "completed"})
    doc = read_json(path)
    assert doc == second
    assert list(doc)[:4] == ["schema", "seq", "written_at", "writer"]
    assert doc["schema"] == "training_status/1" and doc["seq"] == 2 and doc["state"] == "completed"
    assert doc["writer"] == {"pid": os.getpid(), "host": doc["writer"]["host"]}
    assert doc["written_at"].endswith("+00:00")


def test_files_and_folders_are_owner_only_whatever_the_umask(tmp_path):
    old = os.umask(0)
    try:
        folder = ensure_dir(str(tmp_path / "state"))
        path = os.path.join(folder, "doc.json")
        write_document(path, "x/1", {})
        append_records(os.path.join(folder, "log.jsonl"), [{"a": 1}])
    finally:
        os.umask(old)
    assert mode_of(folder) == 0o700
    for name in ("doc.json", "doc.json.lock", "log.jsonl", "log.jsonl.lock"):
        assert mode_of(os.path.join(folder, name)) == 0o600, name


def test_an_existing_file_of_ours_with_group_bits_is_narrowed_to_0600(folder):
    path = os.path.join(folder, "log.jsonl")
    with open(path, "w") as f:
        f.write('{"a":1}\n')
    os.chmod(path, 0o664)
    append_records(path, [{"a": 2}])
    assert mode_of(path) == 0o600


def test_a_lock_file_that_is_a_symbolic_link_is_refused_and_its_target_untouched(folder, tmp_path):
    target = tmp_path / "elsewhere"
    target.write_text("precious")
    path = os.path.join(folder, "doc.json")
    os.symlink(target, path + ".lock")
    with pytest.raises(UnsafeFileError, match="symbolic link"):
        write_document(path, "x/1", {})
    assert target.read_text() == "precious"


def test_a_document_that_is_a_symbolic_link_is_replaced_never_written_through(folder, tmp_path):
    target = tmp_path / "elsewhere"
    target.write_text("precious")
    path = os.path.join(folder, "doc.json")
    os.symlink(target, path)
    write_document(path, "x/1", {"a": 1})
    assert target.read_text() == "precious"
    assert not os.path.islink(path) and read_json(path)["a"] == 1


def test_an_append_log_that_is_a_symbolic_link_is_refused(folder, tmp_path):
    target = tmp_path / "elsewhere"
    target.write_text("")
    path = os.path.join(folder, "metrics.jsonl")
    os.symlink(target, path)
    with pytest.raises(UnsafeFileError):
        append_records(path, [{"a": 1}])
    assert target.read_text() == ""


def test_a_state_folder_writable_by_others_is_refused_with_the_fix(tmp_path):
    folder = tmp_path / "shared"
    folder.mkdir()
    os.chmod(folder, 0o777)
    with pytest.raises(UnsafeFileError, match="chmod go-w"):
        ensure_dir(str(folder))


def test_nan_and_infinity_are_written_as_the_contracts_strings(folder):
    path = os.path.join(folder, "doc.json")
    write_document(path, "x/1", {"loss": float("nan"), "up": float("inf"), "down": float("-inf"), "list": [float("nan")]})
    raw = open(path, encoding="utf-8").read()
    assert "NaN" not in raw.replace('"NaN"', "")  # no bare NaN token: .NET would read the document as corrupt
    doc = json.loads(raw)
    assert (doc["loss"], doc["up"], doc["down"], doc["list"]) == ("NaN", "Infinity", "-Infinity", ["NaN"])


def test_an_update_never_replaces_a_corrupt_document_and_leaves_it_byte_for_byte(folder):
    path = os.path.join(folder, "run.json")
    with open(path, "wb") as f:
        f.write(b'{"schema":"training_run/1", "seq": 3, truncated')
    before = open(path, "rb").read()
    with pytest.raises(CorruptDocumentError, match="Repair or remove it"):
        update_document(path, "training_run/1", lambda old: {**(old or {}), "state": "running"})
    assert open(path, "rb").read() == before


def test_an_update_keeps_what_other_writers_wrote(folder):
    path = os.path.join(folder, "run.json")
    write_document(path, "training_run/1", {"service": "exp-a", "tags": ["x"]})
    update_document(path, "training_run/1", lambda old: {**old, "state": "running"})
    doc = read_json(path)
    assert (doc["service"], doc["tags"], doc["state"], doc["seq"]) == ("exp-a", ["x"], "running", 2)


def test_a_reader_reports_missing_corrupt_wrong_schema_and_oversized_instead_of_raising(folder):
    path = os.path.join(folder, "doc.json")
    assert read_document(path).state == "missing"
    open(path, "w").write("{nope")
    assert read_document(path).state == "corrupt"
    write_document(path, "model_metrics/1", {})
    assert read_document(path, "training_status/1").state == "corrupt"
    assert read_document(path, "model_metrics/1").state == "ok"
    assert read_document(path, max_bytes=10).state == "oversized"


def _hold_lock_in_child(path):
    """A real second process that takes the flock and holds it until its stdin closes."""
    code = textwrap.dedent(f"""
        import fcntl, os, sys
        fd = os.open({path!r}, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        print("locked", flush=True)
        sys.stdin.read()
    """)
    child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "locked"
    return child


def test_a_lock_held_by_another_process_times_out_with_a_typed_error_that_says_what_to_do(folder):
    path = os.path.join(folder, "doc.json")
    child = _hold_lock_in_child(path + ".lock")
    try:
        with pytest.raises(LockTimeoutError, match="another process holds it"):
            write_document(path, "x/1", {}, lock_timeout=0.3)
    finally:
        child.stdin.close()
        child.wait(10)
    write_document(path, "x/1", {}, lock_timeout=5)  # the kernel released it with the process


def test_concurrent_updaters_in_many_processes_never_lose_an_update(folder):
    path = os.path.join(folder, "counter.json")
    code = textwrap.dedent(f"""
        import sys; sys.path.insert(0, {PACKAGE_PARENT!r})
        from stabilitytools._documents import update_document
        for _ in range(40):
            update_document({path!r}, "counter/1", lambda old: {{"n": (old or {{}}).get("n", 0) + 1}}, fsync=False)
    """)
    children = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(4)]
    for child in children:
        assert child.wait(120) == 0
    doc = read_json(path)
    assert doc["n"] == 160 and doc["seq"] == 160


def test_an_append_after_a_writer_died_mid_line_starts_on_a_new_line(folder):
    path = os.path.join(folder, "metrics.jsonl")
    append_records(path, [{"epoch": 1}])
    with open(path, "a") as f:
        f.write('{"epoch": 2, "val_lo')  # a writer killed mid-write
    append_records(path, [{"epoch": 3}])
    records, skipped = read_records(path)
    assert [r["epoch"] for r in records] == [1, 3] and skipped == 1


def test_a_reader_skips_an_incomplete_last_line(folder):
    path = os.path.join(folder, "metrics.jsonl")
    append_records(path, [{"epoch": 1}])
    with open(path, "a") as f:
        f.write('{"epoch": 2}')  # no newline yet: a write in progress
    records, skipped = read_records(path)
    assert [r["epoch"] for r in records] == [1] and skipped == 0


def test_a_log_rotates_by_size_and_keeps_the_retained_files_oldest_first(folder):
    path = os.path.join(folder, "events.jsonl")
    for i in range(60):
        append_records(path, [{"i": i, "pad": "x" * 80}], max_bytes=1024, retained=2)
    assert os.path.exists(rotated_path(path, 1)) and os.path.exists(rotated_path(path, 2))
    assert not os.path.exists(rotated_path(path, 3))
    for file in (path, rotated_path(path, 1), rotated_path(path, 2)):
        assert os.path.getsize(file) <= 1024
    numbers = [r["i"] for r in read_records(path, retained=2)[0]]
    assert numbers == sorted(numbers) and numbers[-1] == 59


def test_temporary_files_of_dead_writers_are_swept_and_live_ones_kept(folder):
    path = os.path.join(folder, "status.json")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait(30)
    leftovers = [f"{path}.tmp-{dead.pid}-abcdef012345", f"{path}.tmp-{dead.pid}"]
    live = f"{path}.tmp-{os.getppid()}-abcdef012345"
    for name in leftovers + [live]:
        open(name, "w").close()
    sweep_temporaries(path)
    assert [os.path.exists(n) for n in leftovers] == [False, False]
    assert os.path.exists(live)


def test_the_lock_is_the_flock_the_dotnet_writers_take(folder):
    # .NET's FileShare.None is flock(LOCK_EX) on the same <file>.lock: holding ours must block theirs (and a raw flock).
    path = os.path.join(folder, "doc.json.lock")
    with FileLock(path):
        fd = os.open(path, os.O_RDWR)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(fd)
    fd = os.open(path, os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.close(fd)
