"""Names of tempo marks, keys and time signatures, exactly as music21 prints them (cached).

The note text uses music21's strings so the seed format stays identical to the seed's output.
"""
from __future__ import annotations

from functools import lru_cache

from musicgpt_gui.core.music.notation import strip_music21


@lru_cache(maxsize=None)
def tempo_name(bpm: float) -> str:
    """``'tempo.MetronomeMark animato Quarter=120.01'``, as the seed wrote tempo marks."""
    from music21 import tempo

    return strip_music21(str(tempo.MetronomeMark(number=bpm)))


@lru_cache(maxsize=None)
def key_name(tonic: str, mode: str, semitones: int = 0) -> str:
    """``'f# minor'``; transposed by music21 when ``semitones`` is set."""
    from music21 import key

    k = key.Key(tonic, mode)
    return str(k.transpose(semitones) if semitones else k)


@lru_cache(maxsize=None)
def time_name(ratio: str) -> str:
    from music21 import meter

    return strip_music21(str(meter.TimeSignature(ratio)))
