"""The built-in Bach dataset, shipped pre-converted so the first start shows it at once.

Converting the 371 chorales takes about a minute; unpacking the shipped archive takes
milliseconds.  The archive is exactly what ``import_dataset(["corpus:bach"], ImportOptions())``
writes (tests/core/test_builtin_dataset.py checks it against a fresh import and the current
format version).  Rebuild it after a change to the conversion:

    python -m musicgpt_gui.core.dataset.builtin
"""

from __future__ import annotations

import tempfile
import zipfile
from importlib import resources
from pathlib import Path

from musicgpt_gui.core.dataset import dataset_files
from musicgpt_gui.core.dataset.importer import ImportOptions, import_dataset
from musicgpt_gui.core.dataset.metadata import METADATA
from musicgpt_gui.core.jobs import JobError

BUILTIN_NAME = "bach"
BUILTIN_SOURCES = ("corpus:bach",)
_ARCHIVE = ("data", "bach.zip")
_MEMBERS = tuple(dataset_files.split_path(Path(), s).name for s in dataset_files.SPLITS) + (METADATA,)


def archive_path() -> Path:
    return Path(str(resources.files("musicgpt_gui.core.dataset").joinpath(*_ARCHIVE)))


def has_builtin() -> bool:
    return archive_path().is_file()


def install_builtin(datasets: Path, name: str = BUILTIN_NAME) -> Path:
    """Unpack the shipped dataset into ``datasets/<name>`` (all files appear at once) and return the folder."""
    target = Path(datasets) / name
    if dataset_files.is_dataset_folder(target):
        return target
    if not has_builtin():
        raise JobError(f"The built-in dataset is missing from this installation ({archive_path()}).")
    if target.exists() and any(target.iterdir()):
        raise JobError(f"{target} already holds files that are not a dataset; the built-in one was not unpacked.")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{name}-") as tmp:
            with zipfile.ZipFile(archive_path()) as archive:
                archive.extractall(tmp, members=_MEMBERS)
            if target.exists():
                target.rmdir()  # empty (checked above)
            Path(tmp).rename(target)
            Path(tmp).mkdir()  # TemporaryDirectory cleans up the name it made
    except OSError as exc:
        raise JobError(f"Cannot unpack the built-in dataset into {target}: {exc}") from exc
    return target


def build_builtin(archive: Path) -> Path:
    """Import the sources with the default options and pack the dataset folder into ``archive``."""
    with tempfile.TemporaryDirectory() as tmp:
        result = import_dataset(list(BUILTIN_SOURCES), ImportOptions(), Path(tmp) / BUILTIN_NAME)
        archive.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as out:
            for member in _MEMBERS:
                out.write(result.out_dir / member, member)
    return archive


if __name__ == "__main__":
    print(build_builtin(archive_path()))
