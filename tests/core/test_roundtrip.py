"""MIDI -> timed text -> MIDI keeps the music: every synthetic stress case, the grid and the unison rule."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import mido
import pytest

from bench.roundtrip import part_round_trip, part_score, round_trip, score
from bench.stress_midi import CASES, TPQ, build
from musicgpt_gui.core.dataset.convert import convert_task
from musicgpt_gui.core.dataset.importer import ImportOptions, import_dataset
from musicgpt_gui.core.dataset.sources import Task
from musicgpt_gui.core.midi.midi_io import render_midi
from musicgpt_gui.core.dataset.metadata import load_metadata
from musicgpt_gui.core.jobs import JobError
from musicgpt_gui.core.music.notation import FORMAT_VERSIONS, join_items, parse_text
from musicgpt_gui.core.music.render import render_merged
from musicgpt_gui.core.readers.midi_reader import read_piece


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_stress_case_survives_the_round_trip_on_the_default_grid(case: str, tmp_path: Path) -> None:
    path = tmp_path / f"{case}.mid"
    CASES[case]().save(path)
    result = score(mido.MidiFile(path), round_trip(path))
    # Every note comes back, but two strikes of one key closer than a grid step (a fast performance) are one.
    assert result.notes > 30 and result.notes >= result.estimate_notes >= 0.997 * result.notes, result
    assert result.onset_f1 >= 0.99 and result.onset_offset_f1 >= 0.95, result


def timed(path: Path, grid: int = 12) -> str:
    return join_items(render_merged(read_piece(path, flat=False, grid=grid), "timed"))


def test_onsets_and_offsets_snap_absolutely_so_steps_never_drift(tmp_path: Path) -> None:
    start = round(0.127 * TPQ)  # 61 ticks: nearest grid point 2/12
    notes = [(start + i * 240, start + i * 240 + 230, 60 + i % 5, 0) for i in range(40)]
    build([notes], ((0, 66.0),)).save(tmp_path / "pickup.mid")
    parsed = parse_text(timed(tmp_path / "pickup.mid"))
    assert [n.onset for n in parsed.notes] == [Fraction(1, 6) + Fraction(i, 2) for i in range(40)]
    assert {n.duration for n in parsed.notes} == {Fraction(5, 12)}  # offsets 291 + 240k ticks snap to 7/12 + k/2
    fine = parse_text(timed(tmp_path / "pickup.mid", grid=48))
    assert fine.notes[0].onset == Fraction(6, 48) and fine.notes[0].duration == Fraction(23, 48)


def test_a_length_is_never_below_one_grid_step_and_short_notes_keep_their_length(tmp_path: Path) -> None:
    build([[(0, 48, 60, 0), (480, 680, 62, 0), (960, 961, 64, 0)]]).save(tmp_path / "short.mid")
    lengths = [n.duration for n in parse_text(timed(tmp_path / "short.mid")).notes]
    assert lengths == [Fraction(1, 12), Fraction(5, 12), Fraction(1, 12)]  # 0.1, 200 ticks, 1 tick


def test_tempo_and_time_signature_changes_stay_at_their_positions(tmp_path: Path) -> None:
    notes = [(i * 480, i * 480 + 240, 60, 0) for i in range(8)]
    build([notes], ((0, 120.0), (3 * 480, 60.0)), ((0, 4, 4), (4 * 480, 3, 4))).save(tmp_path / "marks.mid")
    parsed = parse_text(timed(tmp_path / "marks.mid"))
    assert parsed.tempos == [(0, 120.0), (3, 60.0)]
    items = parsed.items
    assert sum(1 for i in items[: items.index("meter.TimeSignature 3/4")] if i.startswith("C4")) == 4


def test_every_note_of_two_tracks_in_unison_is_kept_and_comes_back_from_export(tmp_path: Path) -> None:
    """The README's rule: each track sounds as its own channel, so unisons and overlaps across tracks stay."""
    from musicgpt_gui.core.midi.midi_io import export_midi

    violin = [(0, 480, 60, 0), (960, 1920, 67, 0)]
    flute = [(0, 960, 60, 1), (1440, 1680, 67, 1)]  # unison at 0 (longer), G4 again while the violin holds it
    build([violin, flute]).save(tmp_path / "two.mid")
    text = timed(tmp_path / "two.mid")
    assert text.endswith("C4~1.0 C4:2.0, G4~2.0:1.0, G4~0.5:1.0")
    notes = [(n.onset, n.pitch, n.duration) for n in parse_text(text).notes]
    assert notes == [(0, 60, 1), (0, 60, 2), (2, 67, 2), (3, 67, Fraction(1, 2))]
    export_midi(text, tmp_path / "back.mid")
    assert timed(tmp_path / "back.mid").endswith("C4~1.0 C4:2.0, G4~2.0:1.0, G4~0.5:1.0")


def test_within_one_track_a_key_sounds_once(tmp_path: Path) -> None:
    """A re-strike ends the held note, the next note-off ends the key, and notes meeting on one grid point are one."""
    piano = [(0, 480, 60, 0), (2, 960, 60, 0), (960, 1920, 67, 0), (1440, 1680, 67, 0)]
    build([piano]).save(tmp_path / "one.mid")
    notes = [(n.onset, n.pitch, n.duration) for n in parse_text(timed(tmp_path / "one.mid")).notes]
    # C4 sounds 0-2 ticks, then 2-480 (its first note-off); both snap to onset 0: one note of 1 quarter.
    assert notes == [(0, 60, 1), (2, 67, 1), (3, 67, Fraction(1, 2))]


def test_grid_and_format_version_are_recorded_and_change_the_cache_key(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    CASES["expressive-jitter"]().save(tmp_path / "in" / "perf.mid")
    options = ImportOptions(workers=1, cache_dir=tmp_path / "cache", grid=48)
    import_dataset([tmp_path / "in"], options, tmp_path / "fine")
    meta = load_metadata(tmp_path / "fine")
    assert meta.grid == 48 and meta.format_version == FORMAT_VERSIONS["timed"] and meta.options["grid"] == 48
    again = import_dataset([tmp_path / "in"], ImportOptions(workers=1, cache_dir=tmp_path / "cache"), tmp_path / "d")
    assert again.cache_hits == 0 and load_metadata(tmp_path / "d").grid == 12
    assert import_dataset([tmp_path / "in"], options, tmp_path / "f2").cache_hits == 1
    with pytest.raises(JobError, match="--grid"):
        import_dataset([tmp_path / "in"], ImportOptions(grid=10), tmp_path / "bad")


def test_velocity_and_program_controls_are_kept_on_request(tmp_path: Path) -> None:
    from musicgpt_gui.core.midi.midi_io import render_midi
    from musicgpt_gui.core.music.render import bin_velocity

    midi = build([[(0, 480, 60, 0), (960, 1440, 64, 0)], [(480, 960, 67, 1)]])
    midi.tracks[1].insert(0, mido.Message("program_change", channel=0, program=40))
    midi.tracks[2].insert(0, mido.Message("program_change", channel=1, program=73))
    for msg in midi.tracks[1]:
        if msg.type == "note_on" and msg.note == 64:
            msg.velocity = 30
    midi.save(tmp_path / "two.mid")
    for flat in (False, True):  # symusic and mido read velocities and programs alike
        piece = read_piece(tmp_path / "two.mid", flat=flat)
        text = join_items(render_merged(piece, "timed", velocity_bins=8, programs=True))
        controls = "program=40, velocity=88, C4:1.0, program=73, G4:1.0, program=40, velocity=24, E4:1.0"
        assert text.endswith(f"4/4, {controls}")
    assert "velocity" not in timed(tmp_path / "two.mid") and "program" not in timed(tmp_path / "two.mid")
    back = render_midi(text)
    played = [(m.channel, m.note, m.velocity) for t in back.tracks for m in t if m.type == "note_on"]
    programs = {m.channel: m.program for t in back.tracks for m in t if m.type == "program_change"}
    assert sorted((programs[c], n, v) for c, n, v in played) == [(40, 60, 88), (40, 64, 24), (73, 67, 88)]
    assert bin_velocity(1, 8) == 8 and bin_velocity(127, 8) == 120 and bin_velocity(80, 127) == 80
    with pytest.raises(JobError, match="only in the timed format"):
        import_dataset([tmp_path / "two.mid"], ImportOptions(format="seed", programs=True), tmp_path / "x")


PART_CASES = ("band-15-programs", "same-program-tracks", "drum-kit", "type0-channels", "pop-14-tracks")


@pytest.mark.parametrize("case", PART_CASES)
def test_parts_survive_the_round_trip_note_by_note_in_their_part(case: str, tmp_path: Path) -> None:
    path = tmp_path / f"{case}.mid"
    CASES[case]().save(path)
    original = mido.MidiFile(path)
    by_track = part_score(original, part_round_trip(path, "tracks"), "track")
    by_program = part_score(original, part_round_trip(path, "programs"), "program")
    for result in (by_track, by_program):
        assert result.notes > 150 and result.estimate_notes == result.notes, result
        assert result.onset_f1 >= 0.99 and result.onset_offset_f1 >= 0.95, result


def test_the_part_aware_score_tells_the_parts_of_pop909_apart() -> None:
    path = Path("/work/shared/data/pop909/001.mid")
    original = mido.MidiFile(path)
    kept = part_score(original, part_round_trip(path, "tracks"), "track")
    assert kept.notes > 1000 and kept.onset_f1 == kept.onset_offset_f1 == 1.0
    # One stream (no parts): MELODY, BRIDGE and PIANO (all program 0) come back as one track, so by track
    # only the notes that land in the first track's part match; by program (all piano) they all do.
    one_stream = render_midi(convert_task(Task("midi", str(path), path.name), ImportOptions()).pieces[0].texts[0])
    assert part_score(original, one_stream, "track").onset_f1 < 0.5
    assert part_score(original, one_stream, "program").onset_f1 == 1.0
