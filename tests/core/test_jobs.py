from __future__ import annotations

import pytest

from musicgpt_gui.core.jobs import Cancelled, CancelToken, Progress, sub_progress, throttled


def test_sub_progress_maps_onto_range() -> None:
    seen: list[float] = []
    report = sub_progress(lambda p: seen.append(p.fraction), 0.1, 0.5)
    for f in (0.0, 0.5, 1.0, 2.0):
        report(Progress(f))
    assert seen == pytest.approx([0.1, 0.3, 0.5, 0.5])


def test_cancel_token_raises_only_after_cancel() -> None:
    token = CancelToken()
    token.check()
    token.cancel()
    assert token.cancelled
    with pytest.raises(Cancelled):
        token.check()


def test_throttled_drops_bursts_but_keeps_final() -> None:
    seen: list[float] = []
    report = throttled(lambda p: seen.append(p.fraction), min_interval=60)
    for i in range(100):
        report(Progress(i / 100))
    report(Progress(1.0))
    assert seen == [0.0, 1.0]
