"""The Qt-free packages run where PySide6 cannot be imported at all."""

from __future__ import annotations

import subprocess
import sys
import textwrap

CODE = textwrap.dedent(
    """
    import sys, tempfile, importlib.abc

    class NoQt(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in {"PySide6", "shiboken6", "torch", "transformers"}:
                raise ImportError(f"{name} is blocked in this test")
            return None

    sys.meta_path.insert(0, NoQt())
    import studio.core.store, studio.core.ops, studio.core.layout, studio.core.script_formats
    import studio.render.takes, studio.render.client, studio.audio
    import pkgutil, importlib, studio.audio, studio.bank
    for pkg in (studio.audio, studio.bank):
        for mod in pkgutil.iter_modules(pkg.__path__):
            importlib.import_module(f"{pkg.__name__}.{mod.name}")
    from studio.core import ops
    from studio.core.model import ScriptLine, Speaker
    from studio.core.store import ProjectFile
    pf = ProjectFile.create(tempfile.mkdtemp() + "/p")
    pf.project.apply(ops.Insert(Speaker("a", "A")))
    pf.project.apply(ops.add_line(ScriptLine("L1", "a", "hello")))
    pf.close()
    assert ProjectFile.open(pf.root).project.lines["L1"].text == "hello"
    assert not any(m.split(".")[0] in {"PySide6", "torch", "transformers"} for m in sys.modules)
    print("ok")
    """
)


def test_core_runs_with_pyside6_unimportable() -> None:
    result = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
