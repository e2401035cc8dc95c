"""Where things are: the state directory, the run's folder and id, from the supervisor's environment or by hand."""
from __future__ import annotations

import datetime
import os
import re
import secrets
from typing import Mapping, Optional

from ._files import ensure_dir
from .errors import ConfigurationError

HOME_VARIABLE = "STABILITY_HOME"
SERVICE_VARIABLE = "STABILITY_SERVICE"
RUN_ID_VARIABLE = "STABILITY_RUN_ID"
RUN_DIR_VARIABLE = "STABILITY_RUN_DIR"
# Set to 1 by a supervisor that runs the service as another user (-RunAsUser): the service was given its run's folder
# only (on a descriptor, STABILITY_RUN_DIR=/proc/self/fd/9) and writes its events there; the supervisor copies them into
# the state directory's log, which that user cannot reach.
DELEGATED_VARIABLE = "STABILITY_RUN_DELEGATED"
DEFAULT_SERVICE = "training"

_RUN_ID = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")
_SERVICE = re.compile(r"\A[a-z0-9][a-z0-9._-]{0,62}\Z")


def resolve_root(explicit: Optional[str] = None, environ: Mapping[str, str] = os.environ) -> str:
    """The state directory: ``explicit``, else ``$STABILITY_HOME``, else ``$XDG_STATE_HOME/stability-tools`` (an
    absolute one only), else ``~/.local/state/stability-tools``: the rule every cmdlet and executable follows."""
    if explicit:
        return os.path.abspath(os.fspath(explicit))
    if environ.get(HOME_VARIABLE):
        return os.path.abspath(environ[HOME_VARIABLE])
    xdg = environ.get("XDG_STATE_HOME")
    if xdg and os.path.isabs(xdg):
        return os.path.join(os.path.abspath(xdg), "stability-tools")
    home = environ.get("HOME") or os.path.expanduser("~")
    return os.path.join(os.path.abspath(home), ".local", "state", "stability-tools")


def is_valid_run_id(run_id: Optional[str]) -> bool:
    return run_id is not None and _RUN_ID.match(run_id) is not None


def new_run_id(now: Optional[datetime.datetime] = None) -> str:
    """A new id as the product makes them: the UTC start time and a random suffix (``20261129-214501-3fa9c2``)."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    return now.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)


class RunLocation:
    """The state directory, the run's id and folder, and the service whose events the run writes."""

    def __init__(self, root: str, run_id: str, run_dir: str, service: str, delegated: bool = False):
        self.root, self.run_id, self.run_dir, self.service, self.delegated = root, run_id, run_dir, service, delegated

    @property
    def events_path(self) -> str:
        return os.path.join(self.run_dir if self.delegated else self.root, "events.jsonl")

    def file(self, name: str) -> str:
        return os.path.join(self.run_dir, name)

    @classmethod
    def resolve(cls, state_dir: Optional[str] = None, run_id: Optional[str] = None, service: Optional[str] = None,
                environ: Mapping[str, str] = os.environ) -> "RunLocation":
        """The supervisor's run (``STABILITY_RUN_ID``, ``STABILITY_RUN_DIR``) wins, since every restart of the service
        must resume it; run by hand, ``run_id`` or a new one. The folders are created owner-only and checked."""
        root = resolve_root(state_dir, environ)
        given = (environ.get(RUN_ID_VARIABLE) or "").strip() or run_id or new_run_id()
        if not is_valid_run_id(given):
            raise ConfigurationError(
                f"{given!r} is not a valid run id: use 1 to 64 characters of letters, digits, '.', '_' and '-', "
                "starting with a letter or digit.")
        service = (environ.get(SERVICE_VARIABLE) or "").strip() or service or DEFAULT_SERVICE
        if not _SERVICE.match(service):
            raise ConfigurationError(
                f"{service!r} is not a valid service name: use 1 to 63 characters of a-z, 0-9, '.', '_' and '-', "
                "starting with a letter or digit.")
        run_dir = environ.get(RUN_DIR_VARIABLE) if environ.get(RUN_ID_VARIABLE) else None
        if environ.get(DELEGATED_VARIABLE) == "1" and run_dir and environ.get(RUN_ID_VARIABLE):
            # Nothing above the run's folder can be reached; the folder itself must be ours and closed to others.
            ensure_dir(os.path.join(run_dir, "."))  # the folder behind the descriptor, not the /proc link to it
            return cls(root, given, run_dir, service, delegated=True)
        run_dir = os.path.abspath(run_dir) if run_dir else os.path.join(root, "runs", given)
        ensure_dir(root)
        ensure_dir(os.path.dirname(run_dir))
        ensure_dir(run_dir)
        return cls(root, given, run_dir, service)
