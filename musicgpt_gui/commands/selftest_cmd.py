"""`musicgpt self-test`: the whole app end to end in a throwaway workspace, one line per step.

Each step runs the real ``musicgpt`` sub-command in this process (the CLI contract every part
implements), then checks what it produced.  Works the same from source and in the frozen bundle;
exits non-zero if any step fails, including a part of the app that has not landed yet.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import shutil
import sys
import tempfile
from pathlib import Path

from musicgpt_gui.core import selftest
from musicgpt_gui.core.selftest import Step, StepFailed
from musicgpt_gui.core.workspace import Workspace, resolve_workspace

RUN = "selftest"
PREFIX_ITEMS = 12  # opening items of the corpus piece used as generation prefix and attention text


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("self-test", help="check the installation end to end (a few minutes)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary workspace and print its path")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, workspace: Workspace) -> int:
    """Ignores the user's workspace: everything happens in a temporary one."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    root = Path(tempfile.mkdtemp(prefix="musicgpt-selftest-"))
    try:
        steps = SelfTest(resolve_workspace(root), debug=args.debug).steps()
        results = selftest.run_steps(steps, sys.stdout, debug=args.debug)
    finally:
        if args.keep:
            print(f"workspace kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    failed = [r.name for r in results if not r.ok]
    if failed:
        print(f"self-test FAILED: {len(failed)} of {len(results)} steps ({', '.join(failed)})")
        return 1
    print(f"self-test passed: {len(results)} steps")
    return 0


class SelfTest:
    """The steps, sharing one workspace; later steps use what earlier ones made."""

    def __init__(self, workspace: Workspace, debug: bool = False) -> None:
        self.ws = workspace
        self.debug = debug
        self.dataset = workspace.datasets / "selftest-bach"
        self.prefix = ""
        self.generated = ""

    def steps(self) -> list[Step]:
        return [
            Step("music21 corpus", selftest.check_corpus_lookup),
            Step("import corpus", self.import_corpus),
            Step("train 2 steps", self.train),
            Step("generate", self.generate),
            Step("attention page", self.attention_page),
            Step("export MIDI", self.export_midi),
            Step("render a WAV", self.render_wav),
        ]

    def cli(self, *argv: str) -> str:
        """Run ``musicgpt ARGV`` here; return its stdout, or raise with its one-line error."""
        from musicgpt_gui import cli  # imported late: cli imports this module

        out, err = io.StringIO(), io.StringIO()
        debug = ["--debug"] if self.debug else []
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = cli.main(["--workspace", str(self.ws.root), *debug, *argv])
            except SystemExit as exc:  # argparse rejected the arguments
                code = exc.code if isinstance(exc.code, int) else 2
        if code != 0:
            if self.debug:
                sys.stderr.write(err.getvalue())  # the traceback --debug asked for
            lines = [line for line in err.getvalue().splitlines() if line.strip()]
            raise StepFailed(f"`musicgpt {argv[0]}` exit {code}: {lines[-1] if lines else 'no message'}")
        return out.getvalue()

    def import_corpus(self) -> str:
        selftest.require_module("musicgpt_gui.core.dataset.importer")
        self.cli("import", "--corpus", "bach", "--limit", "2", "--out", str(self.dataset))
        detail = selftest.check_dataset(self.dataset)
        self.prefix = selftest.opening_items(self.dataset, PREFIX_ITEMS)
        return detail

    def train(self) -> str:
        selftest.require_module("musicgpt_gui.core.model.training")
        self.cli(
            "train", "--dataset", str(self.dataset), "--new-model", "tiny",
            "--steps", "2", "--batch-size", "1", "--run", RUN,
        )
        return selftest.check_checkpoint(self.ws.checkpoint / RUN)

    def generate(self) -> str:
        selftest.require_module("musicgpt_gui.core.model.generation")
        self.generated = self.cli("generate", "--run", RUN, "--prefix", self.prefix, "--length", "24", "--seed", "1")
        if not self.generated.strip():
            raise StepFailed("`musicgpt generate` printed no text")
        return f"{len(self.generated.strip())} characters of text"

    def attention_page(self) -> str:
        selftest.require_module("musicgpt_gui.core.viz.attention_page")
        page = self.ws.exports / "selftest-attention.html"
        npz = self.ws.exports / "selftest-attention.npz"
        self.cli("attention", "--run", RUN, "--text", self.prefix, "--html", str(page), "--npz", str(npz))
        if not page.is_file() or not npz.is_file():
            raise StepFailed("`musicgpt attention` wrote no page or no .npz")
        from musicgpt_gui.ui.selftest_page import check_attention_page  # Qt only for this step

        try:
            return check_attention_page(page)
        except RuntimeError as exc:
            raise StepFailed(str(exc)) from exc

    def export_midi(self) -> str:
        """The corpus opening plus whatever generation added (the tolerant parser skips junk)."""
        selftest.require_module("musicgpt_gui.core.midi.midi_io")
        midi = self.ws.exports / "selftest-export.mid"
        text = ", ".join(t for t in (self.prefix or selftest.FALLBACK_TEXT, self.generated.strip()) if t)
        self.cli("export", "--text", text, "--out", str(midi))
        return selftest.check_midi(midi)

    def render_wav(self) -> str:
        """The exported MIDI through the built-in synth and the bundled (or installed) SoundFont."""
        selftest.require_module("musicgpt_gui.core.midi.synth")
        midi = self.ws.exports / "selftest-export.mid"
        if not midi.is_file():
            self.cli("export", "--text", selftest.FALLBACK_TEXT, "--out", str(midi))
        wav = self.ws.exports / "selftest-render.wav"
        self.cli("render", str(midi), "--out", str(wav))
        return selftest.check_wav(wav)
