"""The self-test's steps: each runs a real ``musicgpt`` sub-command in this process, then checks its output.

The CLI contract every part implements is what is tested, so the steps work the same from source
and in the frozen bundle.  The CLI entry is passed in (``run_cli``), so this package never imports
the CLI that registers it.
"""
from __future__ import annotations

import contextlib
import io
import sys
from typing import Callable, Sequence

from musicgpt_gui.selftest import checks
from musicgpt_gui.selftest.checks import Step, StepFailed
from musicgpt_gui.core.workspace import Workspace

RUN = "selftest"
PREFIX_ITEMS = 12  # opening items of the corpus piece used as generation prefix and attention text
CliMain = Callable[[Sequence[str]], int]


class SelfTest:
    """The steps, sharing one workspace; later steps use what earlier ones made."""

    def __init__(self, workspace: Workspace, run_cli: CliMain, debug: bool = False) -> None:
        self.ws = workspace
        self.run_cli = run_cli
        self.debug = debug
        self.dataset = workspace.datasets / "selftest-bach"
        self.prefix = ""
        self.generated = ""

    def steps(self) -> list[Step]:
        return [
            Step("music21 corpus", checks.check_corpus_lookup),
            Step("import corpus", self.import_corpus),
            Step("import MIDI", self.import_midi),
            Step("train 2 steps", self.train),
            Step("generate", self.generate),
            Step("attention page", self.attention_page),
            Step("export MIDI", self.export_midi),
            Step("render a WAV", self.render_wav),
            Step("play (null out)", checks.check_playback),
            Step("GUI tabs", self.gui_tabs),
        ]

    def cli(self, *argv: str) -> str:
        """Run ``musicgpt ARGV`` here; return its stdout, or raise with its one-line error."""
        out, err = io.StringIO(), io.StringIO()
        debug = ["--debug"] if self.debug else []
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = self.run_cli(["--workspace", str(self.ws.root), *debug, *argv])
            except SystemExit as exc:  # argparse rejected the arguments
                code = exc.code if isinstance(exc.code, int) else 2
        if code != 0:
            if self.debug:
                sys.stderr.write(err.getvalue())  # the traceback --debug asked for
            lines = [line for line in err.getvalue().splitlines() if line.strip()]
            raise StepFailed(f"`musicgpt {argv[0]}` exit {code}: {lines[-1] if lines else 'no message'}")
        return out.getvalue()

    def import_corpus(self) -> str:
        checks.require_module("musicgpt_gui.core.dataset.importer")
        self.cli("import", "--corpus", "bach", "--limit", "2", "--out", str(self.dataset))
        detail = checks.check_dataset(self.dataset)
        self.prefix = checks.opening_items(self.dataset, PREFIX_ITEMS)
        return detail

    def import_midi(self) -> str:
        """A real multitrack MIDI file through symusic, the reader every user's own files go through."""
        checks.require_module("symusic")
        import symusic  # noqa: F401  (its import checks for its bundled bin/ tools)

        dataset = self.ws.datasets / "selftest-midi"
        self.cli("import", str(checks.SELFTEST_MIDI), "--out", str(dataset))
        return checks.check_midi_dataset(dataset)

    def gui_tabs(self) -> str:
        from musicgpt_gui.selftest.gui_check import check_main_window  # Qt only for this step

        return check_main_window(self.ws)

    def train(self) -> str:
        checks.require_module("musicgpt_gui.core.model.train.training")
        self.cli(
            "train", "--dataset", str(self.dataset), "--new-model", "tiny",
            "--steps", "2", "--batch-size", "1", "--run", RUN,
        )
        return checks.check_checkpoint(self.ws.checkpoint / RUN)

    def generate(self) -> str:
        checks.require_module("musicgpt_gui.core.model.sample.generation")
        # valid items only: a 2-step model writes noise, and a take with nothing to play is never printed
        self.generated = self.cli("generate", "--run", RUN, "--prefix", self.prefix, "--length", "24", "--seed", "1",
                                  "--valid-only")
        if not self.generated.strip():
            raise StepFailed("`musicgpt generate` printed no text")
        return f"{len(self.generated.strip())} characters of text"

    def attention_page(self) -> str:
        checks.require_module("musicgpt_gui.core.viz.attention_page")
        page = self.ws.exports / "selftest-attention.html"
        npz = self.ws.exports / "selftest-attention.npz"
        self.cli("attention", "--run", RUN, "--text", self.prefix, "--html", str(page), "--npz", str(npz))
        if not page.is_file() or not npz.is_file():
            raise StepFailed("`musicgpt attention` wrote no page or no .npz")
        from musicgpt_gui.selftest.page_check import check_attention_page  # Qt only for this step

        try:
            return check_attention_page(page)
        except RuntimeError as exc:
            raise StepFailed(str(exc)) from exc

    def export_midi(self) -> str:
        """The corpus opening plus whatever generation added (the tolerant parser skips junk)."""
        checks.require_module("musicgpt_gui.core.midi.midi_io")
        midi = self.ws.exports / "selftest-export.mid"
        text = ", ".join(t for t in (self.prefix or checks.FALLBACK_TEXT, self.generated.strip()) if t)
        self.cli("export", "--text", text, "--out", str(midi))
        return checks.check_midi(midi)

    def render_wav(self) -> str:
        """The exported MIDI through the built-in synth and the bundled (or installed) SoundFont."""
        checks.require_module("musicgpt_gui.core.midi.synth")
        midi = self.ws.exports / "selftest-export.mid"
        if not midi.is_file():
            self.cli("export", "--text", checks.FALLBACK_TEXT, "--out", str(midi))
        wav = self.ws.exports / "selftest-render.wav"
        self.cli("render", str(midi), "--out", str(wav))
        return checks.check_wav(wav)
