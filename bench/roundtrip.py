"""MIDI -> timed text -> MIDI, scored with mir_eval: the shared part of bench_roundtrip.py and its tests.

A file's notes are taken as a MIDI player sounds them: on each channel a key sounds once (a
note-on of a sounding key ends it and starts again), and channels sound independently, so a
unison of two channels is two notes.  ``kept`` compares how many notes come back with how many
the original has.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import mido
import numpy as np

from musicgpt_gui.core.dataset.convert import convert_task
from musicgpt_gui.core.dataset.import_options import ImportOptions
from musicgpt_gui.core.dataset.sources import Task
from musicgpt_gui.core.midi.midi_io import render_midi
from musicgpt_gui.core.music.general_midi import DRUM_CHANNEL
from musicgpt_gui.core.music.piece import TimedNote
from musicgpt_gui.core.music.tempo_map import TempoMap

Notes = list[tuple[float, float, int]]  # (onset s, offset s, MIDI pitch)


def channel_notes(midi: mido.MidiFile) -> tuple[list[TimedNote], TempoMap]:
    """Non-drum notes per channel as a player sounds them, in quarters, and the file's tempo map."""
    tpq = midi.ticks_per_beat
    sounding: dict[tuple[int, int], int] = {}
    notes: list[TimedNote] = []
    tempos: list[tuple[Fraction, float]] = []

    def end(key: tuple[int, int], tick: int) -> None:
        start = sounding.pop(key, None)
        if start is not None and tick > start:
            notes.append(TimedNote(Fraction(start, tpq), Fraction(tick - start, tpq), key[1], key[0]))

    for track in midi.tracks:
        tick = 0
        for msg in track:
            tick += msg.time
            if msg.type == "set_tempo":
                tempos.append((Fraction(tick, tpq), mido.tempo2bpm(msg.tempo)))
            elif msg.type in ("note_on", "note_off") and msg.channel != DRUM_CHANNEL:
                key = (msg.channel, msg.note)
                end(key, tick)
                if msg.type == "note_on" and msg.velocity:
                    sounding[key] = tick
        for key in list(sounding):
            end(key, tick)
    tempos.sort(key=lambda t: t[0])
    return notes, TempoMap.from_marks(tempos)


def heard_notes(midi: mido.MidiFile) -> Notes:
    """Every channel's notes, in seconds."""
    per_channel, tempo_map = channel_notes(midi)
    out = [(tempo_map.seconds_at(n.onset), tempo_map.seconds_at(n.onset + n.duration), n.pitch) for n in per_channel]
    return sorted(out)


def round_trip(path: Path, grid: int = 12) -> mido.MidiFile:
    """The file through the importer's per-file conversion (timed format, merged tracks) and the MIDI writer."""
    result = convert_task(Task("midi", str(path), Path(path).name), ImportOptions(grid=grid))
    if result.error:
        raise ValueError(f"{path}: {result.error}")
    return render_midi(result.pieces[0].texts[0])


@dataclass
class Score:
    notes: int  # the original's notes
    estimate_notes: int  # the notes that came back
    onset_f1: float
    onset_offset_f1: float


def score(reference: mido.MidiFile, estimate: mido.MidiFile) -> Score:
    """mir_eval note F1 at 50 ms onsets; offsets within 50 ms or 20% of the note's length."""
    from mir_eval.transcription import precision_recall_f1_overlap

    ref, est = heard_notes(reference), heard_notes(estimate)

    def arrays(notes: Notes) -> tuple[np.ndarray, np.ndarray]:
        intervals = np.array([(on, off) for on, off, _ in notes], dtype=float).reshape(-1, 2)
        hz = np.array([440.0 * 2 ** ((p - 69) / 12) for _, _, p in notes], dtype=float)
        return intervals, hz

    (ri, rp), (ei, ep) = arrays(ref), arrays(est)
    _, _, onset_f1, _ = precision_recall_f1_overlap(ri, rp, ei, ep, onset_tolerance=0.05, offset_ratio=None)
    _, _, both_f1, _ = precision_recall_f1_overlap(
        ri, rp, ei, ep, onset_tolerance=0.05, offset_ratio=0.2, offset_min_tolerance=0.05
    )
    return Score(len(ref), len(est), onset_f1, both_f1)


# ---- parts: a note matches only with the same pitch, onset (and offset) and part --------------------------------

PartNotes = dict[tuple, Notes]  # part label -> its notes in seconds


def part_notes(midi: mido.MidiFile, by: str = "track") -> PartNotes:
    """Every note (drums included) as a player sounds it, by part label.

    A note's unit is its track and the program its channel has at its note-on (drums: channel 10).
    ``by="track"``: the label is ``("drums",)`` or ``(program, k)`` for the k-th track (in file order) holding
    notes of that program, so two tracks of one program are two parts; ``by="program"`` merges them (MT3's
    instrument): ``(program, 0)``.  The writer's spare channels of a part stay in its track, so they keep its label.
    """
    tpq = midi.ticks_per_beat
    tempos: list[tuple[Fraction, float]] = []
    raw: list[tuple[int, int, int, int, int]] = []  # (track, unit program or -1 for drums, on, off, pitch)
    for index, track in enumerate(midi.tracks):
        tick = 0
        program: dict[int, int] = {}
        sounding: dict[tuple[int, int], tuple[int, int]] = {}
        for msg in list(track) + [None]:
            if msg is None:
                for (_, pitch), (start, unit) in sounding.items():
                    if tick > start:
                        raw.append((index, unit, start, tick, pitch))
                break
            tick += msg.time
            if msg.type == "set_tempo":
                tempos.append((Fraction(tick, tpq), mido.tempo2bpm(msg.tempo)))
            elif msg.type == "program_change":
                program[msg.channel] = msg.program
            elif msg.type in ("note_on", "note_off"):
                key = (msg.channel, msg.note)
                held = sounding.pop(key, None)
                if held is not None and tick > held[0]:
                    raw.append((index, held[1], held[0], tick, msg.note))
                if msg.type == "note_on" and msg.velocity:
                    unit = -1 if msg.channel == DRUM_CHANNEL else program.get(msg.channel, 0)
                    sounding[key] = (tick, unit)
    tempo_map = TempoMap.from_marks(sorted(tempos, key=lambda t: t[0]))
    ordinal: dict[tuple[int, int], int] = {}
    for track, unit in sorted({(t, u) for t, u, *_ in raw}):
        if unit >= 0:
            ordinal[track, unit] = sum(1 for (_, u) in ordinal if u == unit) if by == "track" else 0
    out: PartNotes = {}
    for track, unit, on, off, pitch in raw:
        label = ("drums",) if unit < 0 else (unit, ordinal[track, unit])
        seconds = (tempo_map.seconds_at(Fraction(on, tpq)), tempo_map.seconds_at(Fraction(off, tpq)), pitch)
        out.setdefault(label, []).append(seconds)
    return out


def part_round_trip(path: Path, parts: str = "tracks", grid: int = 12) -> mido.MidiFile:
    """The file through the importer with ``--parts`` and drums included, then the MIDI writer."""
    options = ImportOptions(grid=grid, parts=parts, include_drums=True)
    result = convert_task(Task("midi", str(path), Path(path).name), options)
    if result.error:
        raise ValueError(f"{path}: {result.error}")
    return render_midi(result.pieces[0].texts[0])


@dataclass
class PartScore:
    """Matched notes summed over parts (precision = matched / estimate, recall = matched / reference)."""

    notes: int = 0
    estimate_notes: int = 0
    onset_matches: int = 0
    both_matches: int = 0

    def add(self, other: "PartScore") -> None:
        self.notes += other.notes
        self.estimate_notes += other.estimate_notes
        self.onset_matches += other.onset_matches
        self.both_matches += other.both_matches

    @staticmethod
    def _f1(matches: int, ref: int, est: int) -> float:
        return 2 * matches / (ref + est) if ref + est else 1.0

    @property
    def onset_f1(self) -> float:
        return self._f1(self.onset_matches, self.notes, self.estimate_notes)

    @property
    def onset_offset_f1(self) -> float:
        return self._f1(self.both_matches, self.notes, self.estimate_notes)


def part_score(reference: mido.MidiFile, estimate: mido.MidiFile, by: str = "track") -> PartScore:
    """mir_eval's note matching (50 ms onsets; offsets within 50 ms or 20%) run part by part: a note in
    another part, however right its pitch and time, is a miss and a false alarm."""
    from mir_eval.transcription import match_notes

    ref, est = part_notes(reference, by), part_notes(estimate, by)
    total = PartScore()
    for label in set(ref) | set(est):
        r, e = ref.get(label, []), est.get(label, [])
        total.notes += len(r)
        total.estimate_notes += len(e)
        if not r or not e:
            continue
        (ri, rp), (ei, ep) = _arrays(r), _arrays(e)
        total.onset_matches += len(match_notes(ri, rp, ei, ep, onset_tolerance=0.05, offset_ratio=None))
        total.both_matches += len(
            match_notes(ri, rp, ei, ep, onset_tolerance=0.05, offset_ratio=0.2, offset_min_tolerance=0.05)
        )
    return total


def _arrays(notes: Notes) -> tuple[np.ndarray, np.ndarray]:
    intervals = np.array([(on, off) for on, off, _ in notes], dtype=float).reshape(-1, 2)
    return intervals, np.array([440.0 * 2 ** ((p - 69) / 12) for _, _, p in notes], dtype=float)
