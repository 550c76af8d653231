"""The built-in synth on the sound card: a QAudioSink (QtMultimedia, no extra dependency) pulls from it.

The core :class:`~musicgpt_gui.core.midi.synth.SoundFontSynth` gets its messages from the
Player as a MIDI port would; this sink asks it for samples whenever the device needs them.
Without an audio device, opening raises :class:`AudioUnavailable` with one line to show.
"""

from __future__ import annotations

from typing import Optional

import time

from PySide6.QtCore import QCoreApplication, QEventLoop, QIODevice, QLoggingCategory, QObject

# Before QtMultimedia loads: its probing of absent backends (PipeWire, VA-API) is not the user's business.
QLoggingCategory.setFilterRules("qt.multimedia*=false")

from PySide6.QtMultimedia import QAudioFormat, QAudioSink, QMediaDevices, QtAudio  # noqa: E402

from musicgpt_gui.core.jobs import JobError  # noqa: E402
from musicgpt_gui.core.midi.synth import CHANNELS, SoundFontSynth  # noqa: E402

BUFFER_SECONDS = 0.05  # device buffer: short enough that Play sounds at once, long enough for Python
BYTES_PER_FRAME = 4 * CHANNELS
START_TIMEOUT = 3.0  # seconds for a new stream to flow (PulseAudio's null sink: about 1 s here)
FLOWING_BUFFERS = 4


class AudioUnavailable(JobError):
    """No audio device: say so in one line and point at file rendering."""


class _SynthDevice(QIODevice):
    """A read-only, endless QIODevice whose bytes are the synth's float32 stereo output."""

    def __init__(self, synth: SoundFontSynth, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.synth = synth
        self.frames = 0

    def readData(self, maxlen: int) -> bytes:
        frames = maxlen // BYTES_PER_FRAME
        self.frames += frames
        return self.synth.pull(frames).tobytes()

    def writeData(self, _data) -> int:
        return -1

    def bytesAvailable(self) -> int:
        return (1 << 20) + super().bytesAvailable()

    def isSequential(self) -> bool:
        return True


class AudioOutput(QObject):
    """Plays a synth on the default audio output until :meth:`close`."""

    def __init__(self, synth: SoundFontSynth, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        device = QMediaDevices.defaultAudioOutput()
        if device.isNull():
            raise AudioUnavailable(
                "No audio output device here: render to a file instead ('musicgpt render ... --out FILE.wav' "
                "or Export audio...), or choose a MIDI port."
            )
        fmt = QAudioFormat()
        fmt.setSampleRate(synth.sample_rate)
        fmt.setChannelCount(CHANNELS)
        fmt.setSampleFormat(QAudioFormat.SampleFormat.Float)
        if not device.isFormatSupported(fmt):
            raise AudioUnavailable(
                f"The audio device {device.description()} cannot play {synth.sample_rate} Hz float stereo."
            )
        self.synth = synth
        self.description = device.description()
        self._source = _SynthDevice(synth, self)
        self._source.open(QIODevice.OpenModeFlag.ReadOnly)
        self._sink = QAudioSink(device, fmt, self)
        self._sink.setBufferSize(int(BUFFER_SECONDS * synth.sample_rate) * BYTES_PER_FRAME)
        self._sink.start(self._source)
        if self._sink.error() != QtAudio.Error.NoError:  # QtAudio: QAudio's name since Qt 6.7
            error = self._sink.error()
            self.close()
            raise AudioUnavailable(f"The audio device {self.description} did not start ({error.name}).")
        self._wait_until_flowing()

    def _wait_until_flowing(self) -> None:
        """Block until the device pulls steadily: a Player started earlier would bunch its first notes.

        Sound servers take a while to set up a new stream (a first fill, then a pause); flowing means
        a few buffers consumed.  The wait happens once per opened output.
        """
        flowing = FLOWING_BUFFERS * self._sink.bufferSize() // BYTES_PER_FRAME
        deadline = time.monotonic() + START_TIMEOUT
        while self._source.frames < flowing and time.monotonic() < deadline:
            # Repaints only: a second Play (or Space) now would open a second output.
            QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents)
            time.sleep(0.002)
        if self._source.frames < flowing:
            self.close()
            raise AudioUnavailable(
                f"The audio device {self.description} did not start playing within {START_TIMEOUT:g} s."
            )

    @property
    def latency(self) -> float:
        """Seconds between a message reaching the synth and its sound leaving the device."""
        return self._sink.bufferSize() / BYTES_PER_FRAME / self.synth.sample_rate

    def close(self) -> None:
        self._sink.stop()
        self._source.close()
