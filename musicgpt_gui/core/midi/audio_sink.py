"""A paced null audio device: pulls blocks from a synth at the sample clock's pace, as a sound card would.

Its thread asks for real-time scheduling (best effort, like the Player's), as a sound server's does.

Used where no sound card exists (benchmarks, tests): it counts underruns (a block not ready by
the time the device would have played it) and notes when the first sound came out.
"""

from __future__ import annotations

import threading
import time
from typing import Callable, Optional

import numpy as np

from musicgpt_gui.core.midi.playback import try_realtime
from musicgpt_gui.core.midi.synth import SILENCE

DEFAULT_BLOCK = 512  # frames: 11.6 ms at 44.1 kHz, a usual device period
DEFAULT_BUFFERED_BLOCKS = 4  # blocks queued ahead, as a device buffer holds


class NullSink:
    """Pulls ``synth.pull(block)`` on a thread; ``underruns`` counts blocks that came too late."""

    def __init__(
        self,
        synth,
        block: int = DEFAULT_BLOCK,
        buffered_blocks: int = DEFAULT_BUFFERED_BLOCKS,
        on_block: Optional[Callable[[np.ndarray], None]] = None,
    ) -> None:
        self.synth = synth
        self.block = block
        self.period = block / synth.sample_rate
        self.latency = buffered_blocks * self.period
        self.underruns = 0
        self.blocks = 0
        self.first_sound: Optional[float] = None  # monotonic time the first audible sample reaches the "speaker"
        self._on_block = on_block or (lambda _pcm: None)
        self._halt = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def start(self) -> None:
        self._halt.clear()
        self._thread = threading.Thread(target=self._run, name="null-audio", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._halt.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        try_realtime()  # as a sound server's device thread runs
        deadline = time.monotonic() + self.latency  # the device starts playing once its buffer is full
        while not self._halt.is_set():
            pcm = self.synth.pull(self.block)
            now = time.monotonic()
            if now > deadline:
                self.underruns += 1
                deadline = now  # the device restarts from the late block
            loud = np.flatnonzero(np.abs(pcm).max(axis=1) > SILENCE)
            if self.first_sound is None and loud.size:
                self.first_sound = deadline + loud[0] / self.synth.sample_rate
            self._on_block(pcm)
            self.blocks += 1
            deadline += self.period
            self._halt.wait(max(0.0, deadline - self.latency - time.monotonic()))
