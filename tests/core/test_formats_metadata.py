"""The format registry drives suffix checks and messages; metadata.json loads as a dataclass, old files too."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from musicgpt_gui.commands.common import resolve_dataset
from musicgpt_gui.core.dataset import dataset_files
from musicgpt_gui.core.dataset.metadata import METADATA, DatasetMetadata, FileEntry, load_metadata, write_metadata
from musicgpt_gui.core.dataset.sources import resolve_sources
from musicgpt_gui.core.jobs import JobError
from musicgpt_gui.core.readers import formats, midi_reader, score_reader
from musicgpt_gui.core.workspace import Workspace


def test_every_reader_extension_is_in_the_dialog_filter_and_the_error_message(tmp_path: Path) -> None:
    filt = formats.dialog_filter()
    for ext in midi_reader.EXTENSIONS + score_reader.EXTENSIONS + (".csv",):
        assert f"*{ext}" in filt.split(";;")[0] and ext in formats.extension_list()
    assert formats.format_of("A.MID").kind == "midi" and formats.format_of("a.krn").kind == "score"
    assert formats.format_of("a.wav") is None
    (tmp_path / "song.wav").write_bytes(b"RIFF")
    tasks, errors = resolve_sources([tmp_path / "song.wav"])
    expected = f"{tmp_path / 'song.wav'}: unsupported file type '.wav' (use {formats.extension_list()})"
    assert tasks == [] and errors == [expected]


def test_metadata_round_trips_and_old_files_load_with_defaults(tmp_path: Path) -> None:
    meta = DatasetMetadata(format="seed", sources=["x"], files=[FileEntry("a.mid", index=0, items=5, duration=1.5)])
    write_metadata(tmp_path, meta)
    assert load_metadata(tmp_path) == meta
    (tmp_path / METADATA).write_text(json.dumps({"format": "timed", "unknown": 1, "stats": {"notes": 3, "extra": 2}}))
    old = load_metadata(tmp_path)
    assert old.format == "timed" and old.stats.notes == 3 and old.stats.pieces == 0 and old.files == []
    assert load_metadata(tmp_path / "nothing").stats is None  # no metadata.json: defaults, timed format
    (tmp_path / METADATA).write_text("[1, 2]")
    with pytest.raises(ValueError):
        load_metadata(tmp_path)


def test_one_dataset_folder_rule_for_cli_and_scans(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    folder = ws.datasets / "mine"
    folder.mkdir(parents=True)
    dataset_files.write_rows(dataset_files.split_path(folder, dataset_files.TRAIN), ["C4:1"])
    assert not dataset_files.is_dataset_folder(folder)
    with pytest.raises(JobError, match="no dataset.csv"):
        resolve_dataset(ws, "mine")
    dataset_files.write_rows(dataset_files.split_path(folder), ["C4:1"])
    assert dataset_files.is_dataset_folder(folder) and resolve_dataset(ws, "mine") == folder.resolve()
    dataset_files.write_rows(folder / "extra.csv", ["C4:1"])
    tasks, _ = resolve_sources([folder])
    assert [Path(t.path).name for t in tasks] == ["extra.csv"]  # the dataset's own splits are not imported again


def test_the_bach_corpus_source_picks_the_file_music21s_getwork_picks_for_every_chorale() -> None:
    from music21 import corpus

    from musicgpt_gui.core.dataset.sources import corpus_tasks

    tasks = corpus_tasks("bach")
    assert len(tasks) == 371
    for task in tasks:
        chosen = corpus.getWork(task.label.split(":", 1)[1])
        assert task.path == str(chosen[0] if isinstance(chosen, list) else chosen), task.label
