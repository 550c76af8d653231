"""Note text -> MIDI (mido): rendering for playback and ``.mid`` export with provenance.

Timed text keeps its durations, tempo changes, velocities and programs; seed text has no
durations, so each of its notes lasts ``note_length`` quarters (default
:data:`~musicgpt_gui.core.music.notation.DEFAULT_NOTE_LENGTH`).  Reading MIDI into note text lives in
``midi_reader``; this module only writes.
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable, Optional

import mido

from musicgpt_gui.core.atomic_file import atomic_file
from musicgpt_gui.core.jobs import JobError
from musicgpt_gui.core.midi.instruments import with_instrument_programs
from musicgpt_gui.core.music.general_midi import DRUM_CHANNEL
from musicgpt_gui.core.music.notation import DEFAULT_NOTE_LENGTH, NoteEvent, Parsed, parse_text
from musicgpt_gui.core.music.parts import Part
from musicgpt_gui.core.music.tempo_map import TempoMap

TICKS_PER_BEAT = 480  # divisible by 12, so every 1/12-quarter grid point is a whole tick
PROVENANCE_PREFIX = "musicgpt provenance: "
_MELODIC_CHANNELS = [c for c in range(16) if c != DRUM_CHANNEL]


def render_midi(
    source: str | Parsed,
    *,
    note_length: float = DEFAULT_NOTE_LENGTH,
    provenance: Optional[dict[str, Any]] = None,
) -> mido.MidiFile:
    """Build a type-1 MIDI file: a conductor track (tempo, provenance) and one track per program
    (plus one per extra layer of doubled same-pitch notes, see :func:`_layers`); a text that declares
    parts gets one track per part instead (:func:`_part_tracks`).

    Instrument names in the text choose General MIDI programs (:mod:`instruments`).

    Raises :class:`JobError` when the text holds no playable note, so nobody exports or plays
    silence by mistake.
    """
    parsed = parse_text(with_instrument_programs(source), note_length) if isinstance(source, str) else source
    if not parsed.notes:
        reason = f"; {parsed.problems[0]}" if parsed.problems else ""
        raise JobError(
            f"The note text has no playable notes ({len(parsed.skipped)} of {parsed.total} items were not understood"
            f"{reason})."
        )
    midi = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    midi.tracks.append(_conductor_track(parsed, provenance))
    if parsed.parts:
        midi.tracks.extend(_part_tracks(parsed))
        return midi
    programs = sorted({n.program for n in parsed.notes})
    if len(programs) > len(_MELODIC_CHANNELS):
        raise JobError(f"The note text uses {len(programs)} programs; MIDI has room for {len(_MELODIC_CHANNELS)}.")
    layers = _layers(parsed.notes)
    lanes = [(p, 0) for p in programs] + sorted({(n.program, k) for n, k in zip(parsed.notes, layers) if k})
    channel_of = dict(zip(lanes, _MELODIC_CHANNELS))  # lanes past the 15th channel share their program's first
    per_lane: dict[tuple[int, int], list[NoteEvent]] = {}
    for note, layer in zip(parsed.notes, layers):
        lane = (note.program, layer) if (note.program, layer) in channel_of else (note.program, 0)
        per_lane.setdefault(lane, []).append(note)
    for lane, channel in channel_of.items():
        midi.tracks.append(_program_track(per_lane[lane], lane[0], channel, parsed.length))
    return midi


def export_midi(
    source: str | Parsed,
    path: str | Path,
    provenance: Optional[dict[str, Any]] = None,
    *,
    note_length: float = DEFAULT_NOTE_LENGTH,
) -> Path:
    """Write ``source`` as a ``.mid`` file atomically (temp file + rename) and return its path."""
    midi = render_midi(source, note_length=note_length, provenance=provenance)
    path = Path(path)
    with atomic_file(path, "wb") as fh:
        midi.save(file=fh)
    return path


def provenance_of(midi: mido.MidiFile) -> Optional[dict[str, Any]]:
    """The provenance dict :func:`export_midi` embedded, or None when the file has none."""
    for track in midi.tracks:
        for msg in track:
            if msg.type == "text" and msg.text.startswith(PROVENANCE_PREFIX):
                return json.loads(msg.text[len(PROVENANCE_PREFIX) :])
    return None


def _ticks(quarters: Fraction) -> int:
    return round(quarters * TICKS_PER_BEAT)


def _conductor_track(parsed: Parsed, provenance: Optional[dict[str, Any]]) -> mido.MidiTrack:
    events: list[tuple[int, mido.MetaMessage]] = [(0, mido.MetaMessage("track_name", name="musicgpt"))]
    known = {k: v for k, v in (provenance or {}).items() if v is not None}
    if known:
        # ASCII JSON: MIDI text events are Latin-1, and JSON keeps nested sampling settings.
        text = PROVENANCE_PREFIX + json.dumps(known, sort_keys=True, default=str)
        events.append((0, mido.MetaMessage("text", text=text)))
    marks = TempoMap.from_marks(parsed.tempos).marks
    events += [(_ticks(onset), mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm))) for onset, bpm in marks]
    return _to_track(events, _ticks(parsed.length))


def part_channels(parts: list[Part]) -> list[int]:
    """Each part's MIDI channel: drums on channel 10, every melodic part a channel of its own while there
    are enough, else parts of one program share one.  Raises :class:`JobError` past 15 melodic programs."""
    melodic = [i for i, part in enumerate(parts) if not part.drums]
    programs = list(dict.fromkeys(parts[i].program for i in melodic))
    if len(programs) > len(_MELODIC_CHANNELS):
        room = len(_MELODIC_CHANNELS)
        raise JobError(f"The parts use {len(programs)} programs; MIDI has room for {room} besides drums.")
    channels = [DRUM_CHANNEL] * len(parts)
    if len(melodic) <= len(_MELODIC_CHANNELS):
        for i, channel in zip(melodic, _MELODIC_CHANNELS):
            channels[i] = channel
    else:
        for i in melodic:
            channels[i] = _MELODIC_CHANNELS[programs.index(parts[i].program)]
    return channels


def _part_tracks(parsed: Parsed) -> list[mido.MidiTrack]:
    """One track per part, named after it, on the part's channel with its program (drums on channel 10).

    A note doubling a same-pitch note still sounding on its channel goes to a spare channel with the
    same program, inside the part's track, so players sound both (:func:`_layers`); with no spare
    channel left it stays on the part's own.
    """
    channels = part_channels(parsed.parts)
    spare = [c for c in _MELODIC_CHANNELS if c not in channels]
    layers = _layers(parsed.notes, key=lambda n: channels[n.part])
    lane_channel: dict[tuple[int, int], int] = {}
    events: list[list[tuple[int, int, mido.Message]]] = [[] for _ in parsed.parts]
    for note, layer in zip(parsed.notes, layers):
        base = channels[note.part]
        channel = base
        if layer and base != DRUM_CHANNEL:
            if (base, layer) not in lane_channel and spare:
                lane_channel[base, layer] = spare.pop(0)
                events[note.part].append((0, 0, _program_change(lane_channel[base, layer], parsed.parts[note.part])))
            channel = lane_channel.get((base, layer), base)
        events[note.part] += _note_events(note, channel)
    tracks = []
    for index, part in enumerate(parsed.parts):
        head = [(0, 0, mido.MetaMessage("track_name", name=part.name)), (0, 0, _program_change(channels[index], part))]
        timed = sorted(head + events[index], key=lambda e: (e[0], e[1]))
        tracks.append(_to_track([(tick, msg) for tick, _, msg in timed], _ticks(parsed.length)))
    return tracks


def _program_change(channel: int, part: Part) -> mido.Message:
    return mido.Message("program_change", channel=channel, program=part.program)


def _note_events(note: NoteEvent, channel: int) -> list[tuple[int, int, mido.Message]]:
    """Note-on and note-off at absolute ticks; the middle value puts note-offs before note-ons on one tick."""
    start, end = _ticks(note.onset), _ticks(note.onset + note.duration)
    return [
        (start, 2, mido.Message("note_on", channel=channel, note=note.pitch, velocity=note.velocity)),
        (max(end, start + 1), 1, mido.Message("note_off", channel=channel, note=note.pitch, velocity=0)),
    ]


def _layers(notes: list[NoteEvent], key: Callable[[NoteEvent], int] = lambda n: n.program) -> list[int]:
    """For each note, the lowest layer where its pitch is silent then (0 for almost all).

    A unison doubling or an overlapping same-pitch note gets a layer, and so a channel, of its own:
    on one channel the second note-on would re-strike the key, and players and readers would keep one.
    """
    ends: dict[tuple[int, int, int], Fraction] = {}
    out = []
    for note in notes:
        layer = 0
        lane = key(note)
        while ends.get((lane, note.pitch, layer), -1) > note.onset:
            layer += 1
        ends[(lane, note.pitch, layer)] = note.onset + note.duration
        out.append(layer)
    return out


def _program_track(notes: list[NoteEvent], program: int, channel: int, length: Fraction) -> mido.MidiTrack:
    # Sort key puts note-offs before note-ons on the same tick, so repeated pitches re-strike.
    events: list[tuple[int, int, mido.Message]] = [
        (0, 0, mido.Message("program_change", channel=channel, program=program))
    ]
    for note in notes:
        events += _note_events(note, channel)
    events.sort(key=lambda e: (e[0], e[1]))
    return _to_track([(tick, msg) for tick, _, msg in events], _ticks(length))


def _to_track(events: list[tuple[int, Any]], end_tick: int) -> mido.MidiTrack:
    """Absolute ticks -> delta times, closed by end_of_track at the piece's end."""
    track = mido.MidiTrack()
    now = 0
    for tick, msg in events:
        track.append(msg.copy(time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=max(end_tick - now, 0)))
    return track
