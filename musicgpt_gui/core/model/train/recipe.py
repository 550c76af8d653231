"""Training recipes: the measured defaults for a new music model and for finetuning GPT-2.

A model trained from scratch wants a higher peak learning rate than gpt-2-simple's 1e-4, a
short warmup, a cosine decay to a tenth of the peak (over the steps or the time budget) and
many short windows per step.  Transposed copies of the training split lost at these budgets
(under one epoch), so they are off by default.  GPT-2's pretrained weights keep gpt-2-simple's
gentle rate (not measured here: no GPT-2 weights offline).  The figures behind the choice are
in bench/results/recipe.txt; at the tokens 10 idle minutes give (16 epochs), the small shape at
1e-3 beat narrower, deeper and faster shapes, peak 2e-3 and transposed copies, with the pruned
vocabulary (bench/results/shapes.txt).  GUI and CLI both start from these.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Optional

from musicgpt_gui.core.jobs import JobError
from musicgpt_gui.core.model.store.checkpoints import DEFAULT_WINDOW
from musicgpt_gui.core.model.store.vocab import GPT2_VOCAB
from musicgpt_gui.core.music.transpose import transpose_text, transposition_shifts

SCHEDULES = ("cosine", "constant")
FINAL_LR_SHARE = 0.1  # the cosine ends at this share of the peak


@dataclass(frozen=True)
class Recipe:
    learning_rate: float
    warmup_steps: int
    schedule: str
    batch_size: int
    window: int
    transpose: int  # train on copies shifted by -N..+N semitones (validation untouched)


NEW_MODEL = Recipe(
    learning_rate=1e-3, warmup_steps=50, schedule="cosine", batch_size=8, window=DEFAULT_WINDOW, transpose=0
)
FINETUNE = Recipe(learning_rate=1e-4, warmup_steps=20, schedule="cosine", batch_size=2, window=512, transpose=0)
GPT2_SIMPLE = Recipe(learning_rate=1e-4, warmup_steps=0, schedule="constant", batch_size=1, window=1024, transpose=0)



def for_model(new_model: bool) -> Recipe:
    return NEW_MODEL if new_model else FINETUNE


def for_hparams(hparams: dict[str, int]) -> Recipe:
    """FINETUNE for pretrained GPT-2 (its vocabulary), NEW_MODEL for a music model made from a dataset."""
    return for_model(hparams["n_vocab"] < GPT2_VOCAB)


def overfit_hint(best_step: Optional[int], last_step: int, transpose: int) -> Optional[str]:
    """A note for a run whose validation was best in its first quarter: it learned the training pieces by heart
    (few or very repetitive pieces).  Transposed copies are off by default because they lost where the curve was
    still falling (bench/results/shapes.txt); where it turned early, on 29 held-out multitrack songs, they won
    (bench/results/heldout.txt), so the run says so rather than leaving the user with an early checkpoint."""
    if best_step is None or last_step < 400 or best_step > last_step // 4:
        return None
    advice = "more pieces help" if transpose else \
        "more pieces, or transposed copies (train --transpose 5, or import with Transpose ±5), help"
    return (f"validation was best at step {best_step} of {last_step}: the model learned the training pieces by heart "
            f"after that; {advice}")


def learning_rate(peak: float, schedule: str, warmup_steps: int, step: int, progress: float) -> float:
    """The rate for the next step: linear warmup over ``warmup_steps``, then the schedule by ``progress`` (0..1)."""
    warm = min(1.0, (step + 1) / warmup_steps) if warmup_steps > 0 else 1.0
    if schedule == "constant":
        return peak * warm
    if schedule != "cosine":
        raise JobError(f"Unknown learning-rate schedule '{schedule}'; choose one of: {', '.join(SCHEDULES)}.")
    progress = min(max(progress, 0.0), 1.0)
    return peak * warm * (FINAL_LR_SHARE + (1 - FINAL_LR_SHARE) * 0.5 * (1 + math.cos(math.pi * progress)))


def transposed_copies(texts: list[str], semitones: int) -> list[str]:
    """Every text shifted by -N..+N semitones (0 excluded), copies leaving the MIDI range dropped."""
    out = []
    for shift in transposition_shifts(semitones):
        out += [t for t in (transpose_text(text, shift) for text in texts) if t is not None]
    return out


class SessionClock:
    """Progress and ETA by steps, or by wall time when the run has a budget in minutes."""

    def __init__(self, began: float, minutes: Optional[float], start: int, total: int):
        self.began, self.start, self.total = began, start, total
        self.budget = minutes * 60 if minutes else None

    def elapsed(self) -> float:
        return time.monotonic() - self.began

    def time_up(self) -> bool:
        return self.budget is not None and self.elapsed() >= self.budget

    def progress(self, step: int) -> float:
        """0..1 through the session (what the learning-rate schedule follows)."""
        if self.budget is not None:
            return min(1.0, self.elapsed() / self.budget)
        return (step - self.start) / max(1, self.total - self.start)

    fraction = progress

    def eta(self, step: int, train_time: float) -> Optional[float]:
        if self.budget is not None:
            return max(0.0, self.budget - self.elapsed())
        done = step - self.start
        return (self.total - step) * train_time / done if done else None

    def total_estimate(self, step: int, train_time: float) -> int:
        """The last step: fixed, or what the remaining time allows at the pace so far."""
        if self.budget is None:
            return self.total
        done, elapsed = step - self.start, self.elapsed()
        if not done or not elapsed:
            return step + 1
        return step + int(max(0.0, self.budget - elapsed) * done / elapsed)
