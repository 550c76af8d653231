"""Screenshots of every tab: the real app, offscreen, clicked through import -> finetune -> generate -> attention.

Usage: python scripts/screenshots.py OUT_DIR [--steps N]

Works in a throwaway workspace: imports a few Bach chorales, trains a tiny new music model
for a few steps, generates from a chorale's opening and opens the attention view, saving
OUT_DIR/<n>-<tab>.png after each stage.  Everything runs through the tabs' own buttons.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--disable-gpu --no-sandbox")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def wait_until(app, condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    end = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > end:
            raise SystemExit(f"screenshots: timed out waiting for {what}")
        app.processEvents()
        time.sleep(0.02)


def settle(app, seconds: float = 0.5) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder for the PNG files")
    parser.add_argument("--steps", type=int, default=40, help="training steps for the tiny model")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    from PySide6.QtCore import QSettings

    from musicgpt_gui.core.workspace import resolve_workspace
    from musicgpt_gui.ui import app as gui_app

    gui_app.prepare_qt_environment()
    app = gui_app.create_application([])
    from musicgpt_gui.ui.main_window import MainWindow

    root = Path(tempfile.mkdtemp(prefix="musicgpt-shots-"))
    settings = QSettings(str(root / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(resolve_workspace(root / "ws"), settings)
    window.resize(1280, 860)
    window.show()
    settle(app)

    def shot(name: str) -> None:
        settle(app, 0.8)
        path = args.out / f"{name}.png"
        window.grab().save(str(path))
        print(f"saved {path}")

    data = window.dataset_tab
    window.tabs.setCurrentWidget(data)
    data.limit.setValue(8)
    data.name.setText("bach")
    data.import_button.click()
    wait_until(app, lambda: not data.busy(), 600, "the import")
    data.table.selectRow(1)
    shot("1-dataset")

    tune = window.finetune_tab
    window.tabs.setCurrentWidget(tune)
    tune.refresh()
    tune.run_name.setText("bach-tiny")
    tune.size.setCurrentText("tiny")
    for key, value in dict(steps=args.steps, batch_size=2, window=128, validate_every=5, sample_every=10,
                           save_every=10).items():
        tune.hyper[key].setValue(value)
    tune.learning_rate.setValue(0.003)
    tune.start_button.click()
    wait_until(app, lambda: not tune.busy(), 1800, "training")
    tune.samples.setCurrentRow(tune.samples.count() - 1)
    shot("2-finetune")

    gen = window.generate_tab
    window.tabs.setCurrentWidget(gen)
    gen.refresh()
    gen.prefix_items.setValue(12)
    gen.from_dataset.click()
    gen.length.setValue(96)
    gen.variations.setValue(2)
    gen.random_seed.setChecked(False)
    gen.seed.setValue(3)
    gen.generate_button.click()
    wait_until(app, lambda: not gen.busy(), 600, "generation")
    shot("3-generate")

    gen.attention_button.click()
    att = window.attention_tab
    wait_until(app, lambda: not att.busy(), 600, "attention")
    shot("4-attention-roll")
    att.views.setCurrentWidget(att.bertviz)
    wait_until(app, att.sync_timer.isActive, 120, "the attention page")
    drawn: list[object] = []
    att.run_js("document.querySelectorAll('select#layer option').length", drawn.append)
    wait_until(app, lambda: bool(drawn), 30, "BertViz's layer selector")
    settle(app, 2.0)
    shot("5-attention-bertviz")

    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
