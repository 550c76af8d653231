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
