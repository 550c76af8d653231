"""Test set-up shared by every suite: offscreen Qt, a throwaway workspace, JACK, and the
session-wide tiny Bach dataset and tiny trained run that the core, GUI and e2e suites reuse."""
from __future__ import annotations

import os

# Before anything imports Qt (Picard/napari style).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")
os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--disable-gpu --no-sandbox")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from dataclasses import dataclass
from pathlib import Path

import pytest


@pytest.fixture()
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A fresh workspace, also exported as $MUSICGPT_WORKSPACE for CLI and GUI code."""
    from musicgpt_gui.core.workspace import resolve_workspace

    monkeypatch.setenv("MUSICGPT_WORKSPACE", str(tmp_path / "ws"))
    return resolve_workspace(tmp_path / "ws")


# --- JACK server for the MIDI playback tests (issue 5) ---------------------------------------
JACK_PROBE = "import rtmidi; rtmidi.MidiOut(rtmidi.API_UNIX_JACK).get_ports()"


def _jack_answers() -> bool:
    """Ask rtmidi's JACK API in a child process, so a failed client never lingers in ours."""
    import subprocess
    import sys

    env = dict(os.environ, JACK_NO_START_SERVER="1")
    probe = subprocess.run([sys.executable, "-c", JACK_PROBE], env=env, capture_output=True, timeout=30)
    return probe.returncode == 0


@pytest.fixture(scope="session")
def jack_server():
    """A reachable JACK server: the running one, else ``jackd -d dummy`` for this session.

    MIDI tests fail (never skip) without JACK, so CI cannot pass by silently testing nothing.
    """
    import shutil
    import subprocess
    import tempfile
    import time

    if _jack_answers():
        yield
        return
    jackd = shutil.which("jackd")
    if jackd is None:
        pytest.fail("JACK is needed for the MIDI tests but jackd is not installed (Debian package jackd2).")
    # -S (synchronous): a client that misses a cycle on a busy machine delays the cycle instead
    # of losing that cycle's MIDI events, so order/pitch assertions see every message.
    cmd = [jackd, "-S", "--no-realtime", "-d", "dummy", "-r", "48000", "-p", "256"]
    log = tempfile.TemporaryFile(mode="w+")  # a file, not a pipe: jackd logs every xrun
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 20
    while not _jack_answers():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            log.seek(0)
            reason = log.read().strip()[-500:] or "no answer within 20 s"
            pytest.fail(f"could not start JACK ({' '.join(cmd)}): {reason}")
        time.sleep(0.2)
    yield
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log.close()


def corpus_texts(count: int, out: Path) -> list[str]:
    """The first ``count`` Bach chorales as timed note text, converted by our own import."""
    from musicgpt_gui.core.dataset import importer as dataset
    from musicgpt_gui.core.dataset import dataset_files

    result = dataset.import_dataset(["corpus:bach"], dataset.ImportOptions(limit=count, workers=1), out)
    return dataset_files.load_split(result.out_dir)


def write_dataset(folder: Path, train: list[str], valid: list[str]) -> Path:
    from musicgpt_gui.core.dataset import dataset_files
    from musicgpt_gui.core.dataset.metadata import DatasetMetadata, write_metadata

    dataset_files.write_rows(dataset_files.split_path(folder, dataset_files.ALL), train + valid)
    dataset_files.write_rows(dataset_files.split_path(folder, dataset_files.TRAIN), train)
    dataset_files.write_rows(dataset_files.split_path(folder, dataset_files.VALID), valid)
    write_metadata(folder, DatasetMetadata(format="timed", sources=["corpus:bach"]))
    return folder


@pytest.fixture(scope="session")
def make_dataset():
    """``make_dataset(folder, train_texts, valid_texts) -> folder`` for tests that need odd data."""
    return write_dataset


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A dataset folder of four real Bach chorales (three to train on, one to validate)."""
    texts = corpus_texts(4, tmp_path_factory.mktemp("import"))
    return write_dataset(tmp_path_factory.mktemp("datasets") / "bach-tiny", texts[:3], texts[3:])


TINY_RUN_RATE = 1e-4


@dataclass(frozen=True)
class TinyRun:
    workspace: object  # musicgpt_gui.core.workspace.Workspace
    run: str
    model: str

    @property
    def run_dir(self) -> Path:
        return self.workspace.checkpoint / self.run


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory, tiny_dataset: Path):
    """(workspace, model info): a tiny atomic-vocabulary music model, untrained."""
    from musicgpt_gui.core.model.store import models
    from musicgpt_gui.core.workspace import resolve_workspace

    workspace = resolve_workspace(tmp_path_factory.mktemp("ws"))
    return workspace, models.create_music_model(workspace, tiny_dataset, size="tiny", vocab_kind="atomic")


@pytest.fixture(scope="session")
def tiny_run(tiny_model, tiny_dataset: Path) -> TinyRun:
    """A tiny model trained a few steps into checkpoint/tiny-run (with a best checkpoint): noise, for the core
    suite's tests that need a model that breaks every rule (tests/ui/conftest.py trains one that writes notes)."""
    return train_tiny_run(tiny_model, tiny_dataset, TINY_RUN_RATE)


def train_tiny_run(tiny_model, tiny_dataset: Path, rate: float) -> TinyRun:
    from musicgpt_gui.core.model.train import training

    workspace, model = tiny_model
    cfg = training.TrainConfig(
        workspace=workspace, dataset=tiny_dataset, base=model.name, run="tiny-run", steps=4, batch_size=2,
        window=64, validate_every=2, sample_every=0, save_every=2, learning_rate=rate,
    )
    training.train(cfg)
    return TinyRun(workspace, "tiny-run", model.name)


@pytest.fixture(scope="session")
def fim_run(tiny_model, tiny_dataset):
    """(workspace, run folder) of the tiny model trained a few steps with fill-in-the-middle."""
    from musicgpt_gui.core.model.train import training

    workspace, model = tiny_model
    cfg = training.TrainConfig(workspace=workspace, dataset=tiny_dataset, base=model.name, run="fim-run", steps=4,
                               batch_size=2, window=64, fim_rate=0.5, sample_every=0, validate_every=0)
    training.train(cfg)
    return workspace, workspace.checkpoint / "fim-run"


@pytest.fixture(scope="session")
def fim_generator(fim_run):
    from musicgpt_gui.core.model.store import checkpoints
    from musicgpt_gui.core.model.sample.generation import Generator

    g = Generator(checkpoints.resolve_checkpoint(fim_run[1]))
    yield g
    g.close()


@pytest.fixture(scope="session")
def melody_run(tmp_path_factory: pytest.TempPathFactory):
    """(workspace, run folder) of a tiny model that answers with valid melodies (tests/core/live_helpers.py)."""
    from tests.core.live_helpers import train_melody_run

    return train_melody_run(tmp_path_factory.mktemp("melody"), write_dataset)


POP909 = Path(__file__).resolve().parents[2] / "shared" / "data" / "pop909"


@dataclass(frozen=True)
class PopSongs:
    workspace: object  # musicgpt_gui.core.workspace.Workspace
    dataset: Path
    model: object  # musicgpt_gui.core.model.store.models.ModelInfo
    run: str


@pytest.fixture(scope="session")
def pop_songs(tmp_path_factory: pytest.TempPathFactory) -> PopSongs:
    """Six POP909 songs imported with a part per track (MELODY, BRIDGE, PIANO), a tiny model made from them,
    and a run of it trained 2 steps with 96-token windows."""
    from musicgpt_gui.core.dataset.import_options import ImportOptions
    from musicgpt_gui.core.dataset.importer import import_dataset
    from musicgpt_gui.core.model.store import models
    from musicgpt_gui.core.model.train import training
    from musicgpt_gui.core.workspace import resolve_workspace

    workspace = resolve_workspace(tmp_path_factory.mktemp("ws"))
    dataset = workspace.datasets / "songs"
    import_dataset([str(p) for p in sorted(POP909.glob("*.mid"))[:6]], ImportOptions(parts="tracks", workers=1),
                   dataset)
    model = models.create_music_model(workspace, dataset, size="tiny", vocab_kind="atomic")
    training.train(training.TrainConfig(workspace=workspace, dataset=dataset, base=model.name, run="songs", steps=2,
                                        batch_size=2, window=96, validate_every=0, sample_every=0, save_every=2,
                                        fim_rate=0.5))
    return PopSongs(workspace, dataset, model, "songs")


@pytest.fixture(scope="session")
def pop_controls_run(pop_songs: PopSongs) -> Path:
    """The run folder of a tiny model made from the six songs and trained 4 steps with learned controls (each
    part's own too)."""
    from musicgpt_gui.core.model.store import models, vocab
    from musicgpt_gui.core.model.train import training

    model = models.create_music_model(pop_songs.workspace, pop_songs.dataset, size="tiny", vocab_kind="atomic",
                                      extra_words=vocab.control_words())
    training.train(training.TrainConfig(workspace=pop_songs.workspace, dataset=pop_songs.dataset, base=model.name,
                                        run="songs-controls", steps=4, batch_size=2, window=96, validate_every=0,
                                        sample_every=0, save_every=4, controls=True))
    return pop_songs.workspace.checkpoint / "songs-controls"
