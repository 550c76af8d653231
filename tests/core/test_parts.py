"""Parts in the timed format: declarations, markers, tolerant parsing with specific reasons, import and export."""
from __future__ import annotations

from pathlib import Path

import mido
import numpy as np
import pytest

from musicgpt_gui.core.dataset.convert import convert_task
from musicgpt_gui.core.dataset.import_options import ImportOptions
from musicgpt_gui.core.dataset.sources import Task
from musicgpt_gui.core.jobs import JobError
from musicgpt_gui.core.midi.midi_io import render_midi
from musicgpt_gui.core.music.notation import parse_text
from musicgpt_gui.core.music.parts import Part, declaration
from tests.core.midi_factory import write_midi

POP909 = Path("/work/shared/data/pop909")
BAND = "@1=Lead program=73, @2=Bass program=33, @3=Kit drums=0"


def convert(path: Path, **options) -> tuple[str, list[str]]:
    result = convert_task(Task("midi", str(path), path.name), ImportOptions(**options))
    assert result.error is None, result.error
    return result.pieces[0].texts[0], [w for w in (result.warning or "").split("; ") if w]


def test_a_text_without_parts_reads_as_before() -> None:
    parsed = parse_text("program=40, C4 E4:1.0, rest:0.5, G4~2.0:1.0")
    assert parsed.parts == [] and parsed.problems == [] and not parsed.skipped
    assert [(n.pitch, n.part, n.program) for n in parsed.notes] == [(60, 0, 40), (64, 0, 40), (67, 0, 40)]
    assert parsed.part_counts() == []


def test_markers_put_the_following_pitches_in_their_part_and_its_program() -> None:
    parsed = parse_text(f"{BAND}, @1 C5 @2 C2~2.0 @3 C2:1.0, D5:1.0, @2 G1 @3 D2:1.0")
    assert parsed.parts == [Part("Lead", 73), Part("Bass", 33), Part("Kit", 0, True)]
    got = [(n.pitch, n.part, n.program, float(n.onset)) for n in parsed.notes]
    # D5 names no part: it stays in the part named last (@3 is a drum kit, but D5 is 74, inside the map).
    assert got == [(72, 0, 73, 0), (36, 1, 33, 0), (36, 2, 0, 0), (74, 2, 0, 1), (31, 1, 33, 2), (38, 2, 0, 2)]
    assert parsed.valid == parsed.total == 6 and parsed.problems == []
    assert [n for _, n in parsed.part_counts()] == [1, 2, 3]
    assert parsed.items[3] == "@1 C5 @2 C2~2.0 @3 C2:1.0"


def test_bad_parts_are_skipped_with_a_specific_reason() -> None:
    parsed = parse_text(f"{BAND}, @1 C5:1.0, @4 C4:1.0, @3 C7:1.0, @2 C2:1.0")
    assert parsed.skipped == ["@4 C4:1.0", "@3 C7:1.0"]
    assert parsed.problems == [
        "'@4 C4:1.0': part @4 is not declared",
        "'@3 C7:1.0': drum note C7 (MIDI 96) is outside the General MIDI drum map (35-81)",
        "part @3 (Kit) is declared but no note uses it",
    ]
    unused = parse_text("@1=A program=0, @2=B program=0, @1 C4:1.0")
    assert unused.problems == ["part @2 (B) is declared but no note uses it"]


def test_more_than_16_parts_is_a_clear_problem() -> None:
    header = [declaration(k, Part(f"P{k}", k)) for k in range(1, 18)]
    parsed = parse_text(", ".join(header + ["@1 C4:1.0"]))
    assert len(parsed.parts) == 16 and parsed.skipped == [header[16]]
    assert parsed.problems[0] == f"'{header[16]}': more than 16 parts (MIDI has 16 channels)"
    many = ", ".join([declaration(k, Part(f"P{k}", k)) for k in range(1, 17)] + [f"@{k} C4:1.0" for k in range(1, 17)])
    with pytest.raises(JobError, match="16 programs; MIDI has room for 15 besides drums"):
        render_midi(many)


def test_pop909_exports_melody_bridge_and_piano_as_three_named_tracks(tmp_path: Path) -> None:
    text, warnings = convert(POP909 / "001.mid", parts="tracks")
    assert text.startswith("@1=MELODY program=0, @2=BRIDGE program=0, @3=PIANO program=0, ")
    assert not warnings
    parsed = parse_text(text)
    assert parsed.problems == [] and not parsed.skipped
    path = tmp_path / "001.mid"
    render_midi(parsed).save(path)
    midi = mido.MidiFile(path)
    tracks = {t.name: t for t in midi.tracks[1:]}
    assert list(tracks) == ["MELODY", "BRIDGE", "PIANO"]
    for index, track in enumerate(tracks.values()):
        ons = [m for m in track if m.type == "note_on" and m.velocity]
        assert len(ons) == sum(n.part == index for n in parsed.notes) > 100
        assert {m.channel for m in ons} == {index}
        assert [m.program for m in track if m.type == "program_change"] == [0]
    original = mido.MidiFile(POP909 / "001.mid")
    melody = next(t for t in original.tracks if t.name == "MELODY")
    pitches = sorted(m.note for m in melody if m.type == "note_on" and m.velocity)
    assert sorted(m.note for m in tracks["MELODY"] if m.type == "note_on" and m.velocity) == pitches


def programs(track: mido.MidiTrack) -> list[int]:
    return [m.program for m in track if m.type == "program_change"]


def band_file(path: Path) -> Path:
    """Lead (flute), two guitar tracks of one program, a bass and a drum kit with one note off the GM map."""
    lead = [(i * 0.5, 0.5, 72 + i % 5) for i in range(8)]
    guitar = [(0.0, 2.0, 60), (2.0, 2.0, 62)]
    guitar2 = [(0.0, 2.0, 60), (2.0, 2.0, 64)]  # a unison with the first guitar
    bass = [(0.0, 1.0, 36), (1.0, 1.0, 43)]
    kit = [(i * 1.0, 0.25, 36 if i % 2 == 0 else 38) for i in range(4)] + [(3.5, 0.25, 27)]
    return write_midi(
        path, [lead, guitar, guitar2, bass, kit], channels=[0, 1, 2, 3, 9], programs=[73, 25, 25, 33, 0],
        names=["Flute", "Gtr L", "Gtr R", "Bass", "Drums"],
    )


def test_tracks_and_programs_become_parts_and_export_on_their_channels(tmp_path: Path) -> None:
    path = band_file(tmp_path / "band.mid")
    text, warnings = convert(path, parts="tracks", include_drums=True)
    assert text.startswith(
        "@1=Flute program=73, @2=Gtr L program=25, @3=Gtr R program=25, @4=Bass program=33, @5=Drums drums=0, "
    )
    assert warnings == ["1 drum notes outside the General MIDI drum map (35-81) left out"]
    assert "@2 C4~2.0 @3 C4~2.0" in text  # the unison of two tracks stays two notes, one per part
    midi = render_midi(text)
    layout = [(t.name, sorted({m.channel for m in t if m.type == "note_on"}), programs(t)) for t in midi.tracks[1:]]
    assert layout == [("Flute", [0], [73]), ("Gtr L", [1], [25]), ("Gtr R", [2], [25]), ("Bass", [3], [33]),
                      ("Drums", [9], [0])]
    by_program, _ = convert(path, parts="programs", include_drums=True)
    assert by_program.startswith(
        "@1=Flute program=73, @2=Acoustic Guitar program=25, @3=Electric Bass program=33, @4=Drums drums=0, "
    )
    assert "@2 C4~2.0 C4~2.0" in by_program
    exported = render_midi(by_program)  # the unison in one part: the second C4 on a spare channel, same track
    guitar = exported.tracks[2]
    assert guitar.name == "Acoustic Guitar" and len({m.channel for m in guitar if m.type == "note_on"}) == 2
    assert sorted(m.program for m in guitar if m.type == "program_change") == [25, 25]


def test_drum_parts_are_not_transposed(tmp_path: Path) -> None:
    path = band_file(tmp_path / "band.mid")
    result = convert_task(Task("midi", str(path), "band.mid"), ImportOptions(parts="tracks", include_drums=True,
                                                                              transpose=1))
    original, down, up = (parse_text(t) for t in result.pieces[0].texts)
    drums = [[n.pitch for n in p.notes if p.parts[n.part].drums] for p in (original, down, up)]
    assert drums[0] == drums[1] == drums[2] and drums[0]
    melodic = [[n.pitch for n in p.notes if not p.parts[n.part].drums] for p in (original, down, up)]
    assert np.array_equal(np.array(melodic[2]) - 1, melodic[0])


def test_parts_need_the_timed_format_and_no_program_controls() -> None:
    with pytest.raises(JobError, match="timed format"):
        ImportOptions(format="seed", parts="tracks").check()
    with pytest.raises(JobError, match="each part declares its program"):
        ImportOptions(parts="programs", programs=True).check()
    with pytest.raises(JobError, match="unknown part mode"):
        ImportOptions(parts="voices").check()


def test_a_continuation_reads_with_the_parts_its_prompt_declared() -> None:
    prompt = parse_text(f"{BAND}, @1 C5 @2 C2:1.0")
    alone = parse_text("@2 D2 @3 D2:1.0, E5:1.0")
    assert alone.valid == 1 and alone.problems == ["'@2 D2 @3 D2:1.0': part @2 is not declared"]
    continued = parse_text("@2 D2 @3 D2:1.0, E5:1.0", parts=prompt.parts)
    assert [(n.pitch, n.part) for n in continued.notes] == [(38, 1), (38, 2), (76, 2)]
    assert continued.problems == []  # the prompt's parts are not this text's to use up


def test_past_16_tracks_parts_share_programs_and_past_15_melodic_programs_the_file_is_an_error(tmp_path: Path) -> None:
    line = [(i * 1.0, 1.0, 60 + i) for i in range(4)]
    channels = [c for c in range(16) if c != 9]
    crowded = write_midi(tmp_path / "crowded.mid", [line] * 18, channels=[channels[k % 15] for k in range(18)],
                         programs=[[0, 40, 73][k % 3] for k in range(18)], names=[f"T{k}" for k in range(18)])
    text, _ = convert(crowded, parts="tracks")
    assert text.startswith("@1=Piano program=0, @2=Violin program=40, @3=Flute program=73, tempo=")
    assert len(parse_text(text).notes) == 18 * 4
    too_many = write_midi(tmp_path / "many.mid", [line] * 16, channels=[channels[k % 15] for k in range(16)],
                          programs=list(range(16)))
    result = convert_task(Task("midi", str(too_many), "many.mid"), ImportOptions(parts="programs"))
    assert result.error == (
        "16 melodic programs and 0 drum parts do not fit MIDI's 16 channels; import it without parts"
    )


def test_a_csv_row_with_parts_transposes_its_pitched_parts_only() -> None:
    from musicgpt_gui.core.music.transpose import transpose_text

    text = f"{BAND}, C major, @1 C5 @2 C2~2.0 @3 C2:1.0, D5:1.0, @2 G1 @3 D2:1.0"
    assert transpose_text(text, 2) == f"{BAND}, D major, @1 D5 @2 D2~2.0 @3 C2:1.0, D5:1.0, @2 A1 @3 D2:1.0"
    assert transpose_text("C4:1.0, E4 G4:1.0", -1) == "B3:1.0, E-4 F#4:1.0"  # without parts: as before


def test_a_silence_longer_than_the_longest_step_is_written_in_pieces_and_read_back(tmp_path: Path) -> None:
    path = write_midi(tmp_path / "gap.mid", [[(0.0, 1.0, 60), (150.0, 1.0, 62)], [(0.0, 2.0, 48)]],
                      names=["Melody", "Bass"])
    text, _ = convert(path, parts="tracks")
    assert "@1 C4~1.0 @2 C3:2.0, rest:64.0, rest:64.0, rest:20.0, @1 D4:1.0" in text  # 150 = 2 + 64 + 64 + 20
    assert [float(n.onset) for n in parse_text(text).notes] == [0.0, 0.0, 150.0]
