"""The self-test's window step: the main window opens offscreen with its four tabs.

Proves what only the real window can: the bundled Qt platform plugins, widgets, the stylesheet and
icons load, every tab builds, and QtMultimedia (the GUI's Play) is in the bundle.  Its settings go
to a file in the self-test's workspace, never to the user's.
"""
from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QEvent, QLoggingCategory, QSettings, qInstallMessageHandler

from musicgpt_gui.core.workspace import Workspace
from musicgpt_gui.selftest.checks import StepFailed
from musicgpt_gui.selftest.page_check import offscreen_defaults

TABS = ["Dataset", "Finetune", "Generate", "Attention"]
# What Qt says about a machine without a sound server or a window system: true, and not a failure.
EXPECTED_NOISE = ("PulseAudioService", "This plugin does not support propagateSizeHints")


def _quiet(_mode, _context, message: str) -> None:
    if not message.startswith(EXPECTED_NOISE):
        print(message)


def check_main_window(workspace: Workspace) -> str:
    offscreen_defaults()
    QLoggingCategory.setFilterRules("qt.multimedia*=false")  # its probing of absent backends
    previous = qInstallMessageHandler(_quiet)
    from musicgpt_gui.ui.app import create_application, prepare_qt_environment

    prepare_qt_environment()
    app = create_application([])
    from PySide6.QtMultimedia import QMediaDevices  # the GUI's audio output; imported on first Play

    from musicgpt_gui.ui.main_window import MainWindow

    settings = QSettings(str(workspace.root / "selftest-gui.ini"), QSettings.Format.IniFormat)
    window = MainWindow(workspace, settings)
    try:
        window.show()
        app.processEvents()
        titles = [window.tabs.tabText(i).replace("&", "") for i in range(window.tabs.count())]
        if titles != TABS:
            raise StepFailed(f"the main window's tabs are {titles}, not {TABS}")
        if not window.isVisible():
            raise StepFailed("the main window did not show")
        outputs = len(QMediaDevices.audioOutputs())
    finally:
        window.close()
        window.deleteLater()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        qInstallMessageHandler(previous)
    return f"{', '.join(titles)}; QtMultimedia sees {outputs} audio output(s)"
