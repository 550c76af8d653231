"""Finding, loading and saving a run's checkpoints (the TensorFlow side of run_store's layout).

A run folder has gpt-2-simple's layout (``checkpoint/<run>/model-N.*``, ``checkpoint``,
``counter``, ``hparams.json``, ``encoder.json``, ``vocab.bpe``).  Inference rebuilds the
graph with ``gpt_2_simple.src.model.model`` under the same variable names, so every
checkpoint that gpt-2-simple writes or reads loads here too.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from musicgpt_gui.core.atomic_file import atomic_write_text
from musicgpt_gui.core.jobs import JobError
from musicgpt_gui.core.model.store import run_store, tf_runtime
from musicgpt_gui.core.model.store.vocab import GPT2_VOCAB
from musicgpt_gui.core.workspace import Workspace

CHECKPOINT_CHOICES = ("latest", "best")
# The window a new music model trains on by default (train/recipe.py uses it), and so the context a
# run that records no window is taken to have been trained at.
DEFAULT_WINDOW = 128


@dataclass(frozen=True)
class CheckpointRef:
    """One checkpoint of one run: ``prefix`` is what ``Saver.restore`` takes (``.../model-N``)."""

    run_dir: Path
    prefix: str
    which: str

    @property
    def run_name(self) -> str:
        return self.run_dir.name

    @property
    def step(self) -> int:
        tail = Path(self.prefix).name.rpartition("-")[2]
        return int(tail) if tail.isdigit() else -1

    def stamp(self) -> tuple[str, float]:
        """Changes whenever the checkpoint on disk changes, so a warm model knows to reload."""
        index = Path(self.prefix + ".index")
        return self.prefix, index.stat().st_mtime if index.exists() else 0.0

    def identity(self) -> dict[str, Any]:
        """Model/checkpoint identity stored with every output (npz, MIDI provenance)."""
        return {
            "run": self.run_name,
            "checkpoint": Path(self.prefix).name,
            "which": self.which,
            "step": self.step,
            "hparams": tf_runtime.read_hparams(self.run_dir),
        }


def run_folder(workspace: Workspace, run: str) -> Path:
    """``<workspace>/checkpoint/<run>``, with a clear message when it does not exist."""
    folder = workspace.checkpoint / run
    if not folder.is_dir():
        known = (
            sorted(p.name for p in workspace.checkpoint.iterdir() if p.is_dir())
            if workspace.checkpoint.is_dir()
            else []
        )
        hint = f" Known runs: {', '.join(known)}." if known else " Train a model first (musicgpt train)."
        raise JobError(f"There is no trained run named '{run}' in {workspace.checkpoint}.{hint}")
    return folder


def resolve_checkpoint(run_dir: Path, which: str = "latest") -> CheckpointRef:
    """The latest checkpoint (gpt-2-simple's ``checkpoint`` file) or the best validated one (``best/``)."""
    run_dir = Path(run_dir)
    if which not in CHECKPOINT_CHOICES:
        raise JobError(f"Unknown checkpoint '{which}': choose one of {', '.join(CHECKPOINT_CHOICES)}.")
    folder = run_dir / run_store.BEST if which == "best" else run_dir
    prefix = run_store.latest_prefix(folder)
    if not prefix:
        what = "best (validated)" if which == "best" else "saved"
        raise JobError(f"Run '{run_dir.name}' has no {what} checkpoint in {folder}.")
    return CheckpointRef(run_dir, prefix, which)


def training_dataset(run_dir: Path) -> Optional[Path]:
    """The dataset folder the run was trained on, as its loss history records it."""
    recorded = run_store.History.load(run_dir).settings.get("dataset")
    return Path(recorded) if recorded and Path(recorded).is_dir() else None


CONTEXT_SETTING = "context"  # in a run's settings: the positions its weights were trained at


def trained_positions(hparams: dict[str, int], window: int, earlier: int = 0) -> int:
    """How many positions a run's weights know after training on ``window``-token examples.

    Pretrained GPT-2 learnt all of ``n_ctx``; a model made from a dataset starts with random
    position embeddings and learns only the positions its windows reach (the largest window of
    the run so far): beyond them it predicts noise (bench/results/context.txt).
    """
    if hparams["n_vocab"] >= GPT2_VOCAB:
        return hparams["n_ctx"]
    return min(hparams["n_ctx"], max(window, earlier))


def trained_context(run_dir: Path, hparams: dict[str, int]) -> int:
    """The context inference may use: the positions the run was trained at.

    A run whose loss history is missing or damaged (trained elsewhere, say) does not say; a model
    made from a dataset then gets the default training window, which reads no untrained position.
    """
    try:
        settings = run_store.History.load(run_dir).settings
    except JobError:
        settings = {}
    recorded = settings.get(CONTEXT_SETTING) or settings.get("window") or DEFAULT_WINDOW
    return trained_positions(hparams, int(recorded))


def context_reason(context: int, n_ctx: int) -> str:
    """Why inference reads ``context`` tokens at a time, for warnings."""
    return f"the {context}-token windows it was trained on" if context < n_ctx else "its whole context"


def restore(session, ref: CheckpointRef) -> None:
    """Load the checkpoint's variables into ``session``'s graph (built with model.model)."""
    tf = tf_runtime.tf()
    with session.graph.as_default():
        variables = tf.compat.v1.global_variables("model")
        load_variables(session, tf.compat.v1.train.Saver(var_list=variables), variables, ref.prefix)


def load_variables(session, saver, variables: list[Any], prefix: str) -> None:
    """Restore ``variables`` from ``prefix`` with ``saver``, after comparing every shape.

    Saver.restore loads some mismatches silently (a checkpoint beside an edited hparams.json) and
    the graph then fails on its first run with a TensorFlow dump; a JobError says it plainly here.
    """
    tf = tf_runtime.tf()
    try:
        stored = tf.train.load_checkpoint(prefix).get_variable_to_shape_map()
    except Exception as exc:  # TF raises several types for unreadable files
        raise JobError(f"The checkpoint {prefix} cannot be read ({run_store.first_line(exc)}).") from None
    names = {var.op.name for var in variables}
    extra = sorted(n for n in stored if n.startswith("model/") and n not in names and "/Adam" not in n)
    if extra:
        raise JobError(
            f"The checkpoint {prefix} does not match its hparams.json: it holds {extra[0]} "
            f"(and {len(extra) - 1} more), which the hparams do not describe. The model folder is mixed up."
        )
    for var in variables:
        name, shape = var.op.name, var.shape.as_list()
        if stored.get(name) != shape:
            found = "missing" if name not in stored else f"of shape {stored[name]}"
            raise JobError(
                f"The checkpoint {prefix} does not match its hparams.json/encoder.json: {name} is {found}, "
                f"the hparams need {shape}. The model folder is damaged or mixed up."
            )
    try:
        saver.restore(session, prefix)
    except (tf.errors.NotFoundError, tf.errors.InvalidArgumentError, tf.errors.DataLossError) as exc:
        raise JobError(f"The checkpoint {prefix} cannot be read ({run_store.first_line(exc)}).") from None


def save_latest(sess: Any, saver: Any, run_dir: Path, step: int, history: run_store.History) -> str:
    """Write model-<step>, switch the index to it, then drop older model-* files."""
    tf = tf_runtime.tf()
    run_dir = Path(run_dir)
    name = f"model-{step}"
    try:
        saver.save(sess, str(run_dir / "model"), global_step=step, write_meta_graph=False, write_state=False)
        run_store.write_index(run_dir, name)
        atomic_write_text(run_dir / "counter", f"{step}\n")
        history.save(run_dir)
    except (OSError, tf.errors.OpError) as exc:
        if run_store.latest_step(run_dir) != step:
            run_store._remove_model_files(run_dir, keep=run_store.latest_step(run_dir))
        raise JobError(
            f"Could not save the checkpoint at step {step} ({run_store.first_line(exc)}); "
            "the previous checkpoint is intact. Free some disk space and resume."
        ) from None
    run_store._remove_model_files(run_dir, keep=step)
    return str(run_dir / name)


def save_best(sess: Any, saver: Any, run_dir: Path, step: int) -> None:
    """Write ``best/`` as a complete run-like folder beside it, then swap it in."""
    tf = tf_runtime.tf()
    run_dir = Path(run_dir)
    tmp, best, old = run_dir / ".best.tmp", run_dir / run_store.BEST, run_dir / ".best.old"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir()
        run_store.copy_model_files(run_dir, tmp)
        name = f"model-{step}"
        saver.save(sess, str(tmp / "model"), global_step=step, write_meta_graph=False, write_state=False)
        run_store.write_index(tmp, name)
        atomic_write_text(tmp / "counter", f"{step}\n")
    except (OSError, tf.errors.OpError) as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise JobError(
            f"Could not save the best checkpoint at step {step} ({run_store.first_line(exc)}); "
            "the previous best is intact."
        ) from None
    shutil.rmtree(old, ignore_errors=True)
    if best.exists():
        best.rename(old)
    tmp.rename(best)
    shutil.rmtree(old, ignore_errors=True)
