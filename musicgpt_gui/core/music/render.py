"""A :class:`Piece` -> note-text items, in either format (the grammar is in notation.py)."""

from __future__ import annotations

from fractions import Fraction
from math import lcm
from typing import Iterable, Optional, TypeVar

from musicgpt_gui.core.music.music21_names import key_name, tempo_name, time_name
from musicgpt_gui.core.music.notation import DEFAULT_VELOCITY, format_control, format_item, midi_to_name
from musicgpt_gui.core.music.piece import MARK_ORDER, FlatItem, Mark, Piece, TimedNote

Time = TypeVar("Time", int, Fraction)


def _names(pitches: Iterable[int], semitones: int) -> Optional[list[str]]:
    shifted = [p + semitones for p in pitches]
    if any(not 0 <= p <= 127 for p in shifted):
        return None
    return [midi_to_name(p) for p in shifted]


def render_flat(items: list[FlatItem], semitones: int = 0) -> Optional[list[str]]:
    """Seed-format items in music21's flatten() order; None when a transposed pitch leaves 0..127."""
    out = []
    for item in items:
        kind = item[0]
        if kind == "notes":
            names = _names(item[1], semitones)
            if names is None:
                return None
            out.append(" ".join(names))
        elif kind == "rest":
            out.append("rest")
        elif kind == "key":
            out.append(key_name(item[1], item[2], semitones))
        elif kind == "tempo":
            out.append(tempo_name(item[1]))
        elif item[1]:
            out.append(item[1])
    return out


def select_tracks(piece: Piece, mode: str) -> list[int]:
    """merge: every track with notes; first: the first one (drums were dropped on reading)."""
    return piece.tracks_with_notes[:1] if mode == "first" else list(piece.tracks_with_notes)


def sounding_notes(notes: Iterable[tuple[Time, Time, int]]) -> dict[Time, dict[int, Time]]:
    """Notes ``(onset, length, pitch)`` of several tracks as one MIDI channel sounds them: ``{onset: {pitch: length}}``.

    A key sounds once at a time, so two rules decide (the README grammar states them):
    same-pitch notes starting together are one note, the longest; a note still sounding when
    the same pitch starts again ends there (the new note-on re-strikes the key).
    """
    groups: dict[Time, dict[int, Time]] = {}
    for onset, length, pitch in notes:
        chord = groups.setdefault(onset, {})
        chord[pitch] = max(chord.get(pitch, 0), length)
    last_onset: dict[int, Time] = {}
    for onset in sorted(groups):
        for pitch in groups[onset]:
            earlier = last_onset.get(pitch)
            if earlier is not None and earlier + groups[earlier][pitch] > onset:
                groups[earlier][pitch] = onset - earlier
            last_onset[pitch] = onset
    return groups


def _changes(marks: list[Mark]) -> list[Mark]:
    """The marks that change something, in order: each instrument once, tempo/key/time when they change."""
    current: dict[str, object] = {}
    seen_instruments: set[object] = set()
    kept = []
    for m in marks:
        if m.kind == "instrument":
            if m.value and m.value not in seen_instruments:
                seen_instruments.add(m.value)
                kept.append(m)
        elif current.get(m.kind) != m.value:
            current[m.kind] = m.value
            kept.append(m)
    return kept


def bin_velocity(velocity: int, bins: int) -> int:
    """The centre of ``velocity``'s bin when 1..127 is cut into ``bins`` equal bins."""
    index = min(velocity * bins // 128, bins - 1)
    return max(1, min(127, round((index + 0.5) * 128 / bins)))


def _controls(notes: list[TimedNote], velocity_bins: int, programs: bool) -> dict[Fraction, list[tuple[str, int]]]:
    """Per onset, the controls of its chord: the loudest note's binned velocity, the first track's program."""
    loudest: dict[Fraction, int] = {}
    first_program: dict[Fraction, int] = {}
    for n in notes:
        if n.velocity is not None:
            loudest[n.onset] = max(loudest.get(n.onset, 0), n.velocity)
        first_program.setdefault(n.onset, n.program)
    controls: dict[Fraction, list[tuple[str, int]]] = {}
    for onset in first_program:
        chosen = controls.setdefault(onset, [])
        if programs:
            chosen.append(("program", first_program[onset]))
        if velocity_bins and onset in loudest:
            chosen.append(("velocity", bin_velocity(loudest[onset], velocity_bins)))
    return controls


def render_merged(
    piece: Piece,
    fmt: str,
    mode: str = "merge",
    semitones: int = 0,
    *,
    velocity_bins: int = 0,
    programs: bool = False,
) -> Optional[list[str]]:
    """One time-ordered stream: notes starting together form a chord, silences become rests.

    Timed items carry the step to the next item and ``~length`` where a pitch sounds
    longer or shorter than that step (see notation.py).  Marks (instrument, tempo,
    key, time signature) are written where they change; instruments only for the selected
    tracks.  In the timed format a mark between two onsets ends the step there (a ``rest``
    step continues to the next onset while held notes sound on), so it keeps its position;
    the seed format, which has no steps, writes it before the next event.
    Timed text can also carry ``velocity=`` (binned into ``velocity_bins``; 0 leaves it out) and
    ``program=`` controls, written before a chord when they change (one value per chord).
    """
    timed = fmt == "timed"
    tracks = set(select_tracks(piece, mode))
    selected = [n for n in piece.notes if n.track in tracks]
    marks = _changes(
        sorted(
            (m for m in piece.marks if m.kind != "instrument" or m.track in tracks),
            key=lambda m: (m.offset, MARK_ORDER[m.kind]),
        )
    )
    # Whole multiples of 1/unit quarter from here on: integer arithmetic instead of Fractions.
    unit = lcm(
        *{n.onset.denominator for n in selected},
        *{n.duration.denominator for n in selected},
        *{m.offset.denominator for m in marks},
    )

    def steps(time: Fraction) -> int:
        return time.numerator * (unit // time.denominator)

    def quarters(count: int) -> Optional[Fraction]:
        return Fraction(count, unit) if timed else None

    groups = sounding_notes((steps(n.onset), steps(n.duration), n.pitch) for n in selected)
    controls = {}
    if timed and (velocity_bins or programs):
        controls = {steps(at): chosen for at, chosen in _controls(selected, velocity_bins, programs).items()}
    current: dict[str, int] = {"velocity": DEFAULT_VELOCITY, "program": 0}
    mark_at = [steps(m.offset) for m in marks]
    positions = set(groups)
    if timed and groups:
        last = max(groups)
        positions.update(at for at in mark_at if at < last)
    positions = sorted(positions)
    out: list[str] = []
    mark_i = 0

    def emit_marks(upto: Optional[int]) -> None:
        nonlocal mark_i
        while mark_i < len(marks) and (upto is None or mark_at[mark_i] <= upto):
            m = marks[mark_i]
            mark_i += 1
            if m.kind == "instrument":
                out.append(str(m.value))
            elif m.kind == "tempo":
                out.append(format_control("tempo", m.value) if timed else tempo_name(m.value))
            elif m.kind == "key":
                out.append(key_name(m.value[0], m.value[1], semitones))
            else:
                out.append(time_name(m.value))

    def rest(length: int) -> None:
        out.append(format_item(None, quarters(length)))

    emit_marks(0)
    if positions and positions[0] > 0:
        rest(positions[0])
    sounding = 0
    for i, position in enumerate(positions):
        emit_marks(position)
        following = positions[i + 1] if i + 1 < len(positions) else None
        chord = groups.get(position)
        if chord is None:  # a mark between onsets: time moves on to the next position
            if following is not None:
                rest(following - position)
            continue
        names = _names(chord, semitones)
        if names is None:
            return None
        for kind, value in controls.get(position, []):
            if current[kind] != value:
                current[kind] = value
                out.append(format_control(kind, value))
        sounding = max(sounding, max(position + d for d in chord.values()))
        step = (following if following is not None and following <= sounding else sounding) - position
        holds = {name: Fraction(d, unit) for name, d in zip(names, chord.values()) if d != step}
        out.append(format_item(names, quarters(step), holds))
        if following is not None and following > sounding:
            rest(following - sounding)
    emit_marks(None)
    return out
