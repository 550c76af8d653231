"""PyInstaller runtime hook: music21 finds its corpus inside the bundle.

music21 locates its corpus relative to its own source file (``common.getSourceFilePath`` uses
``inspect.getfile`` and checks for a ``stream`` folder next to it); in a frozen build the code
comes from the archive, so that lookup fails with "cannot find expected music21 directory".
This hook points ``getSourceFilePath`` at ``_internal/music21``, where the spec puts the corpus,
as soon as ``music21.common.pathTools`` is loaded (before ``music21.common`` re-exports it).
"""
import importlib.abc
import importlib.util
import pathlib
import sys

_MODULE = "music21.common.pathTools"
_MUSIC21_DIR = pathlib.Path(sys._MEIPASS) / "music21"


def _bundled_source_path() -> pathlib.Path:
    return _MUSIC21_DIR


class _PatchingLoader(importlib.abc.Loader):
    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        module.getSourceFilePath = _bundled_source_path


class _PathToolsFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name != _MODULE:
            return None
        sys.meta_path.remove(self)  # once is enough; also keeps the lookup below from recursing
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _PatchingLoader(spec.loader)
        return spec


sys.meta_path.insert(0, _PathToolsFinder())
