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
