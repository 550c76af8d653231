"""Small MIDI files written with mido for the import tests (no binaries in the repo)."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Optional

import mido

TPQ = 480


def write_midi(
    path: Path,
    tracks: Iterable[Iterable[tuple[float, float, int]]],
    *,
    channels: Optional[list[int]] = None,
    programs: Optional[list[int]] = None,
    names: Optional[list[str]] = None,
    bpm: float = 120.0,
    key: str = "C",
    time_signature: tuple[int, int] = (4, 4),
) -> Path:
    """One conductor track plus one track per note list of (onset, length, pitch) in quarters."""
    midi = mido.MidiFile(ticks_per_beat=TPQ)
    conductor = mido.MidiTrack(
        [
            mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=0),
            mido.MetaMessage("key_signature", key=key, time=0),
            mido.MetaMessage("time_signature", numerator=time_signature[0], denominator=time_signature[1], time=0),
        ]
    )
    midi.tracks.append(conductor)
    for index, notes in enumerate(tracks):
        channel = channels[index] if channels else index
        track = mido.MidiTrack()
        if names:
            track.append(mido.MetaMessage("track_name", name=names[index], time=0))
        track.append(
            mido.Message("program_change", channel=channel, program=programs[index] if programs else 0, time=0)
        )
        events = []
        for onset, length, pitch in notes:
            events.append((round(onset * TPQ), 1, "note_on", pitch))
            events.append((round((onset + length) * TPQ), 0, "note_off", pitch))
        now = 0
        for tick, _, kind, pitch in sorted(events):
            track.append(
                mido.Message(
                    kind, channel=channel, note=pitch, velocity=80 if kind == "note_on" else 0, time=tick - now
                )
            )
            now = tick
        midi.tracks.append(track)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    midi.save(path)
    return path


SCALE = [(i * 0.5, 0.5, 60 + step) for i, step in enumerate([0, 2, 4, 5, 7, 9, 11, 12])]
BASS = [(0.0, 2.0, 48), (2.0, 2.0, 43)]


def scale_file(path: Path, offset: int = 0) -> Path:
    """A two-track piece: a C major scale over a bass line (optionally shifted up)."""
    return write_midi(path, [[(o, d, p + offset) for o, d, p in SCALE], [(o, d, p + offset) for o, d, p in BASS]])
