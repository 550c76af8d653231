"""Note-text formats: writing items and tolerant parsing back into timed events.

Two formats share one item syntax; items are joined with ``", "``.

* **seed** -- exactly the seed's text: ``C#3``, ``A3 C4 E4`` (chord), ``rest`` and music21's
  name for anything else (``Piano``, ``f# minor``, ``meter.TimeSignature 4/4``).
* **timed** (default) -- the same items with a duration in quarter lengths after ``:``
  (``C#3:1.0``, ``A3 C4 E4:0.5``, ``rest:0.25``, triplets as ``1/3``).  The duration is the
  step to the next item, so onsets survive.  A pitch that sounds longer or shorter than
  the step carries its own length after ``~`` (``A4~2.0 C4 E3:1.0``).  Controls are items
  of their own: ``tempo=96`` (quarter notes per minute), ``velocity=80``, ``program=0``.

Parsing is tolerant: malformed items are skipped and counted, so model output can be
repaired into playable music (see :func:`parse_text`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from fractions import Fraction
from functools import lru_cache
from typing import Iterable, Optional, Sequence, Union

from musicgpt_gui.core.music.parts import MAX_PARTS, Part, is_drum_note, parse_declaration, parse_marker

SEP = ", "
FORMATS = ("seed", "timed")
DEFAULT_FORMAT = "timed"
# Bumped when a format's text for the same music changes; metadata.json records it (no version = 1).
# timed 2: uniform grid (absolute onsets and offsets snapped), one sounding note per pitch.
# timed 3: each track sounds as its own channel, so unisons of two tracks are two notes.
# timed 4: parts (``@1=MELODY program=0`` declarations, ``@1`` markers); a text without them reads as version 3.
FORMAT_VERSIONS = {"seed": 1, "timed": 4}
GRID = Fraction(1, 12)  # lcm of music21's quarterLengthDivisors (4, 3)
DEFAULT_NOTE_LENGTH = 0.5  # quarter lengths for seed-format notes, which carry none
DEFAULT_VELOCITY = 90
MAX_LENGTH = 64  # quarters: the longest step or hold the parser takes (longer rests are written in pieces)

_PITCH_RE = re.compile(r"^([A-Ga-g])(#{1,2}|-{1,2})?(-?\d)$")
_DUR_RE = re.compile(r"^(\d+(?:\.\d+)?)(?:/(\d+))?$")
_CONTROL_RE = re.compile(r"^(tempo|velocity|program)=(\d+(?:\.\d+)?)$")
_OTHER_RES = (
    re.compile(r"^tempo\.MetronomeMark( [\w ]+)? Quarter=\d+(\.\d+)?$"),
    re.compile(r"^meter\.TimeSignature \d+/\d+$"),
    re.compile(r"^[A-Ga-g][#-]{0,2} (major|minor)$"),
    re.compile(r"^key\.KeySignature of .+$"),
)
# Learned controls (core/model/controls): one item at a bar line, e.g. ``density=2 poly=1 pitch=3 key=f#`` and, in
# a piece with parts, each playing part's own after its marker (``@1 density=1 pitch=2``) (quantile bins of the
# bar's onsets, notes sounding and mean pitch; the key of the 4 bars from there, music21's spelling, lower case
# for minor).  Kept as items, never played.
BAR_CONTROL_NAMES = ("density", "poly", "pitch", "key")
_BAR_CONTROL_WORD = r"(?:(?:density|poly|pitch)=\d+|key=[A-Ga-g][#-]?)"
BAR_CONTROL_RE = re.compile(rf"^{_BAR_CONTROL_WORD}(?: (?:{_BAR_CONTROL_WORD}|@\d+))*$")


def is_bar_control(item: str) -> bool:
    """Whether ``item`` is a learned-controls item (written at bar lines by a ``--controls`` run)."""
    return bool(BAR_CONTROL_RE.match(item.strip()))


@lru_cache(maxsize=None)
def midi_to_name(midi: int) -> str:
    """music21's spelling of a MIDI pitch (``61 -> 'C#4'``, ``63 -> 'E-4'``)."""
    from music21 import pitch

    return pitch.Pitch(midi=midi).nameWithOctave


@lru_cache(maxsize=4096)
def name_to_midi(name: str) -> Optional[int]:
    """MIDI number of a pitch name, or None when it is not a valid pitch in 0..127."""
    if not _PITCH_RE.match(name):
        return None
    from music21 import pitch

    try:
        value = int(round(pitch.Pitch(name).ps))  # .midi wraps out-of-range pitches by octaves
    except Exception:  # music21 raises several types for odd names
        return None
    return value if 0 <= value <= 127 else None


def quantize(quarters: float | Fraction, grid: Fraction = GRID) -> Fraction:
    """Snap a length in quarter notes onto the 1/12 grid (16ths and triplets)."""
    return Fraction(round(Fraction(quarters) / grid)) * grid


@lru_cache(maxsize=4096)
def format_duration(quarters: float | Fraction) -> str:
    """``1 -> '1.0'``, ``0.25 -> '0.25'``, ``1/3 -> '1/3'`` (binary fractions as decimals)."""
    frac = Fraction(quarters).limit_denominator(48)
    if frac.denominator in (1, 2, 4, 8, 16):
        return repr(float(frac))
    return f"{frac.numerator}/{frac.denominator}"


@lru_cache(maxsize=4096)
def parse_duration(text: str) -> Optional[Fraction]:
    """A written length as a Fraction, or None; cached: a piece writes a few dozen lengths thousands of times."""
    m = _DUR_RE.match(text.strip())
    if not m:
        return None
    value = Fraction(m.group(1)) / (int(m.group(2)) if m.group(2) else 1)
    return value if value > 0 and value <= MAX_LENGTH else None


def format_item(
    pitches: Iterable[str] | None,
    duration: Optional[float | Fraction] = None,
    holds: Optional[dict[str, float | Fraction]] = None,
) -> str:
    """One note/chord/rest item.  ``pitches`` None or empty means a rest.

    Without ``duration`` this is the seed format; ``holds`` maps a pitch name to its own
    sounding length when that differs from the step.
    """
    names = list(pitches or [])
    if duration is None:
        return item_text(names, None)
    held = [format_duration(holds[n]) if holds and n in holds else None for n in names]
    return item_text(names, format_duration(duration), held)


def item_text(names: Sequence[str], step: Optional[str], holds: Optional[Sequence[Optional[str]]] = None) -> str:
    """:func:`format_item` with the lengths already written by :func:`format_duration` (one hold or None per name)."""
    if not names:
        body = "rest"
    elif step is None or holds is None:
        body = " ".join(names)
    else:
        body = " ".join(n if h is None else f"{n}~{h}" for n, h in zip(names, holds))
    return body if step is None else f"{body}:{step}"


DEFAULT_BAR = Fraction(4)  # quarters in a bar before any time signature (4/4)
_METER_RE = re.compile(r"^meter\.TimeSignature (\d+)/(\d+)$")


def bar_length(item: str) -> Optional[Fraction]:
    """Quarters in a bar of a ``meter.TimeSignature N/D`` item (4N/D); None for any other item."""
    found = _METER_RE.match(item.strip())
    return Fraction(4 * int(found.group(1)), int(found.group(2))) if found and int(found.group(2)) else None


# What a control may say.  A tempo under 4 bpm does not fit MIDI's set_tempo (at most 16,777,215 microseconds
# a quarter note, 3.58 bpm), so it could be read but never written.
CONTROL_RANGES = {"tempo": (4, 1000), "velocity": (1, 127), "program": (0, 127)}


def control_in_range(kind: str, value: float) -> bool:
    low, high = CONTROL_RANGES.get(kind, (1, 0))
    return low <= value <= high


def format_control(kind: str, value: float) -> str:
    """``tempo=96``, ``velocity=80``, ``program=0`` (tempo keeps up to two decimals)."""
    if kind == "tempo":
        return f"tempo={round(value, 2):g}"
    return f"{kind}={int(value)}"


def join_items(items: Iterable[str]) -> str:
    return SEP.join(items)


def split_items(text: str) -> list[str]:
    """Split note text into items; tolerant of missing spaces and stray whitespace."""
    return [part.strip() for part in re.split(r",\s*", text.strip()) if part.strip()]


@dataclass
class NoteEvent:
    """A sounding note: onset and duration in quarter lengths from the start."""

    onset: Fraction
    pitch: int
    duration: Fraction
    velocity: int = DEFAULT_VELOCITY
    program: int = 0
    part: int = 0  # index into Parsed.parts (0 when the text declares none)


@dataclass
class Parsed:
    """Result of :func:`parse_text`: events plus repair statistics.

    ``parts`` holds the declared parts; it is empty for a text that declares none (one part, as
    before parts existed).  ``problems`` says why items were skipped where a reason is specific
    (an undeclared part, a drum note off the GM map, too many parts) and which parts no note uses.
    """

    notes: list[NoteEvent] = field(default_factory=list)
    tempos: list[tuple[Fraction, float]] = field(default_factory=list)  # (onset, bpm), in text order
    programs: list[tuple[Fraction, int]] = field(default_factory=list)
    items: list[str] = field(default_factory=list)  # the valid items, normalised
    total: int = 0
    skipped: list[str] = field(default_factory=list)
    length: Fraction = Fraction(0)
    parts: list[Part] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def valid(self) -> int:
        return len(self.items)

    @property
    def valid_share(self) -> float:
        return self.valid / self.total if self.total else 0.0

    @property
    def text(self) -> str:
        """The cleaned text: only the valid items."""
        return join_items(self.items)

    def without_parts(self, muted: Iterable[int]) -> "Parsed":
        """The same piece with the notes of the ``muted`` parts (indices) left out: mute and solo."""
        muted = set(muted)
        return replace(self, notes=[n for n in self.notes if n.part not in muted]) if muted else self

    def part_counts(self) -> list[tuple[Part, int]]:
        """Each declared part with its number of notes (a text without parts: none)."""
        counts = [0] * len(self.parts)
        for note in self.notes if self.parts else ():
            counts[note.part] += 1
        return list(zip(self.parts, counts))


Event = tuple[list[tuple[int, Optional[Fraction], int]], Fraction, str, int]


def _parse_event(
    item: str, default_length: Fraction, parts: Sequence[Part] = (), part: int = 0
) -> Union[Event, str, None]:
    """(notes as (midi, hold, part), step, normalised item, the part named last), None when malformed,
    or the reason when the item is well formed but names an undeclared part or a drum note off the GM map."""
    body, sep, dur_text = item.rpartition(":")
    if not sep:
        body, step = item, None
    else:
        step = parse_duration(dur_text)
        if step is None:
            return None
    tokens = body.split()
    if not tokens:
        return None
    if tokens == ["rest"]:
        length = step if step is not None else default_length
        return [], length, format_item(None, step), part
    notes: list[tuple[int, Optional[Fraction], int]] = []
    names: list[str] = []
    holds: list[Optional[str]] = []  # by position: a chord may name a pitch twice (a unison of two tracks)
    for tok in tokens:
        number = parse_marker(tok)
        if number is not None:
            if not 1 <= number <= len(parts):
                return f"'{item}': part @{number} is not declared"
            part = number - 1
            names.append(tok)
            holds.append(None)
            continue
        name, tilde, hold_text = tok.partition("~")
        midi = name_to_midi(name)
        hold = parse_duration(hold_text) if tilde else None
        if midi is None or (tilde and hold is None):
            return None
        if parts and parts[part].drums and not is_drum_note(midi):
            return f"'{item}': drum note {name} (MIDI {midi}) is outside the General MIDI drum map (35-81)"
        notes.append((midi, hold, part))
        names.append(name)
        holds.append(None if hold is None else format_duration(hold))
    if not notes:
        return None
    length = step if step is not None else default_length
    return notes, length, item_text(names, None if step is None else format_duration(step), holds), part


def _declare(out: Parsed, item: str) -> bool:
    """Add a part declaration item to ``out`` (or skip it with its reason); False when ``item`` is none."""
    declared = parse_declaration(item)
    if declared is None:
        return False
    number, part = declared
    if number > MAX_PARTS or len(out.parts) >= MAX_PARTS:
        out.skipped.append(item)
        out.problems.append(f"'{item}': more than {MAX_PARTS} parts (MIDI has {MAX_PARTS} channels)")
    elif number != len(out.parts) + 1:
        out.skipped.append(item)
        out.problems.append(f"'{item}': parts are declared in order, @{len(out.parts) + 1} was expected")
    else:
        out.parts.append(part)
        out.items.append(item)
    return True


def parse_text(text: str, default_length: float = DEFAULT_NOTE_LENGTH, parts: Sequence[Part] = ()) -> Parsed:
    """Parse note text in either format into timed events, skipping malformed items.

    Seed-format notes (no ``:duration``) last ``default_length`` quarters.  Other items
    that music21 would name (instruments, keys, time signatures) are kept as valid but
    produce no sound; anything unrecognised is skipped and counted.  Part declarations and
    markers (parts.py) put each note in its part; a note of a part sounds on the part's program.
    ``parts``: those declared by the text this one continues (a prompt, the music before a middle).
    """
    default = Fraction(default_length).limit_denominator(48)
    out = Parsed(parts=list(parts))
    now = Fraction(0)
    velocity, program, part = DEFAULT_VELOCITY, 0, 0
    for item in split_items(text):
        out.total += 1
        control = _CONTROL_RE.match(item)
        if control:
            kind, value = control.group(1), float(control.group(2))
            if not control_in_range(kind, value):
                out.skipped.append(item)
                continue
            if kind == "tempo":
                out.tempos.append((now, value))
            elif kind == "velocity":
                velocity = int(value)
            else:
                program = int(value)
                out.programs.append((now, program))
            out.items.append(format_control(kind, value))
            continue
        if item.startswith("@") and _declare(out, item):
            continue
        event = _parse_event(item, default, out.parts, part)
        if event is None or isinstance(event, str):
            if event is None and _is_known_other(item):
                out.items.append(item)
            else:
                out.skipped.append(item)
                if event is not None:
                    out.problems.append(event)
            continue
        notes, step, normalised, part = event
        for midi, hold, in_part in notes:
            sound = out.parts[in_part].program if out.parts else program
            out.notes.append(NoteEvent(now, midi, hold or step, velocity, sound, in_part))
        out.items.append(normalised)
        now += step
    out.length = max([now] + [n.onset + n.duration for n in out.notes])
    used = {n.part for n in out.notes}
    for index, declared in enumerate(out.parts):
        if index not in used and index >= len(parts):
            out.problems.append(f"part @{index + 1} ({declared.name}) is declared but no note uses it")
    return out


@lru_cache(maxsize=1)
def _instrument_names() -> frozenset[str]:
    from music21 import instrument

    names = set()
    for obj in vars(instrument).values():
        if isinstance(obj, type) and issubclass(obj, instrument.Instrument):
            try:
                name = obj().instrumentName
            except Exception:  # a few abstract classes cannot be built
                continue
            if name:
                names.add(name)
    return frozenset(names)


def _is_known_other(item: str) -> bool:
    return any(r.match(item) for r in _OTHER_RES) or is_bar_control(item) or item in _instrument_names()


def seed_name(element) -> Optional[str]:
    """The seed's item for one music21 element, or None for what the seed text leaves out.

    Note -> ``nameWithOctave``, Chord -> its pitches joined by spaces, Rest -> ``rest``,
    Instrument / MetronomeMark / Key / KeySignature / TimeSignature -> ``str(element)``
    without the ``<music21. >`` wrapper.  Metadata, clefs, bar lines and the like are not
    musical content of a MIDI file and are skipped, as are nameless instruments.
    """
    from music21 import chord, instrument, key, meter, note, tempo

    if isinstance(element, note.Note):
        return element.nameWithOctave
    if isinstance(element, chord.Chord):
        return " ".join(p.nameWithOctave for p in element.pitches)
    if isinstance(element, note.Rest):
        return "rest"
    if isinstance(element, (instrument.Instrument, tempo.MetronomeMark, key.KeySignature, meter.TimeSignature)):
        return strip_music21(str(element)) or None
    return None


def strip_music21(text: str) -> str:
    """``'<music21.meter.TimeSignature 4/4>'`` -> ``'meter.TimeSignature 4/4'`` (the seed's rule)."""
    if text.startswith("<music21.") and text.endswith(">"):
        return text[len("<music21.") : -1]
    return text


def seed_items(stream) -> list[str]:
    """The seed's conversion of a parsed score: ``flatten()`` then :func:`seed_name` per element."""
    return [name for name in map(seed_name, stream.flatten()) if name is not None]
