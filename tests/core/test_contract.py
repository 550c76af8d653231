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


def test_no_import_cycle_between_any_two_modules() -> None:
    """Every import counts, lazy and TYPE_CHECKING ones too (grimp, the graph import-linter checks)."""
    import grimp

    graph = grimp.build_graph("musicgpt_gui")
    cycles = []
    for module in sorted(graph.modules):
        for other in graph.find_modules_directly_imported_by(module):
            if other > module and graph.chain_exists(importer=other, imported=module):
                cycles.append(f"{module} <-> {other} via {graph.find_shortest_chain(importer=other, imported=module)}")
    assert not cycles, "\n".join(cycles)


def test_each_core_subpackage_stays_small_enough_to_read_in_one_go() -> None:
    """About 8 modules a room (README's layout section); a room past 10 is split by concern."""
    rooms = {p.parent for p in CORE.rglob("*.py")}
    sizes = {room: len([p for p in room.glob("*.py") if p.stem != "__init__"]) for room in rooms}
    big = {str(room.relative_to(CORE)): n for room, n in sizes.items() if n > 10}
    assert not big, big
