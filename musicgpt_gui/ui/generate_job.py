"""The Generate tab's job: generation for a run on the worker thread, streaming text the GUI drains on a timer."""
from __future__ import annotations

import threading
from typing import Optional

from musicgpt_gui.core.model import workflows
from musicgpt_gui.core.model.sample import generation
from musicgpt_gui.core.model.steer.form import Form
from musicgpt_gui.core.model.store import checkpoints


class TokenBuffer:
    """Collects streamed text on the job thread; the GUI drains it on a timer (no per-token signals)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[tuple[int, str]] = []

    def push(self, event: generation.TokenEvent) -> None:
        if event.text:
            with self._lock:
                self._pending.append((event.variation, event.text))

    def drain(self) -> list[tuple[int, str]]:
        with self._lock:
            out, self._pending = self._pending, []
        return out


def generate_job(
    generator: generation.Generator,
    ref: checkpoints.CheckpointRef,
    prefix: str,
    settings: generation.GenerationSettings,
    buffer: TokenBuffer,
    ensemble: str = workflows.ENSEMBLE_AUTO,
    form: Optional[Form] = None,
    redraws: int = 0,
    *,
    on_progress,
    cancel,
):
    """Generate for the run, streaming into ``buffer`` (see :func:`workflows.generate_for_run`), for the chosen
    ensemble when the prefix declares none (:func:`workflows.ensemble_prefix`), in ``form``'s sections if any,
    with a bar that misses the learned controls drawn again up to ``redraws`` times."""
    prefix = workflows.ensemble_prefix(prefix, ensemble, checkpoints.training_dataset(ref.run_dir))
    return workflows.generate_for_run(
        generator, ref, prefix, settings, form=form, redraws=redraws, on_token=buffer.push, on_progress=on_progress,
        cancel=cancel)
