"""Shared fixtures: a fresh state directory per test, and real child trainers run with the library under test."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Callable, Optional

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
try:
    import stabilitytools  # noqa: F401  (installed in the venv build.ps1 makes)
except ImportError:  # run from the source tree
    sys.path.insert(0, os.path.join(HERE, "..", "src"))
    import stabilitytools  # noqa: F401

# Children import the very copy under test, wherever it was found.
PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(stabilitytools.__file__)))
CHILD = os.path.join(HERE, "child_trainer.py")


@pytest.fixture
def state_dir(tmp_path, monkeypatch):
    # A supervisor's variables in the environment of whoever runs the tests must not leak into them.
    for name in ("STABILITY_HOME", "STABILITY_RUN_ID", "STABILITY_RUN_DIR", "STABILITY_SERVICE"):
        monkeypatch.delenv(name, raising=False)
    return str(tmp_path / "state")


def wait_until(probe: Callable[[], object], what: str, timeout: float = 30.0, interval: float = 0.02):
    """Polls ``probe`` until it returns something truthy, and returns it; fails the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout} s waiting for {what}; last: {last!r}")


def read_json(path: str) -> Optional[dict]:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def read_lines(path: str) -> list:
    try:
        with open(path, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.endswith("\n")]
    except OSError:
        return []


def start_child(state_dir: str, *args: str, env: Optional[dict] = None, **kwargs) -> subprocess.Popen:
    """Starts tests/child_trainer.py in a new process (its own process group, as a supervisor would)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("STABILITY_")}
    environment["PYTHONPATH"] = PACKAGE_PARENT
    environment.update(env or {})
    return subprocess.Popen([sys.executable, CHILD, "--state-dir", state_dir, *args], env=environment,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True, **kwargs)


def finish(process: subprocess.Popen, timeout: float = 60.0):
    """Waits for a child with a bound; kills it (and fails) if it outlives it. Returns (returncode, stdout, stderr)."""
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        pytest.fail(f"the child trainer did not exit within {timeout} s; stderr: {err}")
    return process.returncode, out, err
