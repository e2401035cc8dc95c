"""`pip install ./python` into a fresh virtual environment works with no network (issue #19's Must-show)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

import stabilitytools

PROJECT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def test_pip_installs_the_package_into_a_fresh_venv_without_a_network(tmp_path):
    try:
        import ensurepip  # noqa: F401  (Debian's python3-venv)
    except ImportError:
        pytest.skip("python3 -m venv cannot make a venv with pip here (Debian: apt-get install python3-venv)")
    # A copy of the project, so the build's own folders (build/, *.egg-info) never land in the repository.
    source = tmp_path / "python"
    shutil.copytree(PROJECT, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__", ".pytest_cache"))
    venv = tmp_path / "venv"
    # --system-site-packages: the build backend (setuptools, wheel) comes from the system, as nothing can be downloaded.
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True, timeout=120)
    python = str(venv / "bin" / "python")
    # No index and a proxy that refuses every connection: any attempt to reach a network fails the install.
    env = {**os.environ, "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1", "https_proxy": "http://127.0.0.1:9",
           "http_proxy": "http://127.0.0.1:9", "PYTHONPATH": ""}
    done = subprocess.run([python, "-m", "pip", "install", "--no-index", "--no-build-isolation", str(source)],
                          capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    check = subprocess.run([python, "-c", "import stabilitytools, sys; print(stabilitytools.__version__, stabilitytools.__file__)"],
                           capture_output=True, text=True, timeout=60, cwd=str(tmp_path), env=env)
    assert check.returncode == 0, check.stderr
    version, location = check.stdout.split()
    assert version == stabilitytools.__version__ and location.startswith(str(venv))
