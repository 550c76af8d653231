"""`musicgpt train`: finetune a base model (or a new music model) on a dataset, live progress."""

from __future__ import annotations

import argparse
import math
import signal
import sys
from contextlib import contextmanager
from dataclasses import asdict, replace
from pathlib import Path
from typing import Iterator, Optional

from musicgpt_gui.commands.common import positive_float, print_vocab_report, progress_bar
from musicgpt_gui.commands.common import resolve_dataset
from musicgpt_gui.core.model.store import checkpoints
from musicgpt_gui.core.model.train import fim
from musicgpt_gui.core.model.store.run_store import History
from musicgpt_gui.core.model.store import models
from musicgpt_gui.core.model.train import recipe
from musicgpt_gui.core.model.train.training_types import WINDOW_LAYOUTS
from musicgpt_gui.core.model.store import tf_runtime
from musicgpt_gui.core.model.plan import devices as plan_devices
from musicgpt_gui.core.model.plan import memory
from musicgpt_gui.core.model.store import vocab
from musicgpt_gui.core.quality import report as quality
from musicgpt_gui.core.model.workflows import NEW_MODEL_STEPS
from musicgpt_gui.core.jobs import CancelToken, JobError
from musicgpt_gui.core.workspace import Workspace


def register(sub: argparse._SubParsersAction) -> None:
    defaults = _defaults()
    parser = sub.add_parser(
        "train",
        help="finetune a model on a dataset (Ctrl-C saves and stops; --resume continues)",
        description="Checkpoints go to <workspace>/checkpoint/<run> in gpt-2-simple's layout.",
    )
    parser.add_argument("--dataset", help="dataset folder or name under <workspace>/datasets (on --resume: the run's)")
    base = parser.add_mutually_exclusive_group()
    base.add_argument("--base", help="a model in <workspace>/models (see: musicgpt models list)")
    base.add_argument(
        "--new-model",
        choices=tuple(models.PRESETS),
        metavar="SIZE",
        help="create a new music model of this size (tiny|small|medium) from the dataset first, "
        "named <dataset>-<size>-<vocab> (then -2, -3...)",
    )
    parser.add_argument(
        "--vocab",
        choices=vocab.KINDS,
        default=vocab.DEFAULT_KIND,
        help="vocabulary of --new-model (default: %(default)s)",
    )
    parser.add_argument("--run", default=defaults.run, help="run name (default: %(default)s)")
    parser.add_argument("--resume", action="store_true", help="continue the run from its latest checkpoint")
    parser.add_argument("--overwrite", action="store_true", help="start the run again, deleting its checkpoints")
    parser.add_argument(
        "--steps",
        type=int,
        help=f"steps to train now (default: {NEW_MODEL_STEPS} for a new model, else {defaults.steps})",
    )
    parser.add_argument("--minutes", type=positive_float, help="train for this many minutes instead of --steps")
    new, tune = recipe.NEW_MODEL, recipe.FINETUNE
    per_model = "(default: {} for a new music model, {} for GPT-2)"
    parser.add_argument("--batch-size", type=int, help=per_model.format(new.batch_size, tune.batch_size))
    parser.add_argument("--accumulate", type=int, default=defaults.accumulate, help="gradient accumulation steps")
    parser.add_argument(
        "--learning-rate", type=float, help="peak rate " + per_model.format(new.learning_rate, tune.learning_rate)
    )
    parser.add_argument("--warmup-steps", type=int, help=per_model.format(new.warmup_steps, tune.warmup_steps))
    parser.add_argument("--schedule", choices=recipe.SCHEDULES, help=f"after warmup (default: {new.schedule})")
    parser.add_argument(
        "--transpose",
        type=int,
        metavar="N",
        help="also train on copies shifted by -N..+N semitones " + per_model.format(new.transpose, tune.transpose),
    )
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--window", type=int, help="tokens per example " + per_model.format(new.window, tune.window))
    parser.add_argument("--save-every", type=int, default=defaults.save_every, metavar="N", help="0: only at the end")
    parser.add_argument("--sample-every", type=int, default=defaults.sample_every, metavar="N", help="0: no samples")
    parser.add_argument("--sample-length", type=int, default=defaults.sample_length, metavar="TOKENS")
    parser.add_argument(
        "--validate-every", type=int, default=defaults.validate_every, metavar="N", help="0: no validation"
    )
    parser.add_argument(
        "--patience",
        type=int,
        default=defaults.patience,
        help="stop after N validations without improvement (0: never)",
    )
    parser.add_argument("--xla", action="store_true", help="compile with TensorFlow's XLA JIT")
    parser.add_argument(
        "--threads", type=int, default=0, help="threads per TensorFlow op, one op at a time (0: TensorFlow's default)"
    )
    parser.add_argument(
        "--fim",
        type=unit_interval,
        metavar="RATE",
        help="share of training windows turned into fill-in-the-middle examples, 0..1, so the run "
        f"can regenerate a passage with both sides as context (musicgpt infill; default: "
        f"{fim.NEW_MODEL_RATE:g} with --new-model, else {defaults.fim_rate:g})",
    )
    parser.add_argument(
        "--windows",
        choices=WINDOW_LAYOUTS,
        default=defaults.windows,
        help="pinned: a training window from a song's middle starts with the song's part declarations, so the "
        "model writes for the parts a piece declares; plain: a slice of the stream (default: %(default)s; "
        "one-stream datasets are the same either way)",
    )
    parser.add_argument(
        "--controls",
        action="store_true",
        help="learn controls: each bar's note density, polyphony, mean pitch and key as control items, binned by "
        "the training split's quantiles (stored in the run); generate/infill can then ask for them "
        "(--density, --polyphony, --pitch-bin, --control-key). A --base model needs the control tokens: "
        "use --new-model",
    )
    parser.add_argument("--report-vocab", action="store_true", help="print tokens per musical element first")
    parser.add_argument(
        "--plan", action="store_true", help="print the memory plan (does the run fit the device?) and exit"
    )
    parser.add_argument(
        "--fit", action="store_true", help="apply the plan's proposal (a smaller micro-batch, more accumulation)"
    )
    parser.add_argument(
        "--devices",
        type=device_list,
        default=(),
        metavar="LIST",
        help="train data-parallel on these devices, e.g. GPU:0,GPU:1 (default: TensorFlow's choice of one)",
    )
    parser.add_argument("--list-devices", action="store_true", help="list the devices TensorFlow sees and exit")
    parser.add_argument(
        "--mixed-precision",
        action="store_true",
        help="float16 maths with a dynamic loss scale, on a GPU (ignored on the CPU); the plan shows what it saves",
    )
    parser.set_defaults(func=run)


def device_list(text: str) -> tuple[str, ...]:
    """'gpu:0, gpu:1' -> ('GPU:0', 'GPU:1') (argparse type)."""
    return tuple(part.strip().upper() for part in text.split(",") if part.strip())


def unit_interval(text: str) -> float:
    """A share from 0 to 1 (argparse type): rejected before TensorFlow loads."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a share from 0 to 1")
    return value


def _defaults():
    from musicgpt_gui.core.model.train.training import TrainConfig

    return TrainConfig(workspace=None, dataset=Path("."))  # type: ignore[arg-type]


def run(args: argparse.Namespace, workspace: Workspace) -> int:
    from musicgpt_gui.core.model.train.training import TrainConfig, train
    from musicgpt_gui.core.model.workflows import train_defaults, train_new_model

    if args.list_devices:
        print(tf_runtime.device_line())
        for device in plan_devices.list_devices():
            print(f"{device.name:8} {device.label}, {memory.gb(device.free_bytes)} free")
        return 0
    dataset = _dataset(args, workspace)
    base = args.base
    if args.report_vocab:
        print_vocab_report(dataset, [models.get_model(workspace, base)] if base else [])
    new_model = args.new_model and not args.resume
    if not base and not new_model and not args.resume:
        raise JobError("Say what to train: --base NAME (see musicgpt models list) or --new-model tiny|small|medium.")
    chosen = _recipe(workspace, args, base, bool(new_model))
    steps = args.steps if args.steps is not None else train_defaults(bool(new_model))["steps"]
    cfg = TrainConfig(
        workspace=workspace,
        dataset=dataset,
        base=base,
        run=args.run,
        steps=steps,
        accumulate=args.accumulate,
        seed=args.seed,
        save_every=args.save_every,
        sample_every=args.sample_every,
        sample_length=args.sample_length,
        validate_every=args.validate_every,
        patience=args.patience,
        resume=args.resume,
        overwrite=args.overwrite,
        xla=args.xla,
        threads=args.threads,
        minutes=args.minutes,
        fim_rate=_fim_rate(args, new_model, workspace),
        windows=args.windows,
        devices=args.devices,
        mixed_precision=args.mixed_precision,
        controls=args.controls,
        **asdict(chosen),  # batch, window, learning rate, warmup, schedule, transposition
    )
    print(tf_runtime.device_line(), file=sys.stderr)
    cfg, planned = _plan(cfg, args, workspace, base, new_model)
    if args.plan:
        print(planned.line)
        if args.fit and (planned.fit_batch or planned.fit_window):
            fitted = f"micro-batch {cfg.batch_size} × {cfg.accumulate} accumulated, {cfg.window}-token windows"
            print(f"with --fit: {fitted}")
        return 0
    print(f"plan: {planned.line}", file=sys.stderr)
    cancel = CancelToken()
    with progress_bar(f"train {args.run}") as bar, _ctrl_c_cancels(cancel):
        on_progress = _logging_recoveries(bar)
        if new_model:
            result = train_new_model(cfg, args.new_model, args.vocab, on_progress=on_progress, cancel=cancel)
        else:
            result = train(cfg, on_progress=on_progress, cancel=cancel)
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    best = (
        f", best validation loss {result.best_val_loss:.3f} at step {result.best_step}"
        if result.best_val_loss is not None
        else ""
    )
    print(
        f"run {result.run}: step {result.step} ({result.steps_done} now), loss {result.loss:.3f}, "
        f"average {result.avg_loss:.3f}{best}; {result.tokens_per_s:.0f} tokens/s on {result.device}"
    )
    print(f"checkpoint: {result.checkpoint}")
    _print_yardstick(result)
    _print_quality(result.run_dir)
    if result.cancelled:
        print(
            f"cancelled: saved at step {result.step}; continue with: musicgpt train --run {result.run} --resume",
            file=sys.stderr,
        )
        return 130
    return 0


def _plan(cfg, args: argparse.Namespace, workspace: Workspace, base: Optional[str], new_model: bool):
    """(the settings to train with, the memory plan of the settings asked for); --fit applies the proposal."""
    from musicgpt_gui.core.model.workflows import apply_plan, plan_training, planned_model

    label, hparams = planned_model(
        workspace, base, args.new_model if new_model else None, args.run if args.resume else None
    )
    planned = plan_training(cfg, label, hparams, plan_devices.list_devices())
    return (apply_plan(cfg, planned) if args.fit else cfg), planned


def _logging_recoveries(on_progress):
    """The progress bar, with each out-of-memory recovery also logged as a line of its own."""
    from tqdm import tqdm

    from musicgpt_gui.core.model.train import recovery

    def report(p) -> None:
        if isinstance(p.info, recovery.Recovery):
            tqdm.write(f"warning: {p.message}", file=sys.stderr)
        on_progress(p)

    return report


def _recipe(workspace: Workspace, args: argparse.Namespace, base: Optional[str], new_model: bool) -> recipe.Recipe:
    """The measured recipe for this kind of model, with every option given on the command line applied."""
    if new_model:
        chosen = recipe.NEW_MODEL
    else:
        folder = workspace.checkpoint / args.run if args.resume else models.get_model(workspace, base).path
        chosen = recipe.for_hparams(tf_runtime.read_hparams(folder))
    given = {
        name: getattr(args, name)
        for name in ("learning_rate", "warmup_steps", "schedule", "batch_size", "window", "transpose")
        if getattr(args, name) is not None
    }
    return replace(chosen, **given)


def _print_yardstick(result) -> None:
    stick = result.ngram
    if not stick or stick.get("bits_per_element") is None:
        return
    ours = result.best_bits_per_element
    versus = f"; best validation {ours:.3f} = {ours / stick['bits_per_element']:.2f}x the n-gram" if ours else ""
    print(f"n-gram yardstick (order {stick['order']}): {stick['bits_per_element']:.3f} bits per element{versus}")


def _print_quality(run_dir: Path) -> None:
    """The samples' musical metrics beside the references (validation data, n-gram samples)."""
    data = quality.load(run_dir)
    rows = [(label, quality.from_dict(m)) for label, m in data["references"].items()]
    rows += [
        (f"sample {step}", quality.from_dict(m))
        for step, m in sorted(data["samples"].items(), key=lambda kv: int(kv[0]))
    ]
    if data["samples"]:
        print(quality.table(rows))


def _fim_rate(args: argparse.Namespace, new_model: bool, workspace: Workspace) -> float:
    """--fim; else what a resumed run used, the new-model default, or the training default."""
    if args.fim is not None:
        return args.fim
    if args.resume:
        return float(History.load(workspace.checkpoint / args.run).settings.get("fim_rate", 0.0))
    return fim.NEW_MODEL_RATE if new_model else _defaults().fim_rate


def _dataset(args: argparse.Namespace, workspace: Workspace) -> Path:
    if args.dataset:
        return resolve_dataset(workspace, args.dataset)
    if args.resume:
        recorded = checkpoints.training_dataset(workspace.checkpoint / args.run)
        if recorded:
            return resolve_dataset(workspace, str(recorded))
    raise JobError("Give the dataset to train on: --dataset DIR (a folder or a name under the workspace's datasets).")


@contextmanager
def _ctrl_c_cancels(cancel: CancelToken) -> Iterator[None]:
    """The first Ctrl-C asks the loop to save and stop; a second one interrupts at once."""
    previous: Optional[object] = None

    def handler(signum, frame) -> None:
        if cancel.cancelled:
            raise KeyboardInterrupt
        cancel.cancel()

    try:
        previous = signal.signal(signal.SIGINT, handler)
    except ValueError:  # not the main thread: leave Ctrl-C alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)  # type: ignore[arg-type]
