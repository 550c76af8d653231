"""Steering for one generation: the key resolved, the training runs indexed, a masker per variation."""
from __future__ import annotations

import weakref
from typing import Any, Optional, Sequence

from musicgpt_gui.core.jobs import JobError
from musicgpt_gui.core.model.steer.constraints import KEEP_PREFIX_KEY, Steering, parse_key
from musicgpt_gui.core.model.steer.keep_rhythm import RhythmMasker, TemplateItem
from musicgpt_gui.core.model.steer.masker import Masker, RepeatIndex
from musicgpt_gui.core.model.steer.token_table import token_table
from musicgpt_gui.core.model.store.vocab import MusicEncoder
from musicgpt_gui.core.music.notation import parse_text
from musicgpt_gui.core.quality.metrics import best_key, scale_pitch_classes

_TRAINING: "weakref.WeakKeyDictionary[Any, dict[int, RepeatIndex]]" = weakref.WeakKeyDictionary()


def scale_for(steering: Steering, prefix: str) -> Optional[frozenset[int]]:
    """The pitch classes the key allows, or None without a key."""
    if steering.key is None:
        return None
    if steering.key == KEEP_PREFIX_KEY:
        notes = parse_text(prefix).notes
        if not notes:
            raise JobError("'Keep the prefix's key' needs a prefix with notes; choose a key instead.")
        tonic, mode, _ = best_key(notes)
        return scale_pitch_classes(tonic, mode)
    return scale_pitch_classes(*parse_key(steering.key))


def training_runs(memorization: Any, n: int) -> Optional[RepeatIndex]:
    """The training split's runs of ``n`` items, from the memorization index (built once per index)."""
    if memorization is None:
        return None
    per_n = _TRAINING.setdefault(memorization, {})
    if n not in per_n:
        per_n[n] = RepeatIndex(n).add_pieces(memorization.pieces)
    return per_n[n]


def maskers(
    encoder: MusicEncoder, steering: Steering, prefix: str, count: int, memorization: Any = None, end_ids=(),
    rhythm: Optional[Sequence[TemplateItem]] = None,
) -> Optional[list[Masker]]:
    """One masker per variation, or None when nothing is steered (the model samples freely).
    ``prefix`` is the text before what is sampled; ``end_ids`` what else may end a take (infill);
    ``rhythm`` the selection's items to write again with new pitches (keep rhythm, infill only)."""
    if not steering.active:
        return None
    steering.validate()
    if steering.keep_rhythm and rhythm is None:
        raise JobError("Keep rhythm re-pitches a selection: use it to regenerate one "
                       "(musicgpt infill --keep-rhythm, or Regenerate selection), not to continue a piece.")
    table = token_table(encoder)
    scale = scale_for(steering, prefix)
    if steering.keep_rhythm:
        steering = steering.without_rhythm()
        return [RhythmMasker(table, steering, prefix, scale, None, end_ids, items=rhythm) for _ in range(count)]
    training = training_runs(memorization, steering.no_repeat) if steering.no_repeat else None
    return [Masker(table, steering, prefix, scale, training, end_ids) for _ in range(count)]
