"""A recorded :class:`Take` -> a MIDI file -> note text, through the import's own reader and renderer.

The take is written as the MIDI file a sequencer would save (its tempo, meter, each channel's
program, every note with its velocity), then read and rendered exactly as ``musicgpt import`` reads
and renders a file with the dataset's options (``ImportOptions.of_dataset``): the same grid, the same
snapping of onsets and offsets, the same ``velocity=``/``program=`` controls.  There is no second renderer.
"""

from __future__ import annotations

import io
from dataclasses import replace
from typing import Optional

import mido

from musicgpt_gui.core.dataset.convert import render_piece
from musicgpt_gui.core.dataset.import_options import ImportOptions
from musicgpt_gui.core.jobs import JobError
from musicgpt_gui.core.live.recorder import Take
from musicgpt_gui.core.readers.midi_reader import MidiReadError, read_piece

TICKS_PER_BEAT = 960  # a whole number of ticks for every point of the 12, 24 and 48 grids


def take_midi(take: Take, ticks_per_beat: int = TICKS_PER_BEAT) -> mido.MidiFile:
    """The take as a type-1 MIDI file: a conductor track, then one track per channel played.

    A note begun just before bar 1 (an anticipation) starts at 0; one that ended before it is left out.
    """
    def ticks(seconds: float) -> int:
        return max(0, round(seconds / take.beat * ticks_per_beat))

    midi = mido.MidiFile(type=1, ticks_per_beat=ticks_per_beat)
    conductor = [
        (0, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(take.tempo))),
        (0, mido.MetaMessage("time_signature", numerator=take.meter[0], denominator=take.meter[1])),
    ]
    midi.tracks.append(_track(conductor))
    notes = [n for n in take.notes if n.end is not None and n.end > 0]
    for channel in sorted({n.channel for n in notes}):
        mine = [n for n in notes if n.channel == channel]
        events: list[tuple[int, mido.Message]] = [(0, mido.Message("program_change", channel=channel,
                                                                  program=mine[0].program))]
        for n in mine:
            on, off = ticks(n.onset), ticks(n.end)
            events.append((on, mido.Message("note_on", channel=channel, note=n.pitch, velocity=n.velocity)))
            events.append((max(off, on), mido.Message("note_off", channel=channel, note=n.pitch, velocity=0)))
        midi.tracks.append(_track(events))
    return midi


def take_text(take: Take, options: Optional[ImportOptions] = None) -> str:
    """The take as the import would write it with ``options`` (a dataset's, or the import defaults)."""
    options = replace(options or ImportOptions(), transpose=0)
    if not any(n.end is not None and n.end > 0 for n in take.notes):
        raise JobError("Nothing was recorded: no note arrived from the MIDI input.")
    buffer = io.BytesIO()
    take_midi(take).save(file=buffer)
    try:
        piece = read_piece(buffer.getvalue(), include_drums=options.include_drums, title="recording",
                           flat=options.track_mode == "flat", grid=options.reader_grid)
    except MidiReadError as exc:
        raise JobError(f"The recording cannot be converted ({exc}).") from None
    converted = render_piece(piece, options)
    if converted is None:
        raise JobError("The recording has no notes the dataset keeps (drums are left out unless it includes them).")
    return converted.texts[0]


def _track(events: list[tuple[int, mido.Message]]) -> mido.MidiTrack:
    """Absolute-tick events -> a track with delta times (note-offs before note-ons at one tick)."""
    order = sorted(range(len(events)), key=lambda i: (events[i][0], events[i][1].type == "note_on", i))
    track, now = mido.MidiTrack(), 0
    for i in order:
        tick, msg = events[i]
        track.append(msg.copy(time=tick - now))
        now = tick
    return track
