"""What a training run takes and gives: its settings (and their checks), its result and each progress report.

Kept apart from the loop so the GUI, the CLI and the benches can build a run's settings and read
its reports without reading the loop; :mod:`training` re-exports all three.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from musicgpt_gui.core.jobs import JobError
from musicgpt_gui.core.model.train import fim, recipe
from musicgpt_gui.core.model.store import checkpoints, models
from musicgpt_gui.core.workspace import Workspace

MIN_WINDOW = 16  # tokens; a shorter dataset cannot teach anything


WINDOW_LAYOUTS = ("pinned", "plain")


@dataclass
class TrainConfig:
    """Everything one training run needs; intervals of 0 switch that feature off."""

    workspace: Workspace
    dataset: Path
    base: Optional[str] = None  # a model in the store; not needed to resume
    run: str = "run1"
    steps: int = 1000
    batch_size: int = 1
    accumulate: int = 1
    learning_rate: float = 1e-4
    seed: Optional[int] = 0
    window: int = 1024  # tokens per training example (gpt-2-simple uses 1024)
    save_every: int = 100
    sample_every: int = 100
    sample_length: int = 200
    validate_every: int = 50
    patience: int = 0  # validations without improvement before stopping; 0 = never stop early
    resume: bool = False
    overwrite: bool = False
    xla: bool = False
    threads: int = 0
    minutes: Optional[float] = None  # a time budget instead of ``steps``
    warmup_steps: int = 0
    schedule: str = "constant"  # or "cosine" (see core/model/recipe)
    transpose: int = 0  # train also on copies shifted by -N..+N semitones
    yardstick: bool = True  # fit the n-gram yardstick (and the reference metrics) first
    fim_rate: float = 0.0  # share of training windows rearranged for fill-in-the-middle (core/model/fim)
    windows: str = "pinned"  # pinned: each window starts with its piece's part declarations; plain: a stream slice
    devices: tuple[str, ...] = ()  # train data-parallel over these (GPU:0, GPU:1...); empty: TensorFlow's choice
    mixed_precision: bool = False  # float16 maths with a dynamic loss scale, on a GPU only (off on the CPU)
    controls: bool = False  # learned controls: bar attributes as control items (core/model/controls)


@dataclass
class TrainResult:
    run: str
    run_dir: Path
    step: int  # the step counter after this session (continues across resumes)
    steps_done: int  # steps trained in this session
    device: str
    window: int
    cancelled: bool = False
    stopped_early: bool = False
    loss: Optional[float] = None
    avg_loss: Optional[float] = None
    best_val_loss: Optional[float] = None
    best_step: Optional[int] = None
    tokens_per_s: float = 0.0
    checkpoint: str = ""
    samples: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    best_bits_per_element: Optional[float] = None
    ngram: Optional[dict] = None  # the yardstick's order and bits (as in history.json)
    stopped_on_time: bool = False
    batch_size: int = 0  # the micro-batch and accumulation at the end (smaller after an out-of-memory recovery)
    accumulate: int = 0
    recoveries: list[dict] = field(default_factory=list)  # as history.json records them


@dataclass
class TrainProgress:
    """What each training report carries (``Progress.info``); the loss fields are None before the first step."""

    step: int
    total: int
    phase: str  # starting | training
    device: str
    window: int
    elapsed: float
    eta: Optional[float]
    tokens_per_s: float
    minutes: Optional[float] = None  # the time budget, when training for N minutes instead of N steps
    tokens_per_element: Optional[float] = None
    ngram_bits_per_element: Optional[float] = None  # the yardstick, when it was fitted
    ngram_order: Optional[int] = None
    loss: Optional[float] = None
    avg_loss: Optional[float] = None
    best_val_loss: Optional[float] = None
    val_loss: Optional[float] = None
    bits_per_element: Optional[float] = None
    batch_size: int = 0  # the micro-batch and accumulation now (they change after an out-of-memory recovery)
    accumulate: int = 0
    recovered: Optional[str] = None  # what the latest out-of-memory recovery did, in words


def check_settings(cfg: TrainConfig) -> None:
    """Refuse settings no run can use, with a message saying which and why."""
    if cfg.minutes is not None and not cfg.minutes > 0:
        raise JobError(f"The time budget must be a positive number of minutes, not {cfg.minutes}.")
    if cfg.schedule not in recipe.SCHEDULES:
        raise JobError(
            f"Unknown learning-rate schedule '{cfg.schedule}'; choose one of: {', '.join(recipe.SCHEDULES)}."
        )
    if not 0 <= cfg.transpose <= 12 or cfg.warmup_steps < 0:
        raise JobError("Transposition must be 0 to 12 semitones and warmup 0 or more steps.")
    for name in ("steps", "batch_size", "accumulate"):
        if getattr(cfg, name) < 1:
            raise JobError(f"{name.replace('_', ' ')} must be at least 1, not {getattr(cfg, name)}.")
    if not cfg.learning_rate > 0:
        raise JobError(f"The learning rate must be positive, not {cfg.learning_rate}.")
    for name in ("save_every", "sample_every", "validate_every", "patience", "sample_length"):
        if getattr(cfg, name) < 0:
            raise JobError(f"{name.replace('_', ' ')} must be 0 (off) or more, not {getattr(cfg, name)}.")
    if cfg.window < MIN_WINDOW:
        raise JobError(f"The training window must be at least {MIN_WINDOW} tokens, not {cfg.window}.")
    if cfg.seed is not None and not 0 <= cfg.seed < 2**32:
        raise JobError(f"The seed must be between 0 and {2**32 - 1}, not {cfg.seed}.")
    if cfg.devices and cfg.batch_size % len(cfg.devices):
        raise JobError(
            f"The batch size ({cfg.batch_size}) must split evenly over the {len(cfg.devices)} chosen devices."
        )
    fim.check_rate(cfg.fim_rate)
    if cfg.windows not in WINDOW_LAYOUTS:
        raise JobError(f"Unknown window layout '{cfg.windows}'; choose one of: {', '.join(WINDOW_LAYOUTS)}.")
    models.check_name(cfg.run)


def run_settings(cfg: TrainConfig, *, base, vocab, window, valid_tokens_per_element, devices, context) -> dict:
    """The settings history.json records for a run (the GUI, resume and inference read them)."""
    return dict(
        base=base,
        dataset=str(Path(cfg.dataset).resolve()),
        vocab=vocab,
        window=window,
        batch_size=cfg.batch_size,
        accumulate=cfg.accumulate,
        learning_rate=cfg.learning_rate,
        valid_tokens_per_element=valid_tokens_per_element,
        minutes=cfg.minutes,
        warmup_steps=cfg.warmup_steps,
        schedule=cfg.schedule,
        transpose=cfg.transpose,
        fim_rate=cfg.fim_rate,
        windows=cfg.windows,
        devices=devices,
        controls=cfg.controls,
        **{checkpoints.CONTEXT_SETTING: context},
    )
