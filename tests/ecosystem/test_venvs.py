"""The client venvs are reused while their pins match, rebuilt when they change, and a
build that cannot be done fails with pip's reason (the tests then skip, or fail in CI)."""

from __future__ import annotations

import json
import os
import sys

import pytest

from tests.ecosystem.venvs import STAMP, VenvSpec, VenvUnavailable, ensure_venv, is_current


@pytest.mark.slow  # creates one venv (ensurepip)
def test_venvs_are_reused_while_current_and_rebuilt_when_pins_change(tmp_path, monkeypatch):
    monkeypatch.setenv("ANNOTASK_ECOSYSTEM_VENVS", str(tmp_path))
    spec = VenvSpec("selftest", (("annotask-no-such-package==1.0",),))
    assert not is_current(spec)

    # A venv already built with these pins (made by hand: building one takes a while).
    (spec.path / "bin").mkdir(parents=True)
    os.symlink(sys.executable, spec.python)
    (spec.path / STAMP).write_text(json.dumps(spec.stamp()))
    marker = spec.path / "marker"
    marker.write_text("kept")
    assert is_current(spec)
    assert ensure_venv(spec) == spec.python  # nothing is installed: the pin is never fetched
    assert marker.exists()

    # New pins: the old venv is thrown away and a build starts; with no registry it fails
    # with pip's words, without the noise of the machine's missing index directories.
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path))
    changed = VenvSpec("selftest", (("annotask-no-such-package==2.0",),))
    assert not is_current(changed)
    try:
        ensure_venv(changed)
    except VenvUnavailable as error:
        message = str(error)
    else:
        raise AssertionError("the build should have failed")
    assert "could not build .venv-selftest" in message
    assert "annotask-no-such-package==2.0" in message
    assert "is ignored: it is neither a file nor a directory" not in message
    assert not marker.exists()
    assert not is_current(spec) and not is_current(changed)
