"""`musicgpt-gui` start-up: a window on the chosen workspace, without TensorFlow in the process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PROBE = """
import json, sys
from PySide6.QtWidgets import QApplication
from musicgpt_gui.ui import app
from musicgpt_gui.ui.main_window import MainWindow

def exec_(self):
    window = next(w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible())
    QApplication.processEvents()
    print(json.dumps({
        "tensorflow": "tensorflow" in sys.modules,
        "gpt_2_simple": "gpt_2_simple" in sys.modules,
        "workspace": str(window.context.workspace.root),
        "tabs": [window.tabs.tabText(i) for i in range(window.tabs.count())],
        "importing": window.dataset_tab.busy(),
        "datasets": sorted(p.name for p in window.context.workspace.datasets.iterdir()),
        "rows": window.dataset_tab.table.rowCount(),
        "app": QApplication.applicationName(),
    }))
    window.close()
    return 0

QApplication.exec = exec_
sys.exit(app.main(sys.argv[1:]))
"""


def start(tmp_path: Path, args: list[str], env_workspace: str | None = None) -> dict:
    env = {k: v for k, v in __import__("os").environ.items() if k != "MUSICGPT_WORKSPACE"}
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    env["XDG_DATA_HOME"] = str(tmp_path / "data")
    if env_workspace:
        env["MUSICGPT_WORKSPACE"] = env_workspace
    out = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_window_opens_without_tensorflow_on_the_bach_corpus(tmp_path: Path) -> None:
    seen = start(tmp_path, ["--workspace", str(tmp_path / "ws")])
    assert seen["tensorflow"] is False and seen["gpt_2_simple"] is False
    assert seen["tabs"] == ["Dataset", "Finetune", "Generate", "Attention"]
    assert seen["workspace"] == str((tmp_path / "ws").resolve())
    # A first start shows the built-in Bach dataset at once: unpacked, not imported.
    assert seen["datasets"] == ["bach"] and not seen["importing"] and seen["rows"] > 300
    assert seen["app"] == "musicgpt-gui"
    assert (tmp_path / "ws" / "datasets").is_dir()


def test_workspace_comes_from_the_environment_then_the_user_data_folder(tmp_path: Path) -> None:
    assert start(tmp_path, [], env_workspace=str(tmp_path / "env-ws"))["workspace"] == str(
        (tmp_path / "env-ws").resolve()
    )
    assert start(tmp_path, [])["workspace"].startswith(str(tmp_path / "data"))
