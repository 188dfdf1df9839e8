"""When Qt cannot open a window, `chorus` says why in plain words (no Qt abort, no core dump)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from studio.ui.qt_platform import (
    DEBIAN_PACKAGES,
    explain_missing,
    missing_libraries,
    platform_name,
    plugin_path,
)


def test_platform_name_follows_the_environment():
    assert platform_name({"QT_QPA_PLATFORM": "offscreen"}) == "offscreen"
    assert platform_name({"QT_QPA_PLATFORM": "wayland;xcb"}) == "wayland"
    if sys.platform == "linux":
        assert platform_name({"DISPLAY": ":0"}) == "xcb"
        assert platform_name({"XDG_SESSION_TYPE": "wayland", "WAYLAND_DISPLAY": "wayland-0"}) == "wayland"


def test_missing_libraries_are_named_with_their_packages():
    text = explain_missing(["libxcb-cursor.so.0", "libxcb-icccm.so.4", "libfoo.so.9"], "xcb")
    assert "sudo apt install libxcb-cursor0 libxcb-icccm4" in text
    assert "libfoo.so.9" in text and "apt-file" in text


@pytest.mark.skipif(sys.platform != "linux", reason="ldd and the xcb plugin are Linux things")
def test_the_xcb_plugin_libraries_we_miss_all_have_a_package_name():
    plugin = plugin_path("xcb")
    assert plugin is not None
    for lib in missing_libraries(plugin):
        assert lib in DEBIAN_PACKAGES, f"{lib} is missing here and the message would not name its package"


@pytest.mark.skipif(sys.platform != "linux", reason="X11 display numbers are a Linux thing here")
def test_studio_without_a_usable_display_exits_with_a_plain_reason(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
    env.update(DISPLAY=":97", CHORUS_HOME=str(tmp_path), XDG_SESSION_TYPE="x11")
    proc = subprocess.run(
        [sys.executable, "-m", "studio.cli", "studio"], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 2, proc.stderr  # not a Qt abort (negative: killed by SIGABRT)
    assert "the studio window cannot open" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert ("sudo apt install" in proc.stderr) or ("DISPLAY=:97" in proc.stderr)
