"""A tqdm bar on stderr that speaks the job contract's ``on_progress``."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from tqdm import tqdm

from musicgpt_gui.core.jobs import Progress, ProgressFn


@contextmanager
def progress_bar(description: str) -> Iterator[ProgressFn]:
    """Yield an ``on_progress`` that drives a 0..100% tqdm bar."""
    with tqdm(total=1000, desc=description, unit="‰", leave=True, bar_format="{desc}: {percentage:3.0f}%|{bar}| {postfix}") as bar:

        def report(p: Progress) -> None:
            bar.n = int(round(p.fraction * 1000))
            if p.message:
                bar.set_postfix_str(p.message, refresh=False)
            bar.refresh()

        yield report
