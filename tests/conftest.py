"""Shared test setup: no real user data is touched; Qt runs offscreen."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def pytest_configure(config):  # noqa: ARG001
    import tempfile

    if "CHORUS_HOME" not in os.environ:
        os.environ["CHORUS_HOME"] = tempfile.mkdtemp(prefix="chorus-home-")
    os.environ.setdefault("CHORUS_VOICE_BANK", os.path.join(os.environ["CHORUS_HOME"], "voices"))
