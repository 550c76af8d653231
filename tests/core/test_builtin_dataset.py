"""The shipped Bach dataset is what a fresh import writes today (same rows, same format and code version)."""
from __future__ import annotations

from pathlib import Path

from musicgpt_gui.core.dataset import dataset_files
from musicgpt_gui.core.dataset.builtin import BUILTIN_SOURCES, install_builtin
from musicgpt_gui.core.dataset.convert import CODE_VERSION
from musicgpt_gui.core.dataset.importer import ImportOptions, import_dataset
from musicgpt_gui.core.dataset.metadata import load_metadata
from musicgpt_gui.core.music.grid import DEFAULT_GRID
from musicgpt_gui.core.music.notation import FORMAT_VERSIONS


def test_the_shipped_dataset_matches_a_fresh_import(tmp_path: Path) -> None:
    folder = install_builtin(tmp_path / "datasets")
    meta = load_metadata(folder)
    assert (meta.sources, meta.format, meta.grid) == (list(BUILTIN_SOURCES), "timed", DEFAULT_GRID)
    assert meta.code_version == CODE_VERSION and meta.format_version == FORMAT_VERSIONS["timed"]
    assert meta.errors == [] and meta.stats.pieces == len(meta.files) > 300
    shipped = dataset_files.load_split(folder)
    splits = dataset_files.load_split(folder, "train") + dataset_files.load_split(folder, "valid")
    assert sorted(splits) == sorted(shipped)
    fresh = import_dataset(list(BUILTIN_SOURCES), ImportOptions(workers=1, limit=4), tmp_path / "fresh")
    for entry in load_metadata(fresh.out_dir).files:
        same = next(f for f in meta.files if f.source == entry.source)
        assert shipped[same.index] == dataset_files.load_split(fresh.out_dir)[entry.index], entry.source
    assert install_builtin(tmp_path / "datasets") == folder  # an installed dataset is kept as it is


def test_a_folder_of_other_files_is_never_replaced(tmp_path: Path) -> None:
    import pytest

    from musicgpt_gui.core.jobs import JobError

    mine = tmp_path / "bach"
    mine.mkdir()
    (mine / "notes.txt").write_text("my own file")
    with pytest.raises(JobError, match="not a dataset"):
        install_builtin(tmp_path)
    assert (mine / "notes.txt").read_text() == "my own file"
    (mine / "notes.txt").unlink()
    assert dataset_files.is_dataset_folder(install_builtin(tmp_path))  # an empty folder is filled


def test_an_unreadable_split_is_a_clear_error(tmp_path: Path) -> None:
    import pytest

    from musicgpt_gui.core.jobs import JobError

    (tmp_path / "dataset.csv").write_bytes(b"\xff\xfe\x00 not utf-8")
    with pytest.raises(JobError, match="Cannot read the pieces in"):
        dataset_files.load_split(tmp_path)
    (tmp_path / "metadata.json").write_text("{broken")
    with pytest.raises(JobError, match="metadata.json is damaged"):
        dataset_files.conversion_options(tmp_path)
