"""gpt-2-simple is fenced behind one adapter: only core/model/store/gpt2_backend.py imports it."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import musicgpt_gui

PACKAGE = Path(musicgpt_gui.__file__).parent


def test_only_the_backend_module_imports_gpt_2_simple() -> None:
    importers = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(n.split(".")[0] == "gpt_2_simple" for n in names):
                importers.add(path.relative_to(PACKAGE).as_posix())
    assert importers == {"core/model/store/gpt2_backend.py"}


def test_the_bpe_encoder_loads_without_tensorflow() -> None:
    code = (
        "import sys; from musicgpt_gui.core.model.store import gpt2_backend; "
        "assert gpt2_backend.encoder_module().bytes_to_unicode()[ord('a')] == 'a'; "
        "assert 'tensorflow' not in sys.modules and 'gpt_2_simple' not in sys.modules"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
