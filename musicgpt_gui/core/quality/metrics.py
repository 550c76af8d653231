"""Musical metrics of note text: does a sample sound like it has a key, and like the data?

A loss says how well a model predicts the validation text; these say what its samples sound
like.  The key comes from music21's Krumhansl-Schmuckler analysis (duration-weighted pitch
classes correlated with the key profiles); the other figures are counts on the parsed notes.
The same figures of the validation pieces and of n-gram samples are the references a model's
samples are read against.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Iterable, Optional, Sequence

import numpy as np

from musicgpt_gui.core.music.notation import NoteEvent, parse_text

PHRASE_ONSETS = 4  # a phrase: this many consecutive onsets with their pitches and steps
COLUMNS = (  # attribute, short heading, format
    ("key", "key", "{}"),
    ("key_clarity", "clarity", "{:.2f}"),
    ("in_scale", "in scale", "{:.0%}"),
    ("pc_distance", "pc dist", "{:.2f}"),
    ("notes_per_beat", "notes/beat", "{:.2f}"),
    ("polyphony", "polyphony", "{:.2f}"),
    ("pitch_range", "range", "{:.0f}"),
    ("repeated_phrases", "repeats", "{:.0%}"),
)


@dataclass
class Metrics:
    """The figures of one text, or the mean over several (``pieces`` > 1)."""

    notes: int = 0
    key: str = ""  # music21's name of the best key, 'C major'
    key_clarity: Optional[float] = None  # correlation of that key's profile with the pitch classes
    in_scale: Optional[float] = None  # share of notes in that key's scale (minor: with raised 6th and 7th)
    pc_distance: Optional[float] = None  # total variation distance of the pitch-class histogram to the reference's
    notes_per_beat: Optional[float] = None  # notes per quarter note
    polyphony: Optional[float] = None  # mean number of notes sounding while any sounds
    pitch_range: Optional[float] = None  # semitones from the lowest to the highest note
    repeated_phrases: Optional[float] = None  # share of phrases that already occurred earlier in the text
    pieces: int = 1
    pitch_classes: list[float] = field(default_factory=list)  # duration-weighted, summing to 1

    def as_dict(self) -> dict:
        return asdict(self)

    def cells(self) -> list[str]:
        """The table row: one formatted cell per :data:`COLUMNS` entry ('–' when unknown)."""
        out = []
        for name, _, fmt in COLUMNS:
            value = getattr(self, name)
            out.append("–" if value in (None, "") else fmt.format(value))
        return out


def text_metrics(text: str, reference_pcs: Optional[Sequence[float]] = None) -> Metrics:
    """The metrics of one piece of note text (unparseable items are left out, as playback does)."""
    notes = parse_text(text).notes
    if not notes:
        return Metrics()
    pcs = pitch_class_histogram(notes)
    tonic, mode, clarity = best_key(notes)
    scale = scale_pitch_classes(tonic, mode)
    onsets = sorted({n.onset for n in notes})
    span = float(max(n.onset + n.duration for n in notes) - min(n.onset for n in notes))
    return Metrics(
        notes=len(notes),
        key=f"{tonic} {mode}",
        key_clarity=clarity,
        in_scale=sum(n.pitch % 12 in scale for n in notes) / len(notes),
        pc_distance=histogram_distance(pcs, reference_pcs) if reference_pcs is not None else None,
        notes_per_beat=len(notes) / span if span else None,
        polyphony=_polyphony(notes),
        pitch_range=float(max(n.pitch for n in notes) - min(n.pitch for n in notes)),
        repeated_phrases=_repeated_phrases(notes, onsets),
        pitch_classes=pcs.tolist(),
    )


def pitch_class_histogram(notes: Iterable[NoteEvent]) -> np.ndarray:
    """Duration-weighted pitch classes, normalised to sum to 1 (as the key analysis weighs them)."""
    hist = np.zeros(12)
    for n in notes:
        hist[n.pitch % 12] += float(n.duration) or 1.0
    total = hist.sum()
    return hist / total if total else hist


def histogram_distance(a: Sequence[float], b: Sequence[float]) -> Optional[float]:
    """Total variation distance: 0 for the same distribution, 1 for disjoint ones."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.sum() == 0 or b.sum() == 0:
        return None
    return float(0.5 * np.abs(a / a.sum() - b / b.sum()).sum())


def best_key(notes: Sequence[NoteEvent]) -> tuple[str, str, float]:
    """(tonic, mode, correlation) of music21's Krumhansl-Schmuckler key for these notes.

    The analysis reads only each pitch class's total duration, so it is given one note per pitch
    class carrying that total: the same key as a note per note, without building thousands of
    music21 objects for a long piece (a pop song's validation metrics took most of a new model's set-up).
    """
    from music21 import analysis, note, stream

    weights = [0.0] * 12
    for n in notes:
        weights[n.pitch % 12] += float(n.duration) or 0.25
    part = stream.Stream()
    for pitch_class, weight in enumerate(weights):
        if weight:
            part.append(note.Note(midi=60 + pitch_class, quarterLength=weight))
    found = analysis.discrete.KrumhanslSchmuckler().getSolution(part)
    return found.tonic.name, found.mode, float(found.correlationCoefficient)


@lru_cache(maxsize=None)
def scale_pitch_classes(tonic: str, mode: str) -> frozenset[int]:
    """The key's scale; a minor key also allows its raised 6th and 7th (harmonic and melodic minor)."""
    from music21 import key

    found = key.Key(tonic, mode)
    pcs = {p.pitchClass for p in found.getScale().getPitches()}
    if mode == "minor":
        pcs |= {(found.tonic.pitchClass + 9) % 12, (found.tonic.pitchClass + 11) % 12}
    return frozenset(pcs)


def covered_time(notes: Sequence[NoteEvent]) -> float:
    """Quarter notes in which at least one of ``notes`` sounds."""
    covered, end = 0.0, None
    for start, stop in sorted((float(n.onset), float(n.onset + n.duration)) for n in notes if n.duration > 0):
        if end is None or start > end:
            covered, end = covered + stop - start, stop
        elif stop > end:
            covered, end = covered + stop - end, stop
    return covered


def _polyphony(notes: Sequence[NoteEvent]) -> Optional[float]:
    """Sounding time of all notes over the time in which at least one sounds."""
    covered = covered_time(notes)
    return sum(float(n.duration) for n in notes if n.duration > 0) / covered if covered else None


def _repeated_phrases(notes: Sequence[NoteEvent], onsets: list) -> Optional[float]:
    """Share of :data:`PHRASE_ONSETS`-onset phrases (pitches and steps) seen before in the same text."""
    chords: dict = {}
    for n in notes:
        chords.setdefault(n.onset, set()).add(n.pitch)
    last = max(n.onset + n.duration for n in notes) - onsets[-1]
    steps = [b - a for a, b in zip(onsets, onsets[1:])] + [last]
    events = [(tuple(sorted(chords[t])), step) for t, step in zip(onsets, steps)]
    phrases = [tuple(events[i : i + PHRASE_ONSETS]) for i in range(len(events) - PHRASE_ONSETS + 1)]
    if not phrases:
        return None
    seen: set = set()
    repeats = 0
    for phrase in phrases:
        repeats += phrase in seen
        seen.add(phrase)
    return repeats / len(phrases)


def mean_metrics(texts: Iterable[str], reference_pcs: Optional[Sequence[float]] = None) -> Metrics:
    """Each text's metrics averaged (texts without notes left out); pitch classes pooled, weighted by notes."""
    each = [m for m in (text_metrics(t, reference_pcs) for t in texts) if m.notes]
    if not each:
        return Metrics(pieces=0)
    out = Metrics(notes=sum(m.notes for m in each), pieces=len(each))
    for name in (
        "key_clarity",
        "in_scale",
        "pc_distance",
        "notes_per_beat",
        "polyphony",
        "pitch_range",
        "repeated_phrases",
    ):
        values = [getattr(m, name) for m in each if getattr(m, name) is not None]
        setattr(out, name, float(np.mean(values)) if values else None)
    pooled = sum(np.asarray(m.pitch_classes) * m.notes for m in each)
    out.pitch_classes = (pooled / pooled.sum()).tolist()
    keys = [m.key for m in each]
    out.key = max(set(keys), key=keys.count) if len(each) == 1 else f"{len(set(keys))} keys"
    return out
