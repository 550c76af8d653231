"""General MIDI programs from the instrument names in note text (``Piano``, ``Violin``, ...).

The text names instruments as music21 does; each name that has a General MIDI program becomes
a ``program=N`` control right after it, so the notes that follow sound on that instrument.  An
explicit ``program=`` later in the text still wins; with no name at all the notes stay on piano.
"""

from __future__ import annotations

from functools import lru_cache

from musicgpt_gui.core.music.notation import format_control, split_items


@lru_cache(maxsize=1)
def instrument_programs() -> dict[str, int]:
    """music21's instrument names -> their General MIDI program (pitched instruments only)."""
    from music21 import instrument

    programs: dict[str, int] = {}
    for obj in vars(instrument).values():
        if not (isinstance(obj, type) and issubclass(obj, instrument.Instrument)):
            continue
        if issubclass(obj, instrument.UnpitchedPercussion):
            continue
        try:
            made = obj()
        except Exception:  # a few abstract classes cannot be built
            continue
        if made.instrumentName and made.midiProgram is not None:
            programs.setdefault(made.instrumentName, int(made.midiProgram))
    return programs


def with_instrument_programs(text: str) -> str:
    """``text`` with a ``program=N`` control after each instrument name that has a program."""
    items = split_items(text)
    if not any(_may_name_instrument(item) and item in instrument_programs() for item in items):
        return text
    out: list[str] = []
    for item in items:
        out.append(item)
        program = instrument_programs().get(item)
        if program is not None:
            out.append(format_control("program", program))
    return ", ".join(out)


def _may_name_instrument(item: str) -> bool:
    """Cheap test first, so texts without names never import music21: names are capitalised, digit-free."""
    return item[:1].isupper() and not any(ch.isdigit() or ch in "=#" for ch in item)
