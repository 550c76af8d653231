"""What goes into the bundle besides the imported code, and what is kept out (used by build_installer.spec).

Data files are placed at the same relative paths as in site-packages, so the app's lookups
(``importlib.util.find_spec(...).submodule_search_locations``, ``xstatic.pkg.*.BASE_DIR``,
music21's corpus next to its sources) behave the same frozen as from source.
"""
from __future__ import annotations

import fnmatch
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

# music21 corpora the built-in datasets read (core/dataset/sources.py): 'bach' (the chorales) and 'folk' (Essen).
MUSIC21_CORPORA = ("bach", "essenFolksong")

HIDDEN_IMPORTS = [
    "mido.backends.rtmidi",  # mido loads its backend by name at run time
    "PySide6.QtWebEngineCore",
    "PySide6.QtWebEngineWidgets",
    "xstatic.pkg.jquery",
    "xstatic.pkg.requirejs",
    "gpt_2_simple.src.model",
    "gpt_2_simple.src.sample",
    "gpt_2_simple.src.encoder",
    "gpt_2_simple.src.load_dataset",
    "gpt_2_simple.src.accumulate",
]

_UNUSED_QT = [
    "Qt3DAnimation", "Qt3DCore", "Qt3DExtras", "Qt3DInput", "Qt3DLogic", "Qt3DRender",
    "QtBluetooth", "QtDataVisualization", "QtDesigner", "QtGraphs", "QtGraphsWidgets", "QtHelp",
    "QtHttpServer", "QtLocation", "QtMultimediaWidgets", "QtNfc", "QtPdf",
    "QtPdfWidgets", "QtQuick3D", "QtRemoteObjects", "QtScxml", "QtSensors", "QtSerialBus",
    "QtSerialPort", "QtSpatialAudio", "QtSql", "QtStateMachine", "QtTest", "QtTextToSpeech",
    "QtUiTools", "QtAxContainer",
]
EXCLUDED_MODULES = [
    # Never imported by the app: torch (PyInstaller's keras hook crashes on it), bertviz's Python
    # (pulls torch + IPython; only its JS files are bundled), mpld3's Python (only d3 is used),
    # notebooks.  matplotlib stays: music21 warns on every start without it.
    "torch", "torchvision", "bertviz", "IPython", "ipykernel", "ipywidgets", "jupyter_client",
    "jax", "jaxlib", "tensorboard", "mpld3", "scipy", "pandas", "tkinter", "_tkinter",
    "PyQt5", "PyQt6", "pytest", "pytestqt",
] + [f"PySide6.{name}" for name in _UNUSED_QT]

# Dest-path patterns of collected files the app never loads.
UNUSED_FILES = [
    "PySide6/Qt/translations/*.qm",  # the app installs no QTranslator
    "PySide6/Qt/resources/qtwebengine_devtools_resources.pak",
    "tensorflow/include/*",
]
KEPT_WEBENGINE_LOCALES = ("en-US.pak",)


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"build_installer.spec: package {name} is not installed in the build environment")
    return Path(list(spec.submodule_search_locations)[0])


def _files(base: Path, pattern: str, dest: str) -> list[tuple[str, str]]:
    found = sorted(p for p in base.glob(pattern) if p.is_file())
    if not found:
        raise SystemExit(f"build_installer.spec: nothing matches {base / pattern}")
    return [(str(p), str(Path(dest) / p.relative_to(base).parent)) for p in found]


def resource_datas(checkout: str) -> list[tuple[str, str]]:
    """Our resources/ folder as the package musicgpt_gui.resources (its __init__.py included, so
    importlib.resources finds it next to the bundled musicgpt_gui package)."""
    return _files(Path(checkout), "resources/*", "musicgpt_gui")


def builtin_dataset_datas(checkout: str) -> list[tuple[str, str]]:
    """The pre-converted Bach dataset the first start unpacks (core/dataset/builtin.py)."""
    return _files(Path(checkout) / "musicgpt_gui/core/dataset", "data/*.zip", "musicgpt_gui/core/dataset")


def selftest_datas(checkout: str) -> list[tuple[str, str]]:
    """The self-test's multitrack MIDI file (musicgpt_gui/selftest/data), read through symusic."""
    return _files(Path(checkout) / "musicgpt_gui/selftest", "data/*.mid", "musicgpt_gui/selftest")


def music21_corpus_datas() -> list[tuple[str, str]]:
    corpus = _package_dir("music21") / "corpus"
    datas = []
    for name in MUSIC21_CORPORA:
        datas += _files(corpus, f"{name}/**/*", "music21/corpus")
    return datas + _files(corpus, "_metadataCache/*", "music21/corpus")


def web_asset_datas() -> list[tuple[str, str]]:
    """BertViz's views, d3 (from mpld3) and jQuery/RequireJS (XStatic) as plain files."""
    site = _package_dir("bertviz").parent
    return (
        _files(site, "bertviz/head_view.js", ".")
        + _files(site, "bertviz/model_view.js", ".")
        + _files(site, "mpld3/js/d3.v5.min.js", ".")
        + _files(site, "xstatic/pkg/jquery/data/jquery*.js", ".")
        + _files(site, "xstatic/pkg/requirejs/data/require*.js", ".")
    )


def _unused(dest: str) -> bool:
    dest = dest.replace("\\", "/")
    if "/qtwebengine_locales/" in dest:
        return not dest.endswith(KEPT_WEBENGINE_LOCALES)
    return any(fnmatch.fnmatch(dest, pattern) for pattern in UNUSED_FILES)


def drop_unused_files(toc: list) -> list:
    """Filter a PyInstaller TOC (dest, src, kind) by :data:`UNUSED_FILES`."""
    return [entry for entry in toc if not _unused(entry[0])]


# Strip only TensorFlow's libraries (about 230 MB of symbols): strip corrupts libraries that
# auditwheel/patchelf repaired (numpy's OpenBLAS: "ELF load command address/offset not page-aligned").
STRIPPED = ("tensorflow/*.so*",)


def strip_selected(toc: list, workdir: str) -> list:
    """On Linux, point the :data:`STRIPPED` binaries of a TOC at stripped copies under ``workdir``."""
    if not sys.platform.startswith("linux") or shutil.which("strip") is None:
        return toc
    result = []
    for dest, src, kind in toc:
        if kind in ("BINARY", "EXTENSION") and any(fnmatch.fnmatch(dest.replace("\\", "/"), p) for p in STRIPPED):
            copy = Path(workdir) / "stripped" / dest
            if not copy.is_file() or copy.stat().st_mtime < Path(src).stat().st_mtime:
                copy.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, copy)
                subprocess.run(["strip", str(copy)], check=True)
            src = str(copy)
        result.append((dest, src, kind))
    return result
