"""The built-in synthesizer: General MIDI from a SoundFont through tinysoundfont, offline or live.

tinysoundfont (MIT wheels, no system libraries) was chosen over FluidSynth, which needs
libfluidsynth installed and bundled; ``bench/bench_synth.py`` compares their render speed.
:class:`SoundFontSynth` looks like a MIDI output port (``send``), so the one :class:`Player`
drives it with its own timing, and an audio sink pulls samples from it (``pull``).  Offline
rendering places every message on its exact sample.
"""

from __future__ import annotations

import threading
import wave
from pathlib import Path
from typing import Optional

import mido
import numpy as np

from musicgpt_gui.core.music.general_midi import DRUM_CHANNEL
from musicgpt_gui.core.atomic_file import atomic_file
from musicgpt_gui.core.jobs import CancelToken, JobError, Progress, ProgressFn, no_progress
from musicgpt_gui.core.midi.midi_io import render_midi
from musicgpt_gui.core.midi.soundfont import SoundFontMissing, find_soundfont
from musicgpt_gui.core.music.notation import DEFAULT_NOTE_LENGTH, Parsed

DEFAULT_SAMPLE_RATE = 44100
CHANNELS = 2  # tinysoundfont renders interleaved stereo float32
GAIN_DB = 0.0  # TimGM6mb peaks near -20 dBFS for one note at this gain: room for dense chords
TAIL_SECONDS = 2.0  # room for releases after the last message; trailing silence is trimmed
SILENCE = 1e-4
RENDER_BLOCK = 8192  # frames per block between progress reports while rendering offline
ALL_SOUND_OFF = 120


def _tinysoundfont():
    try:
        import tinysoundfont
    except ImportError as exc:
        raise JobError(
            f"The built-in synth needs the tinysoundfont package ({exc}); pip install tinysoundfont."
        ) from None
    return tinysoundfont


def load_synth(soundfont: Optional[str | Path] = None, *, on_progress: ProgressFn = no_progress,
               cancel: Optional[CancelToken] = None) -> "SoundFontSynth":
    """A synth with ``soundfont`` loaded: a job, because a full General MIDI font takes most of a second."""
    on_progress(Progress(0.0, f"loading SoundFont {Path(soundfont).name if soundfont else ''}".strip()))
    synth = SoundFontSynth(soundfont)
    (cancel or CancelToken()).check()
    on_progress(Progress(1.0, f"loaded {synth.soundfont.name}"))
    return synth


class SoundFontSynth:
    """A SoundFont synth with a port's ``send(msg)``; thread-safe, so a player and a sink may share it."""

    def __init__(self, soundfont: Optional[str | Path] = None, sample_rate: int = DEFAULT_SAMPLE_RATE) -> None:
        if not 8000 <= int(sample_rate) <= 192000:
            raise JobError(f"Sample rate {sample_rate} Hz is outside 8000-192000 Hz.")
        tsf = _tinysoundfont()
        self.soundfont = find_soundfont(soundfont)
        self.sample_rate = int(sample_rate)
        self.volume = 1.0
        self.name = f"Built-in synth ({self.soundfont.name})"
        self._lock = threading.Lock()
        self._synth = tsf.Synth(gain=GAIN_DB, samplerate=self.sample_rate)
        try:
            self._sfid = self._synth.sfload(str(self.soundfont))
        except Exception as exc:  # tinysoundfont raises a bare Exception/RuntimeError for unreadable files
            raise SoundFontMissing(f"Cannot load SoundFont {self.soundfont}: {exc}") from None
        self.reset()

    def reset(self) -> None:
        """Every channel on piano (channel 10 on the standard drum kit), nothing sounding."""
        with self._lock:
            self._synth.sounds_off()
            for channel in range(16):
                self._program(channel, 0)

    def send(self, msg: mido.Message) -> None:
        """Apply one MIDI channel message (others are ignored, as a hardware synth would)."""
        with self._lock:
            kind = msg.type
            if kind == "note_on" and msg.velocity > 0:
                self._synth.noteon(msg.channel, msg.note, msg.velocity)
            elif kind in ("note_on", "note_off"):
                self._synth.noteoff(msg.channel, msg.note)
            elif kind == "program_change":
                self._program(msg.channel, msg.program)
            elif kind == "control_change":
                self._synth.control_change(msg.channel, msg.control, msg.value)
            elif kind == "pitchwheel":
                self._synth.pitchbend(msg.channel, msg.pitch + 8192)

    def silence(self) -> None:
        """Cut every voice at once (all sound off)."""
        for channel in range(16):
            self.send(mido.Message("control_change", channel=channel, control=ALL_SOUND_OFF, value=0))

    def pull(self, frames: int) -> np.ndarray:
        """The next ``frames`` stereo frames as float32 of shape (frames, 2), scaled by ``volume``."""
        out = np.zeros((frames, CHANNELS), dtype=np.float32)
        if frames:
            with self._lock:
                self._synth.generate_simple(frames, buffer=memoryview(out).cast("B"))
            if self.volume != 1.0:
                out *= self.volume
        return out

    def close(self) -> None:
        """Ports get closed; a synth has nothing to release but its voices."""
        self.silence()

    def _program(self, channel: int, program: int) -> None:
        try:
            self._synth.program_change(channel, program, is_drums=channel == DRUM_CHANNEL)
        except Exception:  # a SoundFont without this preset keeps the channel's previous one
            if channel == DRUM_CHANNEL:
                return
            try:
                self._synth.program_change(channel, 0)
            except Exception:
                pass


def to_midi(source: str | Parsed | mido.MidiFile, note_length: float = DEFAULT_NOTE_LENGTH) -> mido.MidiFile:
    return source if isinstance(source, mido.MidiFile) else render_midi(source, note_length=note_length)


def timeline(midi: mido.MidiFile) -> tuple[list[tuple[float, mido.Message]], float]:
    """Channel messages at absolute seconds (mido applies the tempo map), and the piece's length."""
    now, events = 0.0, []
    for msg in midi:
        now += msg.time
        if not msg.is_meta:
            events.append((now, msg))
    return events, now


def render_pcm(
    source: str | Parsed | mido.MidiFile,
    *,
    soundfont: Optional[str | Path] = None,
    sample_rate: int = DEFAULT_SAMPLE_RATE,
    note_length: float = DEFAULT_NOTE_LENGTH,
    synth: Optional[SoundFontSynth] = None,
    on_progress: ProgressFn = no_progress,
    cancel: Optional[CancelToken] = None,
) -> np.ndarray:
    """Render to float32 stereo of shape (frames, 2): each message lands on its own sample."""
    midi = to_midi(source, note_length)
    synth = synth or SoundFontSynth(soundfont, sample_rate)
    rate = synth.sample_rate
    events, length = timeline(midi)
    total = int(round((length + TAIL_SECONDS) * rate))
    out = np.zeros((total, CHANNELS), dtype=np.float32)
    position = 0

    def fill_to(frame: int) -> None:
        nonlocal position
        while position < frame:
            if cancel is not None:
                cancel.check()
            step = min(RENDER_BLOCK, frame - position)
            out[position : position + step] = synth.pull(step)
            position += step
            on_progress(Progress(position / total, f"{position / rate:.1f} / {total / rate:.1f} s"))

    for seconds, msg in events:
        fill_to(int(round(seconds * rate)))
        synth.send(msg)
    fill_to(total)
    return trim_silence(out, keep=int(round(length * rate)))


def trim_silence(pcm: np.ndarray, keep: int = 0) -> np.ndarray:
    """Drop the silent end of the tail, never the first ``keep`` frames."""
    loud = np.flatnonzero(np.abs(pcm).max(axis=1) > SILENCE)
    end = max(keep, int(loud[-1]) + 1 if loud.size else 0)
    return pcm[:end]


def to_int16(pcm: np.ndarray) -> np.ndarray:
    return (np.clip(pcm, -1.0, 1.0) * 32767).astype("<i2")


def write_wav(path: str | Path, pcm: np.ndarray, sample_rate: int) -> Path:
    """16-bit stereo WAV (stdlib ``wave``), written atomically."""
    path = Path(path)
    with atomic_file(path, "wb") as fh:
        with wave.open(fh, "wb") as wav:
            wav.setnchannels(pcm.shape[1])
            wav.setsampwidth(2)
            wav.setframerate(int(sample_rate))
            wav.writeframes(to_int16(pcm).tobytes())
    return path


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """A 16-bit WAV as float32 (frames, channels) and its sample rate (tests and the self-test)."""
    with wave.open(str(path), "rb") as wav:
        data = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
        return data.reshape(-1, wav.getnchannels()).astype(np.float32) / 32767, wav.getframerate()


def render_audio(
    source: str | Parsed | mido.MidiFile,
    out: str | Path,
    *,
    soundfont: Optional[str | Path] = None,
    sample_rate: int = DEFAULT_SAMPLE_RATE,
    note_length: float = DEFAULT_NOTE_LENGTH,
    on_progress: ProgressFn = no_progress,
    cancel: Optional[CancelToken] = None,
) -> Path:
    """The render job (CLI ``musicgpt render``, GUI "Export audio..."): ``source`` -> a WAV file."""
    out = Path(out)
    if out.suffix.lower() != ".wav":
        raise JobError(f"{out.name}: the audio export writes .wav files.")
    pcm = render_pcm(
        source,
        soundfont=soundfont,
        sample_rate=sample_rate,
        note_length=note_length,
        on_progress=on_progress,
        cancel=cancel,
    )
    return write_wav(out, pcm, sample_rate)
