"""MIDI bytes -> raw tracks (absolute ticks, paired notes, meta events), read with mido.

Only what the note text needs is kept; music21 still names instruments through its own
small objects (:func:`instrument_names`), so the strings are music21's.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Optional, Union

import mido
import numpy as np
from mido.midifiles.meta import KeySignatureError

from musicgpt_gui.core.music.general_midi import DRUM_CHANNEL
from musicgpt_gui.core.music.grid import Number
from musicgpt_gui.core.music.parts import Part


class MidiReadError(Exception):
    """A MIDI file that cannot be used; the message is a plain reason for the error list."""


@dataclass
class RawNote:
    on: int
    off: int
    pitch: int
    channel: int
    velocity: int = 64
    program: int = 0


@dataclass
class RawTrack:
    notes: list[RawNote]
    metas: list[tuple[int, str, object]]  # (tick, kind, value) for tempo/key/time
    instruments: list[tuple[int, str, object, int]]  # (tick, kind, data, channel)
    has_notes: bool
    drum_notes: int = 0  # notes on the drum channel that were left out
    columns: Optional[tuple[np.ndarray, ...]] = None  # (on, off, pitch, velocity, program), symusic's reading
    part: Optional[Part] = None  # symusic's reading: the track's name, program and drum flag


def track_part(track: RawTrack) -> Part:
    """The track as a part: symusic's reading, or mido's (first name, first note's program, drums when
    most notes are on channel 10; a mido track that mixes channels stays one part)."""
    if track.part is not None:
        return track.part
    names = [data for _, kind, data, _ in track.instruments if kind == "track_name"]
    name = names[0].decode("latin-1") if names else ""
    drums = sum(n.channel == DRUM_CHANNEL for n in track.notes) * 2 > len(track.notes)
    return Part(name, track.notes[0].program if track.notes else 0, drums)


def note_columns(track: RawTrack) -> tuple[np.ndarray, ...]:
    """(on, off, pitch, velocity, program) of a track's notes as int64 arrays, in the track's order."""
    if track.columns is not None:
        return track.columns
    rows = [(n.on, n.off, n.pitch, n.velocity, n.program) for n in track.notes]
    return tuple(np.array(col, dtype=np.int64) for col in zip(*rows)) if rows else (np.zeros(0, np.int64),) * 5


def checked_bytes(source: Union[str, Path, bytes]) -> bytes:
    """The file's bytes once its header is known to be usable; otherwise a :class:`MidiReadError`."""
    data = Path(source).read_bytes() if not isinstance(source, bytes) else source
    if not data:
        raise MidiReadError("empty file (0 bytes)")
    if not data.startswith(b"MThd"):
        raise MidiReadError("not a MIDI file (no MThd header)")
    if len(data) < 14:
        raise MidiReadError("truncated MIDI file (the header is incomplete)")
    division = int.from_bytes(data[12:14], "big")
    if division & 0x8000:
        raise MidiReadError("SMPTE time division (frames per second) is not supported; only ticks per beat")
    if division == 0:
        raise MidiReadError("the header says 0 ticks per beat")
    return data


def load_midi(source: Union[str, Path, bytes], *, clip: bool = False) -> mido.MidiFile:
    """Parse with mido; every failure becomes a :class:`MidiReadError` with a plain reason.

    ``clip=True`` is the tolerant reading: data bytes above 127 are clipped instead of rejected.
    """
    data = checked_bytes(source)
    try:
        return mido.MidiFile(file=io.BytesIO(data), clip=clip)
    except EOFError:
        raise MidiReadError("truncated MIDI file (ends in the middle of a track)") from None
    except KeySignatureError as exc:
        raise MidiReadError(f"corrupt MIDI data (key signature: {exc})") from None
    except (OSError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise MidiReadError(f"corrupt MIDI data ({exc})") from None


def tempo_bpm(microseconds_per_beat: int, tick: int) -> float:
    if microseconds_per_beat <= 0:
        raise MidiReadError(f"a tempo change at tick {tick} says 0 microseconds per beat")
    return round(mido.tempo2bpm(microseconds_per_beat), 2)


def read_track(track: mido.MidiTrack, include_drums: bool) -> RawTrack:
    """Absolute ticks, music21's note-on/off pairing, and the meta events music21 reads."""
    timed: list[tuple[int, mido.Message]] = []
    now = drums = 0
    for msg in track:
        now += msg.time
        if msg.type in ("note_on", "note_off", "program_change") and not include_drums and msg.channel == DRUM_CHANNEL:
            drums += msg.type == "note_on" and msg.velocity > 0
            continue
        timed.append((now, msg))
    metas: list[tuple[int, str, object]] = []
    instruments: list[tuple[int, str, object, int]] = []
    has_notes = False
    for tick, msg in timed:
        kind = msg.type
        if kind == "note_on" and msg.velocity:
            has_notes = True
        elif kind == "set_tempo":
            metas.append((tick, "tempo", tempo_bpm(msg.tempo, tick)))
        elif kind == "key_signature":
            minor = msg.key.endswith("m")
            tonic = (msg.key[:-1] if minor else msg.key).replace("b", "-")
            metas.append((tick, "key", (tonic, "minor" if minor else "major")))
        elif kind == "time_signature":
            metas.append((tick, "time", f"{msg.numerator}/{msg.denominator}"))
        elif kind in ("track_name", "instrument_name"):
            instruments.append((tick, kind, msg.name.encode("latin-1", "replace"), 0))
        elif kind == "program_change":
            instruments.append((tick, "program", msg.program, msg.channel))
    return RawTrack(_pair_notes(timed), metas, instruments, has_notes, drums)


def _pair_notes(timed: list[tuple[int, mido.Message]]) -> list[RawNote]:
    """music21's ``getNotesFromEvents``: walk backwards so each note-on meets the next note-off."""
    program: dict[int, int] = {}
    programs = []  # the channel's program at each message
    for _, msg in timed:
        if msg.type == "program_change":
            program[msg.channel] = msg.program
        programs.append(program.get(getattr(msg, "channel", 0), 0))
    awaiting: dict[tuple[int, int], int] = {}
    notes: list[RawNote] = []
    for (tick, msg), at in zip(reversed(timed), reversed(programs)):
        if msg.type == "note_off" or (msg.type == "note_on" and msg.velocity == 0):
            awaiting[msg.note, msg.channel] = tick
        elif msg.type == "note_on":
            off = awaiting.get((msg.note, msg.channel))
            if off is not None:
                notes.append(RawNote(tick, off, msg.note, msg.channel, msg.velocity, at))
    notes.reverse()
    return notes


@lru_cache(maxsize=4096)
def instrument_names(events: tuple[tuple[Number, str, object, int], ...]) -> tuple[tuple[Number, str], ...]:
    """Instrument names of one track, exactly as music21 names and de-duplicates them.

    ``events`` holds (offset, kind, raw data, channel); kind is 'track_name',
    'instrument_name' or 'program'.  music21's own ``midiEventToInstrument`` and
    ``instrument.deduplicate`` do the work on tiny objects.
    """
    from music21 import instrument, midi, stream
    from music21.midi.translate import midiEventToInstrument

    part = stream.Part()
    types = {
        "track_name": midi.MetaEvents.SEQUENCE_TRACK_NAME,
        "instrument_name": midi.MetaEvents.INSTRUMENT_NAME,
        "program": midi.ChannelVoiceMessages.PROGRAM_CHANGE,
    }
    for offset, kind, data, channel in events:
        event = midi.MidiEvent(type=types[kind], channel=channel + 1)
        event.data = data
        with warnings.catch_warnings():  # undecodable names become a generic Instrument, quietly
            warnings.simplefilter("ignore")
            part.coreInsert(offset, midiEventToInstrument(event))
    part.coreElementsChanged()
    instrument.deduplicate(part, inPlace=True)
    return tuple((part.elementOffset(i), str(i)) for i in part.getElementsByClass(instrument.Instrument))
