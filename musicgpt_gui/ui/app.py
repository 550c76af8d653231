"""``musicgpt-gui``: set Qt up for the web view, open the main window on the workspace."""
from __future__ import annotations

import argparse
import gc
import os
import sys
from typing import Optional, Sequence

APP_NAME = "musicgpt-gui"
ORG_NAME = "musicgpt"


def parse_args(argv: Sequence[str]) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(prog=APP_NAME, description="MIDI -> note text -> GPT-2, in a window.")
    parser.add_argument("--workspace", help="workspace folder (default: $MUSICGPT_WORKSPACE or the user data folder)")
    return parser.parse_known_args(argv)


def prepare_qt_environment() -> None:
    """Before QApplication: Chromium refuses to run its sandbox as root; QtWebEngine needs shared GL contexts."""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")
    from PySide6.QtCore import QCoreApplication, Qt

    QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)


def create_application(qt_args: list[str]):
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([sys.argv[0], *qt_args])
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(ORG_NAME)
    app.setApplicationDisplayName("MusicGPT")
    return app


def main(argv: Optional[Sequence[str]] = None) -> int:
    args, qt_args = parse_args(sys.argv[1:] if argv is None else argv)
    prepare_qt_environment()
    app = create_application(qt_args)

    from musicgpt_gui.core.workspace import resolve_workspace
    from musicgpt_gui.ui.main_window import MainWindow
    from musicgpt_gui.ui.worker import running_workers

    window = MainWindow(resolve_workspace(args.workspace))
    window.show()
    window.dataset_tab.open_default_corpus()
    gc.freeze()  # start-up objects live forever: keep full collections (which stall playback) off them
    code = app.exec()
    for worker in running_workers():  # a job that ignored the close-time cancel gets one more chance
        worker.wait(30.0)
    if running_workers():
        os._exit(code)  # a QThread still running at interpreter exit would abort; leave cleanly instead
    return code


if __name__ == "__main__":
    sys.exit(main())
