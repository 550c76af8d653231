"""MIDI bytes -> raw tracks with symusic (C++), the fast reader for the timed format.

symusic parses a pop file in about a millisecond where mido's pure-Python reader takes ~0.2 s.
It splits tracks by channel and program and pairs notes first-in-first-out; the notes are
re-paired here the way a MIDI player sounds them (a note-on of a sounding key ends it, the next
note-off ends the sounding note), so both readers give the same music.  A file symusic rejects
raises :class:`SymusicRejected`, and the caller retries with mido's tolerant reader.
"""
from __future__ import annotations

from musicgpt_gui.core.music.general_midi import DRUM_CHANNEL
from musicgpt_gui.core.readers.midi_file import RawNote, RawTrack, tempo_bpm

# mido's key names by sharps (-7..7): symusic gives the count, the reader expects the name.
_MAJOR = ("Cb", "Gb", "Db", "Ab", "Eb", "Bb", "F", "C", "G", "D", "A", "E", "B", "F#", "C#")
_MINOR = ("Ab", "Eb", "Bb", "F", "C", "G", "D", "A", "E", "B", "F#", "C#", "G#", "D#", "A#")


class SymusicRejected(Exception):
    """symusic could not parse the file; the message is symusic's."""


def _player_notes(notes_of_key: list[tuple[int, int, int]], pitch: int, channel: int, program: int) -> list[RawNote]:
    """One key on one channel as a player sounds it, from symusic's (start, end, velocity) notes."""
    events = sorted([(end, 0, 0) for _, end, _ in notes_of_key] + [(start, 1, v) for start, _, v in notes_of_key])
    notes, sounding, velocity = [], None, 0
    for tick, is_on, on_velocity in events:
        if sounding is not None and tick > sounding:
            notes.append(RawNote(sounding, tick, pitch, channel, velocity, program))
            sounding = None
        if is_on:
            sounding, velocity = tick, on_velocity
    return notes


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
        by_pitch: dict[int, list[tuple[int, int, int]]] = {}
        for n in track.notes:
            by_pitch.setdefault(n.pitch, []).append((n.time, n.time + n.duration, n.velocity))
        notes = sorted(
            (note for pitch, key in by_pitch.items() for note in _player_notes(key, pitch, channel, track.program)),
            key=lambda n: (n.on, n.pitch),
        )
        instruments = [(0, "program", track.program, channel)]
        if track.name:
            instruments.insert(0, (0, "track_name", track.name.encode("utf-8", "surrogateescape"), 0))
        tracks.append(RawTrack(notes, [], instruments, bool(notes)))
    tracks[0].drum_notes = drums
    return score.ticks_per_quarter, tracks
