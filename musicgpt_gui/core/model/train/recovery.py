"""Out-of-memory recovery: a run that runs out of device memory goes on with half the micro-batch.

On TensorFlow's ``ResourceExhaustedError`` the loop saves nothing (the step's state is thrown away
with its graph), halves the micro-batch, doubles gradient accumulation (so each step still sees
the same number of examples), reloads the last save and goes on; after :data:`MAX_RECOVERIES`
recoveries the next failure stops the run with :func:`stop_message`.  A run can be told to fail
on purpose (``MUSICGPT_INJECT_OOM``), which is how the tests reach this path without a GPU: the
error raised is TensorFlow's own, inside the real loop.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from musicgpt_gui.core.model.store import run_store

MAX_RECOVERIES = 2  # halvings per session; the next out-of-memory error stops the run
INJECT_ENV = "MUSICGPT_INJECT_OOM"  # "step=N" or "step=N,above=B": fail step N while the micro-batch exceeds B
INJECT_ROWS_ENV = "MUSICGPT_INJECT_OOM_ROWS"  # "B": generation runs out of memory with more than B variations at once
INJECT_TOKENS_ENV = "MUSICGPT_INJECT_OOM_TOKENS"  # "T": attention runs out of memory over more than T tokens


class OutOfMemory(Exception):
    """The device ran out of memory while training ``step`` (the step being trained, from 1)."""

    def __init__(self, step: int, where: str):
        super().__init__(f"out of memory at step {step} ({where})")
        self.step, self.where = step, where


@dataclass(frozen=True)
class Recovery:
    """One recovery, as history.json records it."""

    step: int  # the step that failed
    resumed_from: int  # the saved step the run went back to (0: the base model)
    batch_size: int  # the new micro-batch
    accumulate: int  # the new accumulation

    def message(self, old_batch: int) -> str:
        back = f"the save at step {self.resumed_from}" if self.resumed_from else "the start"
        return (
            f"out of memory at step {self.step} with micro-batch {old_batch}: went back to {back} and continued "
            f"with micro-batch {self.batch_size} × {self.accumulate} accumulated (the same examples per step)"
        )


def halved(batch_size: int, accumulate: int, devices: int = 1) -> Optional[tuple[int, int]]:
    """(micro-batch, accumulation) with half the micro-batch, or None when it cannot shrink further."""
    smaller = batch_size // 2
    if smaller < 1 or smaller * 2 != batch_size or smaller % devices:
        return None
    return smaller, accumulate * 2


def record(run_dir: Path, saved: int, recoveries: list[dict]) -> None:
    """history.json as of the save the run goes back to, with the recoveries and the new micro-batch."""
    history = run_store.History.load(run_dir).until(saved)
    history.recoveries = recoveries
    history.settings.update(batch_size=recoveries[-1]["batch_size"], accumulate=recoveries[-1]["accumulate"])
    history.save(run_dir)


def stop_message(batch_size: int, window: int) -> str:
    """What the run says when it cannot go on (the message from before recovery existed)."""
    return (
        f"Out of memory with batch size {batch_size} and {window}-token windows. "
        "Use a smaller batch size (with gradient accumulation to keep the effective batch) "
        "or a shorter window; the last saved checkpoint is kept."
    )


def maybe_inject(tf, step: int, batch_size: int) -> None:
    """Raise TensorFlow's ResourceExhaustedError where ``MUSICGPT_INJECT_OOM`` asks (tests and demos)."""
    spec = os.environ.get(INJECT_ENV)
    if not spec:
        return
    fields = dict(part.split("=", 1) for part in spec.split(",") if "=" in part)
    if step == int(fields.get("step", -1)) and batch_size > int(fields.get("above", 0)):
        raise tf.errors.ResourceExhaustedError(
            None, None, f"OOM when allocating tensor (injected by {INJECT_ENV} at step {step}, batch {batch_size})"
        )


def maybe_inject_rows(tf, size: int, env: str = INJECT_ROWS_ENV) -> None:
    """Raise TensorFlow's ResourceExhaustedError where ``env`` asks (generation's rows, attention's tokens)."""
    limit = os.environ.get(env)
    if limit is not None and size > int(limit):
        raise tf.errors.ResourceExhaustedError(None, None, f"OOM when allocating (injected by {env}: {size})")
