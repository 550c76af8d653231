"""MIDI bytes -> raw tracks with symusic (C++), the fast reader for the timed format.

symusic parses a pop file in about a millisecond where mido's pure-Python reader takes ~0.2 s.
It splits tracks by channel and program and pairs notes first-in-first-out; the notes are
re-paired here the way a MIDI player sounds them (a note-on of a sounding key ends it, the next
note-off ends the sounding note), so both readers give the same music.  A file symusic rejects
raises :class:`SymusicRejected`, and the caller retries with mido's tolerant reader.
"""
from __future__ import annotations

import numpy as np

from musicgpt_gui.core.music.general_midi import DRUM_CHANNEL
from musicgpt_gui.core.music.parts import Part
from musicgpt_gui.core.readers.midi_file import RawTrack, tempo_bpm

# mido's key names by sharps (-7..7): symusic gives the count, the reader expects the name.
_MAJOR = ("Cb", "Gb", "Db", "Ab", "Eb", "Bb", "F", "C", "G", "D", "A", "E", "B", "F#", "C#")
_MINOR = ("Ab", "Eb", "Bb", "F", "C", "G", "D", "A", "E", "B", "F#", "C#", "G#", "D#", "A#")


class SymusicRejected(Exception):
    """symusic could not parse the file; the message is symusic's."""


def player_columns(start: np.ndarray, end: np.ndarray, pitch: np.ndarray, velocity: np.ndarray) -> tuple:
    """(on, off, pitch, velocity) of one channel's notes as a player sounds them, sorted by (on, pitch).

    Every distinct (pitch, note-on tick) starts a note, with the loudest velocity struck there;
    it lasts until the next later event of that pitch, a note-off or a re-strike.  A note-on
    with nothing after it never ends and is dropped.
    """
    if not len(start):
        return start, end, pitch, velocity
    big = np.int64(1) << 40
    key_on = pitch * big + start
    events = np.unique(np.concatenate([key_on, pitch * big + end]))
    order = np.lexsort((velocity, key_on))
    key_on, velocity = key_on[order], velocity[order]
    last = np.append(key_on[1:] != key_on[:-1], True)  # the loudest strike of each (pitch, tick)
    key_on, velocity = key_on[last], velocity[last]
    after = np.searchsorted(events, key_on, side="right")
    ends = events[np.minimum(after, len(events) - 1)]
    sounds = (after < len(events)) & (ends // big == key_on // big)
    key_on, ends, velocity = key_on[sounds], ends[sounds], velocity[sounds]
    on, pitch = key_on % big, key_on // big
    order = np.lexsort((pitch, on))
    return on[order], (ends % big)[order], pitch[order], velocity[order]


def read_tracks(data: bytes, include_drums: bool) -> tuple[int, list[RawTrack]]:
    """(ticks per beat, tracks): a conductor track of marks first, then one track per symusic track."""
    import symusic

    try:
        score = symusic.Score.from_midi(data)
    except Exception as exc:  # symusic raises RuntimeError/ValueError with its own wording
        raise SymusicRejected(str(exc)) from None
    metas: list[tuple[int, str, object]] = [(t.time, "tempo", tempo_bpm(t.mspq, t.time)) for t in score.tempos]
    for k in score.key_signatures:
        if -7 <= k.key <= 7:
            name = _MINOR[k.key + 7] if k.tonality else _MAJOR[k.key + 7]
            metas.append((k.time, "key", (name.replace("b", "-"), "minor" if k.tonality else "major")))
    metas += [(t.time, "time", f"{t.numerator}/{t.denominator}") for t in score.time_signatures]
    metas.sort(key=lambda m: m[0])
    tracks = [RawTrack([], metas, [], False)]
    drums = 0
    for track in score.tracks:
        if track.is_drum and not include_drums:
            drums += len(track.notes)
            continue
        channel = DRUM_CHANNEL if track.is_drum else 0
        cols = {k: v.astype(np.int64) for k, v in track.notes.numpy().items()}
        ends = cols["time"] + cols["duration"]
        on, off, pitch, velocity = player_columns(cols["time"], ends, cols["pitch"], cols["velocity"])
        columns = (on, off, pitch, velocity, np.full(len(on), track.program, dtype=np.int64))
        instruments = [(0, "program", track.program, channel)]
        if track.name:
            instruments.insert(0, (0, "track_name", track.name.encode("utf-8", "surrogateescape"), 0))
        part = Part(track.name, int(track.program), bool(track.is_drum))
        tracks.append(RawTrack([], [], instruments, bool(len(on)), columns=columns, part=part))
    tracks[0].drum_notes = drums
    return score.ticks_per_quarter, tracks
