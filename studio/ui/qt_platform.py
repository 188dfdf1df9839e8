"""Can Qt open a window here? Checked before the QApplication exists, because Qt aborts the whole
process (core dump) when its platform plugin cannot load.

``platform_problem()`` starts a throw-away process that creates a QGuiApplication with the same
environment; if that process dies, it names the cause: the shared libraries the platform plugin
misses (with the Debian/Ubuntu packages that provide them) or an unreachable display server.

Thread contract: call from the main thread before ``make_app``; it blocks for the probe (~0.3 s).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

# Shared libraries of Qt's xcb/wayland plugins → the Debian/Ubuntu package that provides each.
DEBIAN_PACKAGES: dict[str, str] = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xinerama.so.0": "libxcb-xinerama0",
    "libxcb-xinput.so.0": "libxcb-xinput0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb-glx.so.0": "libxcb-glx0",
    "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libSM.so.6": "libsm6",
    "libICE.so.6": "libice6",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libOpenGL.so.0": "libopengl0",
    "libGLX.so.0": "libglx0",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libwayland-client.so.0": "libwayland-client0",
    "libwayland-cursor.so.0": "libwayland-cursor0",
    "libwayland-egl.so.1": "libwayland-egl1",
}
# What the README tells users to install for the studio window on Debian/Ubuntu (X11).
QT_XCB_PACKAGES = (
    "libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-xinerama0 libxcb-randr0 "
    "libxcb-render-util0 libxcb-image0 libxkbcommon-x11-0 libegl1 libgl1 libfontconfig1 libdbus-1-3"
)

_PROBE = "import sys; from PySide6.QtGui import QGuiApplication; QGuiApplication(sys.argv[:1]); print('ok')"


def platform_name(environ: os._Environ[str] | dict[str, str] | None = None) -> str:
    """The platform plugin Qt will try first: QT_QPA_PLATFORM, else wayland in a Wayland session, else xcb."""
    env = os.environ if environ is None else environ
    explicit = env.get("QT_QPA_PLATFORM", "").split(":", 1)[0].split(";", 1)[0].strip()
    if explicit:
        return explicit
    if sys.platform != "linux":
        return "native"
    if env.get("XDG_SESSION_TYPE") == "wayland" and env.get("WAYLAND_DISPLAY"):
        return "wayland"
    return "xcb"


def plugin_path(name: str) -> Path | None:
    """The platform plugin's shared library inside the installed PySide6, if present."""
    try:
        import PySide6  # noqa: PLC0415 - only to find its folder; no Qt library is loaded
    except ImportError:
        return None
    lib = Path(PySide6.__file__).parent / "Qt" / "plugins" / "platforms" / f"libq{name}.so"
    return lib if lib.exists() else None


def missing_libraries(plugin: Path) -> list[str]:
    """Shared libraries the plugin needs that the dynamic loader cannot find (ldd's "not found")."""
    try:
        out = subprocess.run(["ldd", str(plugin)], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    found = re.findall(r"^\s*(\S+)\s+=>\s+not found", out, flags=re.M)
    return sorted(dict.fromkeys(found))


def explain_missing(libs: list[str], platform: str) -> str:
    packages = sorted({DEBIAN_PACKAGES.get(lib, "?") for lib in libs} - {"?"})
    unknown = [lib for lib in libs if lib not in DEBIAN_PACKAGES]
    text = f"the studio window cannot open: Qt's '{platform}' platform plugin misses {', '.join(libs)}."
    if packages:
        text += f"\n  On Debian/Ubuntu: sudo apt install {' '.join(packages)}"
    if unknown:
        text += f"\n  (find the package for {', '.join(unknown)} with: apt-file search NAME)"
    text += "\n  Without a window: chorus render / chorus export work headless (see chorus --help)."
    return text


def platform_problem(timeout: float = 30.0) -> str | None:
    """None when a QGuiApplication can start here; else a plain explanation of why not (no traceback)."""
    name = platform_name()
    if name in ("offscreen", "minimal", "native"):
        return None
    try:
        probe = subprocess.run(
            [sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=timeout, env=os.environ.copy()
        )
    except subprocess.TimeoutExpired:
        return f"the studio window cannot open: Qt's '{name}' platform did not start within {timeout:.0f} s."
    if probe.returncode == 0 and probe.stdout.strip().endswith("ok"):
        return None
    plugin = plugin_path(name)
    libs = missing_libraries(plugin) if plugin is not None else []
    if libs:
        return explain_missing(libs, name)
    qt_lines = [line.strip() for line in probe.stderr.splitlines() if line.strip()]
    said = next((line for line in qt_lines if "display" in line.lower()), qt_lines[0] if qt_lines else "")
    text = f"the studio window cannot open: Qt's '{name}' platform plugin did not start"
    if said:
        text += f" ({said})"
    if name == "xcb":
        display = os.environ.get("DISPLAY", "")
        text += f".\n  Is the X server at DISPLAY={display or '(unset)'} running and reachable?"
        text += f"\n  On Debian/Ubuntu the Qt window needs: sudo apt install {QT_XCB_PACKAGES}"
    else:
        text += "."
    text += "\n  Without a window: chorus render / chorus export work headless (see chorus --help)."
    return text
