"""The self-test runner and its checks, Qt-free: one line per step, any failure fails the run.

``steps`` builds the steps; this module runs them and checks what they left behind (dataset files,
MIDI files, the music21 corpus), so the same checks prove a source checkout and a frozen bundle work.
"""
from __future__ import annotations

import importlib.util
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, TextIO

import mido

from musicgpt_gui.core.dataset import dataset_files
from musicgpt_gui.core.dataset.metadata import load_metadata
from musicgpt_gui.core.music.notation import parse_text


SELFTEST_MIDI = Path(__file__).parent / "data" / "selftest-band.mid"  # flute, bass and drums; a tempo change
SELFTEST_MIDI_NOTES = 40  # the flute's 32 and the bass's 8 (drums are left out by default)
FALLBACK_TEXT = "tempo=120, C4:1.0, E4:1.0, G4:1.0, C4 E4 G4:2.0"  # exported when no corpus piece was imported


class StepFailed(Exception):
    """A step did not do its job; the message says what was wrong."""


@dataclass(frozen=True)
class Step:
    """One self-test step: ``run()`` returns a short detail for the report or raises."""

    name: str
    run: Callable[[], str]


@dataclass(frozen=True)
class StepResult:
    name: str
    ok: bool
    detail: str
    seconds: float


def require_module(name: str) -> None:
    """Fail with 'not available yet' while the part of the app that provides ``name`` is missing."""
    try:
        found = importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        found = False
    if not found:
        raise StepFailed(f"not available yet ({name} is missing)")


def run_steps(steps: list[Step], out: TextIO, *, debug: bool = False) -> list[StepResult]:
    """Run every step (a failure does not stop the others) and print one line each to ``out``."""
    results = []
    for step in steps:
        began = time.monotonic()
        try:
            ok, detail = True, step.run()
        except Exception as exc:  # each step's failure is reported, then the next step runs
            ok, detail = False, str(exc) or type(exc).__name__
            if debug:
                traceback.print_exc(file=out)
        result = StepResult(step.name, ok, detail, time.monotonic() - began)
        results.append(result)
        print(f"{'ok  ' if ok else 'FAIL'} {result.name:<16} {result.seconds:6.1f}s  {detail}", file=out, flush=True)
    return results


def check_corpus_lookup() -> str:
    """music21 finds the built-in corpora and parses a Bach chorale (the frozen build's weak spot:
    music21 locates its corpus next to its own source files)."""
    from music21 import corpus

    paths = corpus.getComposer("bach")
    if not paths:
        raise StepFailed("music21 finds no Bach chorales in its corpus")
    notes = len(corpus.parse("bach/bwv66.6").flatten().notes)
    if not notes:
        raise StepFailed("music21 parsed the chorale bach/bwv66.6 without notes")
    folk = [p for p in corpus.getCorePaths() if "essenFolksong" in str(p)]
    if not folk:
        raise StepFailed("music21 finds no Essen folk songs in its corpus")
    return f"{len(paths)} Bach and {len(folk)} Essen folk corpus files; bwv66.6 has {notes} notes and chords"


def check_dataset(folder: Path) -> str:
    """The imported dataset holds at least one piece whose text parses into notes."""
    pieces = dataset_files.load_split(folder)
    if not pieces:
        raise StepFailed(f"the dataset {folder} holds no piece")
    parsed = parse_text(pieces[0])
    if not parsed.notes:
        raise StepFailed(f"the first piece of {folder} has no playable note")
    return f"{len(pieces)} piece(s), first has {len(parsed.notes)} notes"


def check_midi(path: Path) -> str:
    """A MIDI file exists, is readable by mido and holds note-on messages."""
    if not path.is_file():
        raise StepFailed(f"no MIDI file was written at {path}")
    midi = mido.MidiFile(path)
    notes = sum(1 for track in midi.tracks for msg in track if msg.type == "note_on" and msg.velocity > 0)
    if not notes:
        raise StepFailed(f"{path.name} holds no note")
    return f"{path.name}: {notes} notes, {midi.length:.1f}s"


def opening_items(folder: Path, count: int) -> str:
    """The first ``count`` items of the dataset's first piece: a prefix the model has seen."""
    return ", ".join(dataset_files.load_split(folder)[0].split(", ")[:count])


def check_checkpoint(run_dir: Path) -> str:
    """A training run left a gpt-2-simple checkpoint (``checkpoint`` index + model-N files)."""
    if not (run_dir / "checkpoint").is_file():
        raise StepFailed(f"training left no checkpoint in {run_dir}")
    saved = sorted(p.name for p in run_dir.glob("model-*.index"))
    if not saved:
        raise StepFailed(f"training left no model-N checkpoint files in {run_dir}")
    return f"checkpoint {saved[-1].removesuffix('.index')} in checkpoint/{run_dir.name}"


def check_wav(path: Path) -> str:
    """A rendered WAV exists and is not silent (the built-in synth and its SoundFont work)."""
    import numpy as np

    from musicgpt_gui.core.midi.synth import read_wav

    if not path.is_file():
        raise StepFailed(f"no WAV file was written at {path}")
    pcm, rate = read_wav(path)
    peak = float(np.abs(pcm).max()) if pcm.size else 0.0
    if peak < 0.01:
        raise StepFailed(f"{path.name} is silent (peak {peak:.4f})")
    return f"{path.name}: {len(pcm) / rate:.1f}s at {rate} Hz, peak {peak:.2f}"


def check_midi_dataset(folder: Path) -> str:
    """The self-test's MIDI file became one piece with all its pitched notes, read by symusic
    (a file read by the tolerant mido fallback carries a warning)."""
    detail = check_dataset(folder)
    notes = len(parse_text(dataset_files.load_split(folder)[0]).notes)
    if notes != SELFTEST_MIDI_NOTES:
        raise StepFailed(f"{SELFTEST_MIDI.name} imported with {notes} notes, not {SELFTEST_MIDI_NOTES}")
    warnings = load_metadata(folder).warnings
    if warnings:
        raise StepFailed(f"{SELFTEST_MIDI.name} was not read by symusic: {warnings[0]}")
    return f"{SELFTEST_MIDI.name}: {detail}"


def check_playback(seconds: float = 1.0, pitch: int = 69) -> str:
    """The Player drives the built-in synth in real time into a null audio device (no sound card is
    needed); the sound that comes out has its strongest frequency at the note played."""
    import numpy as np

    from musicgpt_gui.core.midi.audio_sink import NullSink
    from musicgpt_gui.core.midi.playback import Player
    from musicgpt_gui.core.midi.synth import SoundFontSynth

    midi = mido.MidiFile(ticks_per_beat=480)
    midi.tracks.append(mido.MidiTrack([
        mido.MetaMessage("set_tempo", tempo=500000),
        mido.Message("note_on", note=pitch, velocity=100),
        mido.Message("note_off", note=pitch, time=int(seconds * 960)),
    ]))
    synth = SoundFontSynth()
    blocks: list = []
    sink = NullSink(synth, on_block=blocks.append)
    player = Player(synth)
    player.load(midi)
    sink.start()
    try:
        player.play()
        if not player.wait(seconds + 5.0):
            raise StepFailed("the player did not finish a one-second note in time")
    finally:
        player.stop()
        sink.stop()
        synth.close()
    pcm = np.concatenate(blocks).mean(axis=1) if blocks else np.zeros(0)
    if pcm.size == 0 or float(np.abs(pcm).max()) < 0.01:
        raise StepFailed("the built-in synth played silence")
    spectrum = np.abs(np.fft.rfft(pcm * np.hanning(pcm.size)))
    peak = float(np.fft.rfftfreq(pcm.size, 1 / synth.sample_rate)[int(spectrum.argmax())])
    expected = 440.0 * 2 ** ((pitch - 69) / 12)
    if abs(peak - expected) > expected * 0.03:
        raise StepFailed(f"the synth's loudest frequency is {peak:.0f} Hz, not the note's {expected:.0f} Hz")
    seconds_out = pcm.size / synth.sample_rate
    return f"{seconds_out:.1f}s through the null device, peak at {peak:.0f} Hz, {sink.underruns} underruns"
