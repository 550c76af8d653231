"""The two time grids: music21's for the seed format, a uniform one for the timed format.

The seed format and the flatten() replay must land exactly where ``Stream.quantize`` puts things
(the union of the 1/4 and 1/3 grids, chosen per value by ``bestMatch``), so those helpers reproduce
it rather than approximate it.  The timed format snaps absolute onsets and offsets to a uniform
1/``grid`` quarter grid, so steps derived from snapped onsets never accumulate an error.
"""
from __future__ import annotations

from fractions import Fraction
from functools import lru_cache
from typing import Union

import numpy as np

DIVISORS = (4, 3)  # music21.defaults.quantizationQuarterLengthDivisors
SEED_UNIT = 12  # every point of that grid is a whole number of 1/12 quarters

Number = Union[float, Fraction]
IntOrArray = Union[int, np.ndarray]


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


# ---------------------------------------------------------------- the timed format's uniform grid

GRIDS = (12, 24, 48)  # steps per quarter: 1/12 (sixteenths and triplets) by default, finer for performances
DEFAULT_GRID = 12


def grid_steps(ticks: IntOrArray, ticks_per_beat: int, grid: int) -> IntOrArray:
    """The index of the grid point nearest to an absolute tick (half-way rounds up), in exact integers.

    Works on one tick or on a numpy array of them.
    """
    return (2 * ticks * grid + ticks_per_beat) // (2 * ticks_per_beat)


def snap_ticks(ticks: int, ticks_per_beat: int, grid: int) -> Fraction:
    """The grid point nearest to an absolute tick, in quarters."""
    return Fraction(grid_steps(ticks, ticks_per_beat, grid), grid)


def snap_quarters(quarters: Number, grid: int) -> Fraction:
    """The grid point nearest to an absolute time in quarters (half-way rounds up)."""
    scaled = Fraction(quarters) * grid
    return Fraction((2 * scaled.numerator + scaled.denominator) // (2 * scaled.denominator), grid)


def snapped_span(start: Fraction, end: Fraction, grid: int) -> Fraction:
    """A length from snapped absolute times, never below one grid step."""
    return max(end - start, Fraction(1, grid))
