"""What each token of a vocabulary is in the note grammar, as arrays a mask is built from at once.

Steering masks the next token's logits by kind (a pitch, a step, a hold, a control, a rest, the
end of a piece), so it needs, once per vocabulary, which ids are which and their values.  Only a
vocabulary with note tokens (the atomic kind, or GPT-2 after ``models extend``) can be steered:
there a note, a length or a control is one token, so a mask can never leave half an item.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

import numpy as np

from musicgpt_gui.core.jobs import JobError
from musicgpt_gui.core.model.store.vocab import MusicEncoder
from musicgpt_gui.core.music.notation import control_in_range, format_duration, name_to_midi, parse_duration

# Kinds of token (ids of other kinds -- BPE pieces, FIM sentinels -- are never allowed while steering).
OTHER, PITCH, REST, STEP, HOLD, CONTROL, COMMA, END, MARKER = range(9)
_STEP_RE = re.compile(r"^:(\d+(?:\.\d+)?(?:/\d+)?)(,?)$")
_HOLD_RE = re.compile(r"^~(\d+(?:\.\d+)?(?:/\d+)?)$")
_CONTROL_RE = re.compile(r"^ ?(tempo|velocity|program)=(\d+)$")
_MARKER_RE = re.compile(r"^ ?@(\d+)$")  # a part marker (music/parts.py): the next pitches are that part's


@dataclass(frozen=True)
class TokenTable:
    """Per token id: its kind, its MIDI pitch (-1 if none; a marker: its 1-based part), the index of its
    length in ``lengths``, whether it has a leading space, and whether a step token also ends the item
    (``:1.0,``)."""

    kind: np.ndarray
    pitch: np.ndarray
    lengths: tuple[Fraction, ...]  # exact lengths, indexed by ``length_index``
    length_index: np.ndarray  # -1 where the token has no length
    spaced: np.ndarray
    closes: np.ndarray
    end: int
    program: np.ndarray  # program= controls (a piece with declared parts has its programs there)

    @property
    def size(self) -> int:
        return int(self.kind.size)



def token_table(encoder: MusicEncoder) -> TokenTable:
    """The table for ``encoder``'s vocabulary (cached per encoder object)."""
    return _table(encoder)


@lru_cache(maxsize=8)
def _table(encoder: MusicEncoder) -> TokenTable:
    if encoder.kind != "atomic":
        raise JobError(
            "Steering needs a vocabulary with note tokens; this model's is plain BPE. "
            "Make one with `musicgpt models extend` (GPT-2) or a new model with --vocab atomic."
        )
    n = encoder.n_vocab
    kind = np.full(n, OTHER, np.int8)
    pitch = np.full(n, -1, np.int16)
    spaced = np.zeros(n, bool)
    closes = np.zeros(n, bool)
    program = np.zeros(n, bool)
    length_index = np.full(n, -1, np.int32)
    lengths: dict[Fraction, int] = {}
    for i, text in enumerate(encoder.token_strings(range(n))):
        spaced[i] = text.startswith(" ")
        word = text.strip()
        step, hold = _STEP_RE.match(text), _HOLD_RE.match(text)
        if i == encoder.eot:
            kind[i] = END
        elif text == ",":
            kind[i] = COMMA
        elif step or hold:
            written = (step or hold).group(1)
            value = parse_duration(written)
            if value is None or format_duration(value) != written:  # only lengths as the text writes them
                continue
            kind[i] = STEP if step else HOLD
            closes[i] = bool(step and step.group(2))
            length_index[i] = lengths.setdefault(value, len(lengths))
        elif word == "rest" and text in ("rest", " rest"):
            kind[i] = REST
        elif (found := _CONTROL_RE.match(text)) and control_in_range(found.group(1), int(found.group(2))):
            kind[i], program[i] = CONTROL, found.group(1) == "program"
        elif found := _MARKER_RE.match(text):
            kind[i], pitch[i] = MARKER, int(found.group(1))
        elif text in (word, " " + word) and (midi := name_to_midi(word)) is not None:
            kind[i], pitch[i] = PITCH, midi
    values = tuple(sorted(lengths, key=lengths.get))
    return TokenTable(kind, pitch, values, length_index, spaced, closes, encoder.eot, program)
