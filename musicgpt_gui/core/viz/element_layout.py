"""Where each pooled attention element sits in the music: its onset, its notes and its bar.

The elements are the labels of :class:`~musicgpt_gui.core.model.inspect.attention.PooledAttention`
(notes, chords, rests, controls, markers).  Each is parsed with the note-text parser alone,
then placed after the steps of the elements before it, so a note of the roll always knows
the attention row and column it belongs to.  Bars follow the text's ``meter.TimeSignature``
items (4/4 until the first one).
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from fractions import Fraction

from musicgpt_gui.core.music.notation import DEFAULT_BAR, bar_length, parse_text
from musicgpt_gui.core.music.parts import MAX_PARTS, Part

_PROBE = ", C0:1"  # a note after an item starts exactly one step of that item later
# An element is parsed alone, away from its piece's declarations: any part marker it holds is taken as
# declared (the layout needs times and pitches, not the parts' programs).
_ANY_PARTS = tuple(Part(str(k)) for k in range(1, MAX_PARTS + 1))


@dataclass(frozen=True)
class ElementNote:
    element: int
    onset: Fraction
    pitch: int
    duration: Fraction


@dataclass
class ElementLayout:
    labels: list[str]
    onsets: list[Fraction]  # onset of each element, in quarter lengths from the window's start
    steps: list[Fraction]  # how far each element moves time on (0 for controls and markers)
    notes: list[ElementNote]  # every sounding note, tagged with its element
    bars: list[int]  # bar index of each element
    bar_starts: list[Fraction]  # onset of each bar
    length: Fraction

    def pitch_classes(self) -> list[int]:
        """For each element, a 12-bit mask of the pitch classes it sounds."""
        masks = [0] * len(self.labels)
        for note in self.notes:
            masks[note.element] |= 1 << (note.pitch % 12)
        return masks

    def bar_firsts(self) -> list[int]:
        """For each element, the first note, chord or rest of its bar (-1 when the bar has none yet)."""
        first_of_bar: dict[int, int] = {}
        out = []
        for k, (bar, step) in enumerate(zip(self.bars, self.steps)):
            if step > 0 and bar not in first_of_bar:
                first_of_bar[bar] = k
            out.append(first_of_bar.get(bar, -1))
        return out


def _step(label: str) -> Fraction:
    notes = parse_text(label + _PROBE, parts=_ANY_PARTS).notes
    return notes[-1].onset


def element_layout(labels: list[str]) -> ElementLayout:
    """Onsets, notes and bars of the elements ``labels`` (in text order)."""
    onsets, steps, notes = [], [], []
    now = Fraction(0)
    meters = [(Fraction(0), DEFAULT_BAR)]
    for k, label in enumerate(labels):
        onsets.append(now)
        step = _step(label)
        steps.append(step)
        sounding = parse_text(label, parts=_ANY_PARTS).notes
        notes.extend(ElementNote(k, now + n.onset, n.pitch, n.duration) for n in sounding)
        bar = bar_length(label)
        if bar:
            meters = [m for m in meters if m[0] < now] + [(now, bar)]
        now += step
    length = max([now] + [n.onset + n.duration for n in notes])
    bar_starts = _bar_starts(meters, length)
    bars = [max(0, bisect_right(bar_starts, onset) - 1) for onset in onsets]
    return ElementLayout(labels, onsets, steps, notes, bars, bar_starts, length)


def _bar_starts(meters: list[tuple[Fraction, Fraction]], length: Fraction) -> list[Fraction]:
    """Bar lines up to ``length``; a time signature change starts a new bar where it stands."""
    starts: list[Fraction] = []
    for i, (start, bar) in enumerate(meters):
        end = meters[i + 1][0] if i + 1 < len(meters) else max(length, start + bar)
        at = start
        while at < end:
            starts.append(at)
            at += bar
    return starts or [Fraction(0)]
