"""import_dataset: sources, bad files, cache, cancel, transposition, splits and metadata."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from musicgpt_gui.core.dataset import dataset_files
from musicgpt_gui.core.dataset.importer import ImportOptions, import_dataset
from musicgpt_gui.core.dataset.metadata import load_metadata
from musicgpt_gui.core.dataset.sources import corpus_tasks
from musicgpt_gui.core.jobs import Cancelled, CancelToken, JobError
from musicgpt_gui.core.music.notation import parse_text
from tests.core.midi_factory import scale_file, write_midi


def good_folder(folder: Path, count: int = 3) -> Path:
    for i in range(count):
        scale_file(folder / f"piece{i}.mid", offset=i)
    return folder


def bad_files(folder: Path) -> dict[str, Path]:
    """One file per kind of bad input, next to nothing else."""
    folder.mkdir(parents=True, exist_ok=True)
    good = scale_file(folder / "source.mid").read_bytes()
    (folder / "source.mid").unlink()
    files = {
        "zero": (folder / "zero.mid", b""),
        "random": (folder / "random.mid", bytes(random.Random(7).randrange(256) for _ in range(200))),
        "truncated": (folder / "truncated.mid", good[:40]),
        "wrong extension": (folder / "notes.txt", b"C4, D4, E4"),
    }
    out = {}
    for kind, (path, data) in files.items():
        path.write_bytes(data)
        out[kind] = path
    out["no notes"] = write_midi(folder / "silent.mid", [[]])
    return out


def rows(folder: Path, split: str = dataset_files.ALL) -> list[str]:
    return dataset_files.load_split(folder, split)


def test_imports_midi_folder_into_dataset_folder(tmp_path: Path) -> None:
    result = import_dataset([good_folder(tmp_path / "in")], ImportOptions(workers=1), tmp_path / "out")
    assert result.pieces == 3 and result.errors == []
    texts = rows(tmp_path / "out")
    assert len(texts) == 3
    assert all(parse_text(t).skipped == [] for t in texts)
    assert sorted(rows(tmp_path / "out", "train") + rows(tmp_path / "out", "valid")) == sorted(texts)
    assert rows(tmp_path / "out", "train")
    meta = load_metadata(tmp_path / "out")
    assert meta.format == "timed" and meta.options["tracks"] == "merge"
    stats = meta.stats
    assert stats.notes + stats.chords == 3 * 8  # eight onsets per piece
    assert stats.pieces == 3 and stats.quarters == 12.0
    assert stats.seconds == 6.0  # 4 quarters at 120 bpm, three pieces
    assert "C4" in meta.pitches and stats.distinct_pitches == len(meta.pitches)
    assert [f.index for f in meta.files] == [0, 1, 2] and all(f.status == "ok" for f in meta.files)


def test_each_bad_file_gets_one_error_line_and_good_files_still_import(tmp_path: Path) -> None:
    bad = bad_files(tmp_path / "bad")
    good = good_folder(tmp_path / "good", 2)
    result = import_dataset(
        [good, tmp_path / "bad", bad["wrong extension"]], ImportOptions(workers=1), tmp_path / "out"
    )
    assert result.pieces == 2
    expected = {
        "zero": "empty file",
        "random": "not a MIDI file",
        "truncated": "truncated",
        "wrong extension": "unsupported file type '.txt'",
        "no notes": "no notes at all",
    }
    assert len(result.errors) == len(expected)
    for kind, reason in expected.items():
        lines = [line for line in result.errors if line.startswith(str(bad[kind]))]
        assert len(lines) == 1 and reason in lines[0], (kind, result.errors)
    statuses = {Path(f.source).name: f.status for f in load_metadata(tmp_path / "out").files}
    assert statuses["zero.mid"] == "error" and statuses["piece0.mid"] == "ok"


@pytest.mark.parametrize("fmt", ["timed", "seed"])
def test_a_file_read_tolerantly_imports_and_metadata_records_the_warning(tmp_path: Path, fmt: str) -> None:
    flipped = bytearray(scale_file(tmp_path / "good.mid").read_bytes())
    flipped[flipped.index(bytes([0x90])) + 1] = 0xC8  # a data byte above 127: strict readers reject the file
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "databyte.mid").write_bytes(bytes(flipped))
    result = import_dataset([tmp_path / "in"], ImportOptions(workers=1, format=fmt), tmp_path / "out")
    assert result.pieces == 1 and result.errors == []
    meta = load_metadata(tmp_path / "out")
    assert meta.files[0].status == "ok" and "tolerant reader" in meta.files[0].warning
    assert meta.warnings == [f"{tmp_path / 'in' / 'databyte.mid'}: {meta.files[0].warning}"]


def test_all_bad_or_empty_sources_raise_job_error(tmp_path: Path) -> None:
    bad_files(tmp_path / "bad")
    with pytest.raises(JobError, match="no piece could be imported from 4 file"):
        import_dataset([tmp_path / "bad"], ImportOptions(workers=1), tmp_path / "out")
    (tmp_path / "empty").mkdir()
    with pytest.raises(JobError, match="nothing to import"):
        import_dataset([tmp_path / "empty"], ImportOptions(workers=1), tmp_path / "out")
    with pytest.raises(JobError, match="no such file"):
        import_dataset([tmp_path / "missing.mid"], ImportOptions(workers=1), tmp_path / "out")
    assert not (tmp_path / "out" / "dataset.csv").exists()


def test_second_import_reads_every_file_from_the_cache(tmp_path: Path) -> None:
    source = good_folder(tmp_path / "in", 3)
    (source / "zero.mid").write_bytes(b"")
    options = ImportOptions(workers=1, cache_dir=tmp_path / "cache")
    first = import_dataset([source], options, tmp_path / "a")
    second = import_dataset([source], options, tmp_path / "b")
    assert (first.cache_hits, second.cache_hits) == (0, 4)
    assert rows(tmp_path / "a") == rows(tmp_path / "b") and first.errors == second.errors
    scale_file(source / "piece1.mid", offset=5)  # changed file: its entry no longer matches
    third = import_dataset([source], options, tmp_path / "c")
    assert third.cache_hits == 3
    other = import_dataset(
        [source], ImportOptions(workers=1, cache_dir=tmp_path / "cache", format="seed"), tmp_path / "d"
    )
    assert other.cache_hits == 0  # the options are part of the key


@pytest.mark.parametrize("workers", [1, 2])
def test_cancel_after_the_first_file_keeps_finished_pieces(tmp_path: Path, workers: int) -> None:
    source = good_folder(tmp_path / "in", 8)
    cancel = CancelToken()

    def on_progress(p) -> None:
        if p.info.file:
            cancel.cancel()

    with pytest.raises(Cancelled, match="kept"):
        import_dataset(
            [source], ImportOptions(workers=workers), tmp_path / "out", on_progress=on_progress, cancel=cancel
        )
    kept = rows(tmp_path / "out")
    assert 1 <= len(kept) < 8
    meta = load_metadata(tmp_path / "out")
    assert meta.cancelled is True and meta.files_total == 8 and len(meta.files) == len(kept)


def test_a_cancelled_import_keeps_the_dataset_that_was_there(tmp_path: Path) -> None:
    source = good_folder(tmp_path / "in", 8)
    import_dataset([good_folder(tmp_path / "old", 3)], ImportOptions(workers=1), tmp_path / "out")
    before = rows(tmp_path / "out")
    cancel = CancelToken()
    with pytest.raises(Cancelled, match="already in"):
        import_dataset(
            [source],
            ImportOptions(workers=1),
            tmp_path / "out",
            on_progress=lambda p: p.info.file and cancel.cancel(),
            cancel=cancel,
        )
    assert rows(tmp_path / "out") == before


def test_a_folder_scan_leaves_out_the_files_of_datasets_inside_it(tmp_path: Path) -> None:
    source = good_folder(tmp_path / "in", 3)
    import_dataset([source], ImportOptions(workers=1), source / "datasets" / "earlier")
    again = import_dataset([source], ImportOptions(workers=1), tmp_path / "out")
    assert again.pieces == 3 and len(again.files) == 3


def test_an_unwritable_target_fails_before_converting_and_a_broken_cache_is_skipped(tmp_path: Path) -> None:
    source = good_folder(tmp_path / "in", 2)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    seen = []
    with pytest.raises(JobError, match="Cannot write the dataset to"):
        import_dataset([source], ImportOptions(workers=1), blocker / "out", on_progress=seen.append)
    assert not any(p.info.file for p in seen)
    result = import_dataset([source], ImportOptions(workers=1, cache_dir=blocker / "cache"), tmp_path / "out")
    assert result.pieces == 2


def test_transpose_adds_shifted_copies_in_the_same_split(tmp_path: Path) -> None:
    source = good_folder(tmp_path / "in", 4)
    result = import_dataset([source], ImportOptions(workers=1, transpose=2), tmp_path / "out")
    assert result.pieces == 4 and result.rows == 4 * 5
    texts = rows(tmp_path / "out")
    lowest = [min(n.pitch for n in parse_text(t).notes) for t in texts[:5]]
    assert lowest == [43, 42, 44, 41, 45]  # G2 of the bass line: original, -1, +1, -2, +2
    for split in ("train", "valid"):
        assert len(rows(tmp_path / "out", split)) % 5 == 0


def test_tracks_merge_first_and_drums(tmp_path: Path) -> None:
    path = write_midi(tmp_path / "in" / "band.mid", [[(0, 1, 72)], [(0, 1, 48)], [(0, 1, 36)]], channels=[0, 1, 9])
    merge = import_dataset([path], ImportOptions(workers=1), tmp_path / "m")
    first = import_dataset([path], ImportOptions(workers=1, tracks="first"), tmp_path / "f")
    drums = import_dataset([path], ImportOptions(workers=1, include_drums=True), tmp_path / "d")
    assert "C5 C3:1.0" in rows(merge.out_dir)[0]
    assert "C5:1.0" in rows(first.out_dir)[0] and "C3" not in rows(first.out_dir)[0]
    assert "C5 C3 C2:1.0" in rows(drums.out_dir)[0]
    with pytest.raises(JobError, match="flat"):
        import_dataset([path], ImportOptions(tracks="flat"), tmp_path / "x")


def test_seed_format_defaults_to_music21_order(tmp_path: Path) -> None:
    path = scale_file(tmp_path / "in" / "s.mid")
    import_dataset([path], ImportOptions(workers=1, format="seed"), tmp_path / "out")
    text = rows(tmp_path / "out")[0]
    assert text.startswith(
        "Piano, Piano, tempo.MetronomeMark animato Quarter=120, tempo.MetronomeMark animato Quarter=120, C major"
    )
    assert ":" not in text


def test_seed_csv_source_is_cleaned_and_format_checked(tmp_path: Path) -> None:
    csv = tmp_path / "seed.csv"
    dataset_files.write_rows(csv, ["Piano, C4, H9, D4 F4, rest, E4", "junk, more junk"])
    result = import_dataset([csv], ImportOptions(workers=1, format="seed"), tmp_path / "out")
    assert rows(tmp_path / "out") == ["Piano, C4, D4 F4, rest, E4"] and result.pieces == 1
    with pytest.raises(JobError, match="import it with --format seed"):
        import_dataset([csv], ImportOptions(workers=1), tmp_path / "timed")


def test_transpose_applies_to_csv_rows_as_to_midi(tmp_path: Path) -> None:
    csv = tmp_path / "timed.csv"
    dataset_files.write_rows(csv, ["Piano, tempo=96, f# minor, C#5 E4~1.0:0.5, rest:0.5, G9:1.0", "C4:1.0"])
    import_dataset([csv], ImportOptions(workers=1, transpose=1), tmp_path / "out")
    assert rows(tmp_path / "out") == [
        "Piano, tempo=96, f# minor, C#5 E4~1.0:0.5, rest:0.5, G9:1.0",
        "Piano, tempo=96, f minor, C5 E-4~1.0:0.5, rest:0.5, F#9:1.0",  # +1 would leave MIDI 0..127: dropped
        "C4:1.0",
        "B3:1.0",
        "C#4:1.0",
    ]
    from_midi = import_dataset([scale_file(tmp_path / "s.mid")], ImportOptions(workers=1, transpose=1), tmp_path / "m")
    dataset_files.write_rows(tmp_path / "again.csv", rows(tmp_path / "m")[:1])
    import_dataset([tmp_path / "again.csv"], ImportOptions(workers=1, transpose=1), tmp_path / "c")
    assert rows(tmp_path / "c") == rows(tmp_path / "m") and from_midi.rows == 3


def test_corpus_sources(tmp_path: Path) -> None:
    assert len(corpus_tasks("bach")) == 371
    assert len(corpus_tasks("folk")) > 20
    result = import_dataset(["corpus:bach"], ImportOptions(workers=1, limit=2), tmp_path / "bach")
    assert result.pieces == 2
    first = rows(tmp_path / "bach")[0]
    assert first.startswith("Soprano, Alto, Tenor, Bass, ")
    assert parse_text(first).skipped == []
    with pytest.raises(JobError, match="unknown corpus"):
        import_dataset(["corpus:jazz"], ImportOptions(workers=1), tmp_path / "x")


def test_folk_abc_collection_yields_many_pieces(tmp_path: Path) -> None:
    from music21 import corpus

    small = next(p for p in corpus.getCorePaths() if p.name == "teste.abc")
    result = import_dataset([small], ImportOptions(workers=1), tmp_path / "folk")
    assert result.pieces > 1 and result.errors == []


def test_musicxml_and_kern_scores_import_through_music21(tmp_path: Path) -> None:
    from music21 import corpus

    xml = Path(corpus.parse("bach/bwv269").write("musicxml", fp=tmp_path / "bwv269.musicxml"))
    krn = next(p for p in corpus.getCorePaths() if p.name == "bwv366.krn")
    result = import_dataset([xml, krn], ImportOptions(workers=1), tmp_path / "out")
    assert result.pieces == 2 and result.errors == []
    xml_text, krn_text = rows(tmp_path / "out")
    assert xml_text.startswith("Soprano, Alto, Tenor, Bass, G major, meter.TimeSignature 3/4, G4 D4 B3 G2:1.0")
    assert parse_text(krn_text).skipped == [] and len(parse_text(krn_text).notes) > 100
