"""musicgpt_gui.core must stay Qt-free, so it runs headless and in the CLI without Qt."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import musicgpt_gui.core

CORE = Path(musicgpt_gui.core.__file__).parent
QT_ROOTS = {"PySide6", "PyQt5", "PyQt6", "shiboken6", "qtpy"}


def test_no_module_under_core_imports_qt() -> None:
    offenders = []
    for path in sorted(CORE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.relative_to(CORE)}: {n}" for n in names if n.split(".")[0] in QT_ROOTS]
    assert not offenders, offenders


def test_importing_every_core_module_loads_no_qt() -> None:
    modules = [
        "musicgpt_gui.core." + ".".join(p.relative_to(CORE).with_suffix("").parts).removesuffix(".__init__")
        for p in sorted(CORE.rglob("*.py"))
    ]
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {sorted(QT_ROOTS)!r})\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", out.stdout
