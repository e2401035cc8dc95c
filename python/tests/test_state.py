"""Where a run's files go: the state directory and the run, from the supervisor's environment or by hand."""
from __future__ import annotations

import os
import re

import pytest

from stabilitytools import ConfigurationError
from stabilitytools._state import RunLocation, new_run_id, resolve_root


def test_the_state_directory_is_resolved_as_every_cmdlet_resolves_it(tmp_path):
    home = str(tmp_path)
    assert resolve_root("/x/y", {"STABILITY_HOME": "/a"}) == "/x/y"
    assert resolve_root(None, {"STABILITY_HOME": "/a", "XDG_STATE_HOME": "/b"}) == "/a"
    assert resolve_root(None, {"XDG_STATE_HOME": "/b", "HOME": home}) == "/b/stability-tools"
    # A relative XDG_STATE_HOME is ignored, as the XDG specification says.
    assert resolve_root(None, {"XDG_STATE_HOME": "rel", "HOME": home}) == os.path.join(home, ".local/state/stability-tools")


def test_the_supervisors_run_wins_over_the_arguments_so_every_restart_resumes_it(tmp_path):
    root = str(tmp_path / "state")
    run_dir = os.path.join(root, "runs", "20261130-010203-abcdef")
    env = {"STABILITY_HOME": root, "STABILITY_RUN_ID": "20261130-010203-abcdef", "STABILITY_RUN_DIR": run_dir,
           "STABILITY_SERVICE": "exp-a"}
    where = RunLocation.resolve(None, run_id="by-hand", service="other", environ=env)
    assert (where.root, where.run_id, where.run_dir, where.service) == (root, "20261130-010203-abcdef", run_dir, "exp-a")
    assert os.path.isdir(run_dir) and os.stat(run_dir).st_mode & 0o777 == 0o700


def test_by_hand_a_run_gets_the_id_given_or_a_new_one_and_the_training_service(tmp_path):
    root = str(tmp_path / "state")
    given = RunLocation.resolve(root, run_id="mine", environ={})
    assert (given.run_id, given.run_dir, given.service) == ("mine", os.path.join(root, "runs", "mine"), "training")
    fresh = RunLocation.resolve(root, environ={})
    assert re.match(r"\A\d{8}-\d{6}-[0-9a-f]{6}\Z", fresh.run_id)
    assert new_run_id() != new_run_id()


@pytest.mark.parametrize("bad", ["../escape", "-dash", "a/b", "x" * 65, " "])
def test_an_invalid_run_id_is_refused_with_what_is_allowed(tmp_path, bad):
    with pytest.raises(ConfigurationError, match="letters, digits"):
        RunLocation.resolve(str(tmp_path), run_id=bad, environ={})
    assert not (tmp_path / "runs").exists()  # refused before anything was created
