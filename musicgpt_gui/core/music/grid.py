"""music21's quantisation grid: the (4, 3) divisors and its ``bestMatch``, with the same float arithmetic.

The seed format and the flatten() replay must land exactly where ``Stream.quantize`` puts things,
so these helpers reproduce it rather than approximate it.
"""
from __future__ import annotations

from fractions import Fraction
from functools import lru_cache
from typing import Union

DIVISORS = (4, 3)  # music21.defaults.quantizationQuarterLengthDivisors

Number = Union[float, Fraction]


@lru_cache(maxsize=65536)
def opfrac(value: Number) -> Number:
    """music21's ``opFrac``: a float when exact in binary, else a small Fraction."""
    from music21.common.numberTools import opFrac

    return opFrac(value)


@lru_cache(maxsize=65536)
def as_fraction(value: Number) -> Fraction:
    return value if isinstance(value, Fraction) else Fraction(value).limit_denominator(10080)


@lru_cache(maxsize=65536)
def best_match(target: Number, zero_allowed: bool = True, gap: Number = 0.0) -> float:
    """``Stream.quantize``'s inner ``bestMatch`` with the same float arithmetic and tie-breaks."""
    from music21.common.numberTools import nearestMultiple

    found = []
    for div in DIVISORS:
        tick = 1 / div
        match, error, signed = nearestMultiple(float(target), tick)
        if not zero_allowed and match == 0.0:
            match = tick
            signed = round(float(target) - match, 7)
            error = abs(signed)
        remaining = 0.0 if gap % tick == 0 else max(gap - match, 0.0)
        found.append((remaining, error, tick, match, signed, div))
    return min(found)[3]


def snap(value: Number, zero_allowed: bool = True) -> Fraction:
    """A time on music21's grid, as an exact Fraction."""
    return as_fraction(best_match(value, zero_allowed))
