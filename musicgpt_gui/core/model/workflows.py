"""What both front ends do, one function each, so the GUI and the CLI cannot drift apart.

- :func:`train_new_model`: a new music model from the dataset, then training it (one naming rule);
  :func:`train_defaults` gives the settings both front ends start from.
- :func:`generate_for_run`: generation from a run's checkpoint, checked against its training data; with a
  form, written section by section, or bar by bar with the learned controls checked (core/model/piecewise.py).
- :func:`infill_for_run`: the same for regenerating a span with both sides as context.
- :func:`with_ensemble` / :func:`dataset_ensembles`: the parts an unprompted piece is written for.
- :func:`provenance` / :func:`export_variation`: the one schema of an exported generation's provenance.
- :func:`attention_view`: the per-token or per-note view of an attention result, with its title.
- :func:`plan_training` / :func:`apply_plan`: the memory plan of a run before Start, and its proposal applied.
"""

from __future__ import annotations

from dataclasses import MISSING, asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from musicgpt_gui.core.dataset import dataset_files, statistics
from musicgpt_gui.core.dataset.memorization import MemorizationIndex
from musicgpt_gui.core.jobs import CancelToken, JobError, ProgressFn, no_progress, sub_progress
from musicgpt_gui.core.midi.midi_io import export_midi
from musicgpt_gui.core.model.controls import report as control_report
from musicgpt_gui.core.model.controls import run_controls
from musicgpt_gui.core.model.plan import devices as plan_devices
from musicgpt_gui.core.model.plan import memory
from musicgpt_gui.core.model.store import checkpoints, models, tf_runtime, vocab
from musicgpt_gui.core.model.train import recipe, training, training_data
from musicgpt_gui.core.model.inspect.attention import AttentionResult, PooledAttention, pool_items
from musicgpt_gui.core.model import piecewise
from musicgpt_gui.core.model.controls.bins import ControlBins
from musicgpt_gui.core.model.sample.generation import GenerationResult, GenerationSettings, Generator, TokenFn
from musicgpt_gui.core.quality import arrangement
from musicgpt_gui.core.quality import report as quality
from musicgpt_gui.core.model.sample.infill import InfillResult, Span, infill, locate_beats
from musicgpt_gui.core.model.steer import measure as steer_measure
from musicgpt_gui.core.model.steer.form import Form
from musicgpt_gui.core.model.steer import session as steer_session
from musicgpt_gui.core.music.notation import join_items, parse_text, split_items
from musicgpt_gui.core.music.parts import Part, declaration, leading_declarations, parse_ensemble

NEW_MODEL_SIZE = "small"
# A freshly created small model learns in minutes: fewer steps than TrainConfig's default, with
# the measured recipe (recipe.NEW_MODEL) for its rate, schedule and batches.
NEW_MODEL_STEPS = 200
NEW_MODEL_SHARE = 0.1  # of the progress range: building the vocabulary and the first weights
ATTENTION_POOLS = ("tokens", "notes")
DEFAULT_SETTINGS = GenerationSettings()  # frozen, so one shared default is safe


def train_defaults(new_model: bool = False) -> dict[str, Any]:
    """TrainConfig's default settings with the measured recipe for the kind of base applied
    (``recipe.for_model``); a new model also gets :data:`NEW_MODEL_STEPS`."""
    defaults = {f.name: f.default for f in fields(training.TrainConfig) if f.default is not MISSING}
    defaults.update(asdict(recipe.for_model(new_model)))
    if new_model:
        defaults["steps"] = NEW_MODEL_STEPS
    return defaults


def train_new_model(
    cfg: training.TrainConfig,
    size: str = NEW_MODEL_SIZE,
    vocab_kind: str = vocab.DEFAULT_KIND,
    *,
    on_progress: ProgressFn = no_progress,
    cancel: Optional[CancelToken] = None,
) -> training.TrainResult:
    """Create a music model from ``cfg.dataset`` (named by :func:`models.create_music_model`), then train it.

    A note in the result names the new model.
    """
    cancel = cancel or CancelToken()
    info = models.create_music_model(
        cfg.workspace,
        cfg.dataset,
        size=size,
        vocab_kind=vocab_kind,
        extra_words=run_controls.vocabulary_words(cfg.controls),
        beside_weights=lambda folder: training_data.prefill_beside(cfg, folder, cancel),
        on_progress=sub_progress(on_progress, 0.0, NEW_MODEL_SHARE),
        cancel=cancel,
    )
    result = training.train(
        replace(cfg, base=info.name), on_progress=sub_progress(on_progress, NEW_MODEL_SHARE, 1.0), cancel=cancel
    )
    result.notes.insert(0, f"trained the new model '{info.name}'")
    return result


def generate_for_run(
    generator: Generator,
    ref: checkpoints.CheckpointRef,
    prefix: str,
    settings: GenerationSettings = DEFAULT_SETTINGS,
    *,
    dataset: Optional[Path] = None,
    form: Optional[Form] = None,
    redraws: int = 0,
    on_token: Optional[TokenFn] = None,
    on_progress: ProgressFn = no_progress,
    cancel: Optional[CancelToken] = None,
) -> GenerationResult:
    """Load ``ref`` (only if it changed) and continue ``prefix``; memorized passages are looked up in
    ``dataset``, by default the run's training data (none when that is unknown).  Each variation's
    musical metrics are measured and kept in the run's quality.json.  With a ``form``, each variation is
    written section by section; with ``redraws`` and learned controls asked for, bar by bar, a bar that misses
    them drawn again (core/model/piecewise.py)."""
    generator.load(ref)
    index = _memorization_index(ref, dataset)
    calls = dict(memorization=index, on_token=on_token, on_progress=on_progress, cancel=cancel)
    piecewise.check_redraws(redraws)  # a bad count is refused even when no control is asked for
    if form is not None and redraws:
        raise JobError("Choose a form or bars drawn again for the controls, not both.")
    bins = ControlBins.load(ref.run_dir) if redraws and settings.controls.active else None
    if form is not None:
        result = piecewise.form_takes(generator, prefix, settings, form, **calls)
    elif bins is not None:
        result = piecewise.checked_takes(generator, prefix, settings.validate(), bins, redraws, **calls)
    else:
        result = generator.generate(prefix, settings, **calls)
    result.metrics = quality.record_generated(ref.run_dir, result.seed, [v.text for v in result.variations])
    result.steering_kept = steering_kept(result, run_dir=ref.run_dir)
    header = leading_declarations(split_items(result.prefix))
    if header:  # each part's share, range and time, and the form, beside the validation songs'
        result.part_figures = [arrangement.ensemble_figures([join_items(header + v.parsed.items)])
                               for v in result.variations]
        trained_on = dataset or checkpoints.training_dataset(ref.run_dir)
        result.part_reference = quality.part_reference(
            ref.run_dir, lambda: dataset_files.load_split(trained_on, dataset_files.VALID) if trained_on else [])
    return result


def dataset_ensembles(dataset: Optional[Path]) -> list[tuple[tuple[Part, ...], int]]:
    """The ensembles a dataset's training pieces declare, most common first (none for one-stream data)."""
    if dataset is None or not dataset_files.split_path(dataset, dataset_files.TRAIN).is_file():
        return []
    return statistics.ensembles(dataset_files.load_split(dataset, dataset_files.TRAIN))


ENSEMBLE_AUTO, ENSEMBLE_NONE = "auto", "none"


def resolve_ensemble(choice: str, dataset: Optional[Path]) -> list[Part]:
    """``auto``: the dataset's most common ensemble (none for one-stream data); ``none``: the model writes
    its own; else an edited spec (``MELODY=0; Bass=33; Drums=drums``)."""
    if choice == ENSEMBLE_NONE:
        return []
    if choice == ENSEMBLE_AUTO:
        found = dataset_ensembles(dataset)
        return list(found[0][0]) if found else []
    try:
        return parse_ensemble(choice)
    except ValueError as exc:
        raise JobError(f"The ensemble: {exc}.") from None


def ensemble_prefix(prefix: str, choice: str, dataset: Optional[Path]) -> str:
    """``prefix`` with the chosen ensemble (:func:`resolve_ensemble`) declared first: what the GUI and the
    CLI hand to generation."""
    return with_ensemble(prefix, resolve_ensemble(choice, dataset), strict=choice != ENSEMBLE_AUTO)


def with_ensemble(prefix: str, ensemble: Sequence[Part], *, strict: bool = True) -> str:
    """``prefix`` written for ``ensemble``: its declarations first.  A prefix that declares parts of its own
    (a dataset piece, a MIDI file read with parts) keeps them; a different ensemble asked for ``strict``ly
    is then an error (``auto`` is not strict)."""
    if not ensemble:
        return prefix
    header = [declaration(n, part) for n, part in enumerate(ensemble, start=1)]
    items = split_items(prefix) if prefix.strip() else []
    own = leading_declarations(items)
    if own:
        if own != header and strict:
            raise JobError("The prefix declares its own parts; clear the prefix or let it keep them.")
        return prefix
    return join_items(header + items)


def steering_kept(result: GenerationResult, original: Optional[str] = None,
                  run_dir: Optional[Path] = None) -> list[str]:
    """Per variation, each active constraint beside what the generated bars did (empty when unsteered);
    the rows go to ``result.steering_rows``.  An infill is measured over its selection (``original``: the
    text before, for keep rhythm).  With ``run_dir`` (a take, not an infill), the learned controls asked for
    are measured too, against the run's bins."""
    steering, controls = result.settings.steering, result.settings.controls
    bins = ControlBins.load(run_dir) if run_dir is not None and controls.active else None
    if not steering.active and bins is None:
        return []
    scale = steer_session.scale_for(steering, result.prefix) if steering.active else None
    span = getattr(result, "span", None)
    start, end = (span.onset, span.onset + span.gap) if span is not None else (parse_text(result.prefix).length, None)
    result.steering_rows = [
        steer_measure.report_rows(result.full_text(v.index), start, steering, scale, end, original)
        + (control_report.learned_rows(result.full_text(v.index), result.prefix, bins, controls) if bins else [])
        for v in result.variations]
    return ["; ".join(row.line() for row in rows) for rows in result.steering_rows]


def infill_for_run(
    generator: Generator,
    ref: checkpoints.CheckpointRef,
    text: str,
    span: Span,
    settings: Optional[GenerationSettings] = None,
    *,
    dataset: Optional[Path] = None,
    on_token: Optional[TokenFn] = None,
    on_progress: ProgressFn = no_progress,
    cancel: Optional[CancelToken] = None,
) -> InfillResult:
    """Load ``ref`` (only if it changed) and regenerate ``span`` of ``text``; memorized middles are looked up
    as in :func:`generate_for_run`."""
    generator.load(ref)
    index = _memorization_index(ref, dataset)
    result = infill(
        generator, text, span, settings, on_token=on_token, on_progress=on_progress, cancel=cancel, memorization=index
    )
    result.steering_kept = steering_kept(result, text)
    return result


def _memorization_index(ref: checkpoints.CheckpointRef, dataset: Optional[Path]) -> Optional[MemorizationIndex]:
    """Of ``dataset``, else of the run's training data; None when that is unknown."""
    trained_on = dataset or checkpoints.training_dataset(ref.run_dir)
    return MemorizationIndex.from_dataset(trained_on) if trained_on else None


def provenance(result: GenerationResult, variation: int) -> dict[str, Any]:
    """Model and checkpoint identity, seed, variation, prefix and the sampling settings of one variation;
    for an infill also the span and the suffix."""
    settings = {k: v for k, v in asdict(result.settings).items() if k not in ("seed", "steering", "controls")}
    settings["steering"] = result.settings.steering.describe()
    settings["controls"] = result.settings.controls.describe()
    out = {
        **result.checkpoint,
        "seed": result.seed,
        "variation": variation,
        "prefix": result.prefix,
        "ensemble": leading_declarations(split_items(result.prefix)),
        "settings": settings,
    }
    if isinstance(result, InfillResult) and result.span is not None:
        out.update(span=result.span.record(), suffix=result.suffix, sampled=result.sampled,
                   chosen=result.chosen[variation])
    if result.form is not None:
        out["form"] = result.form.as_dict()
    return out


def export_variation(result: GenerationResult, variation: int, path: Path,
                     beats: Optional[tuple[float, float]] = None) -> Path:
    """Write one variation (prefix included) as a MIDI file carrying its :func:`provenance`.

    ``beats``: only the items starting in [first, last) quarter notes (a selection dragged out), after the
    controls and marks in force there (tempo, instrument, meter...); provenance records the excerpt.
    """
    text, record = result.full_text(variation), provenance(result, variation)
    if beats is not None:
        text = excerpt(text, *beats)
        record["excerpt"] = {"beats": [float(beats[0]), float(beats[1])]}
    return export_midi(text, path, record)


def excerpt(text: str, first: float, last: float) -> str:
    """The items starting in [first, last) quarter notes, after the non-event items (controls, marks) before them."""
    span = locate_beats(text, first, last)
    items = split_items(text)
    kept = [item for item in items[: span.start] if ":" not in item or "=" in item]
    return join_items(kept + items[span.start : span.end])


@dataclass
class AttentionView:
    """What a page or summary shows: one label per row/column and the weights [layers, heads, N, N]."""

    pool: str  # tokens | notes
    labels: list[str]
    weights: np.ndarray
    title: str
    pooled: Optional[PooledAttention]  # for pool == "notes"


def attention_view(result: AttentionResult, pool: str) -> AttentionView:
    """The result per token, or pooled per note (see :func:`attention.pool_items`)."""
    pooled = pool_items(result.tokens, result.attention) if pool == "notes" else None
    labels, weights = (pooled.items, pooled.attention) if pooled else (result.tokens, result.attention)
    title = f"{result.checkpoint['run']} · {result.checkpoint['checkpoint']} · per {pool[:-1]}"
    return AttentionView(pool, labels, weights, title, pooled)


def planned_model(
    workspace, base: Optional[str], new_size: Optional[str] = None, resume_run: Optional[str] = None
) -> tuple[str, dict[str, int]]:
    """(label, hparams) of what a run would train: a stored model, GPT-2 before its download, a new model's preset,
    or the run being resumed.  A new model's vocabulary is not built yet: its preset's BPE size stands in."""
    if resume_run:
        return resume_run, tf_runtime.read_hparams(workspace.checkpoint / resume_run)
    if new_size:
        preset = models.PRESETS[new_size]
        hparams = dict(
            n_vocab=preset["vocab_size"], n_ctx=models.N_CTX, n_embd=preset["n_embd"], n_head=preset["n_head"],
            n_layer=preset["n_layer"],
        )
        return f"new {new_size} model ({memory.size_name(hparams)})", hparams
    if base in memory.GPT2_HPARAMS and not (workspace.models / base).is_dir():
        return base, memory.GPT2_HPARAMS[base]
    info = models.get_model(workspace, base or "")
    label = info.name if info.name in memory.GPT2_HPARAMS else f"{info.name} ({memory.size_name(info.hparams)})"
    return label, info.hparams


def plan_training(
    cfg: training.TrainConfig, label: str, hparams: dict[str, int], devices: list[memory.Device]
) -> memory.Plan:
    """The run's memory plan on the first of its devices (all of them hold a tower of the same size)."""
    chosen = plan_devices.pick(devices, list(cfg.devices))
    return memory.plan(
        label,
        hparams,
        cfg.batch_size,
        cfg.window,
        cfg.accumulate,
        chosen[0],
        max(1, len(cfg.devices)),
        mixed=cfg.mixed_precision,
    )


def apply_plan(cfg: training.TrainConfig, plan: memory.Plan) -> training.TrainConfig:
    """``cfg`` with the plan's proposal (micro-batch and accumulation, or a shorter window) applied."""
    if plan.fit_batch:
        return replace(cfg, batch_size=plan.fit_batch, accumulate=plan.fit_accumulate)
    if plan.fit_window:
        micro = plan.devices
        return replace(cfg, batch_size=micro, accumulate=max(1, plan.batch_size * plan.accumulate // micro),
                       window=plan.fit_window)
    return cfg
