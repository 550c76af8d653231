"""The one worker pattern, driven with plain-function jobs (no core, no TensorFlow)."""

from __future__ import annotations

import threading
import time

import pytest

from musicgpt_gui.core.jobs import JobError, Progress
from musicgpt_gui.ui.worker import JobSlot, Worker, cancel_all_and_wait


def counting_job(n: int, *, on_progress, cancel, pause: float = 0.0) -> int:
    for i in range(n):
        cancel.check()
        on_progress(Progress((i + 1) / n, f"{i + 1}/{n}"))
        time.sleep(pause)
    return n * 2


def saving_job(*, on_progress, cancel) -> str:
    """Like training: a cancel makes it save and return normally."""
    while not cancel.cancelled:
        time.sleep(0.01)
    return "saved"


def failing_job(kind: str, *, on_progress, cancel):
    if kind == "job":
        raise JobError("The dataset is empty.")
    raise ValueError("boom")


def record(worker: Worker) -> dict:
    seen: dict = {"progress": [], "finished": [], "failed": [], "cancelled": [], "done": 0, "threads": set()}
    worker.progress.connect(lambda p: (seen["progress"].append(p), seen["threads"].add(threading.get_ident())))
    worker.finished.connect(seen["finished"].append)
    worker.failed.connect(lambda m, d: seen["failed"].append((m, d)))
    worker.cancelled.connect(seen["cancelled"].append)
    worker.done.connect(lambda: seen.__setitem__("done", seen["done"] + 1))
    return seen


def test_finished_carries_the_result_and_progress_arrives_on_the_gui_thread(qtbot) -> None:
    worker = Worker(counting_job, 5)
    seen = record(worker)
    with qtbot.waitSignal(worker.done, timeout=10_000):
        worker.start()
    assert seen["finished"] == [10]
    assert seen["failed"] == [] and seen["cancelled"] == []
    assert seen["done"] == 1
    assert seen["progress"] and seen["progress"][-1].fraction == 1.0
    assert seen["threads"] == {threading.get_ident()}


def test_progress_is_throttled(qtbot) -> None:
    worker = Worker(counting_job, 20_000)
    seen = record(worker)
    with qtbot.waitSignal(worker.done, timeout=20_000):
        worker.start()
    assert seen["finished"] == [40_000]
    assert 1 <= len(seen["progress"]) < 2_000


def test_cancel_raising_cancelled_never_emits_finished(qtbot) -> None:
    worker = Worker(counting_job, 10_000, pause=0.001)
    seen = record(worker)
    worker.progress.connect(lambda p: worker.cancel())
    with qtbot.waitSignal(worker.done, timeout=10_000):
        worker.start()
    assert seen["cancelled"] == [""]  # the Cancelled message (a bare cancel has none)
    assert seen["finished"] == []


def test_cancel_of_a_job_that_returns_reports_cancelled_with_its_result(qtbot) -> None:
    worker = Worker(saving_job)
    seen = record(worker)
    with qtbot.waitSignal(worker.done, timeout=10_000):
        worker.start()
        worker.cancel()
    assert seen["cancelled"] == ["saved"]
    assert seen["finished"] == []


@pytest.mark.parametrize(
    ("kind", "message", "has_details"), [("job", "The dataset is empty.", False), ("bug", "boom", True)]
)
def test_failures_become_a_message_with_details_on_demand(qtbot, kind, message, has_details) -> None:
    worker = Worker(failing_job, kind)
    seen = record(worker)
    with qtbot.waitSignal(worker.done, timeout=10_000):
        worker.start()
    ((got_message, details),) = seen["failed"]
    assert got_message == message
    assert ("Traceback" in details) is has_details


def test_a_slot_runs_one_job_at_a_time_and_frees_itself(qtbot) -> None:
    slot = JobSlot()
    worker = slot.run(saving_job)
    assert slot.busy
    with pytest.raises(RuntimeError):
        slot.run(saving_job)
    with qtbot.waitSignal(worker.done, timeout=10_000):
        slot.cancel()
    assert not slot.busy
    with qtbot.waitSignal(slot.run(counting_job, 3).finished, timeout=10_000) as blocker:
        pass
    assert blocker.args == [6]


def test_cancel_all_and_wait_stops_every_running_job(qtbot) -> None:
    workers = [Worker(saving_job), Worker(counting_job, 10**9)]
    for worker in workers:
        worker.start()
    assert cancel_all_and_wait(5.0) == []
    assert not any(w.is_running() for w in workers)
