"""Finetuning: our own loop built from gpt-2-simple's modules.

``gpt_2_simple.finetune`` only prints, cannot be cancelled and cannot run twice in one
process.  :func:`train` uses the same pieces (``model``, ``accumulate``, ``sample``, the
encoder) in a fresh graph per run, reports every step, validates, keeps the best checkpoint,
and saves in gpt-2-simple's layout so its ``load_gpt2``/``generate`` still work.
The settings and reports live in :mod:`training_types` (re-exported here), the data in :mod:`training_data`.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace
from pathlib import Path
from typing import Optional

import numpy as np

from musicgpt_gui.core.atomic_file import atomic_write_text
from musicgpt_gui.core.jobs import CancelToken, JobError, Progress, ProgressFn, no_progress
from musicgpt_gui.core.midi.midi_io import export_midi
from musicgpt_gui.core.model.controls import run_controls
from musicgpt_gui.core.model.plan import devices as plan_devices, towers
from musicgpt_gui.core.model.store import checkpoints, gpt2_backend, models, run_store, tf_runtime, vocab
from musicgpt_gui.core.model.train import fim, ngram, recipe, recovery, setup_cache, training_data
from musicgpt_gui.core.model.train.training_types import (
    MIN_WINDOW,
    TrainConfig,
    TrainProgress,
    TrainResult,
    check_settings,
    run_settings,
)
from musicgpt_gui.core.quality import report as quality

__all__ = ["MIN_WINDOW", "TrainConfig", "TrainProgress", "TrainResult", "train"]

AVG_DECAY = 0.99  # gpt-2-simple's moving average of the loss


def train(
    cfg: TrainConfig, *, on_progress: ProgressFn = no_progress, cancel: Optional[CancelToken] = None
) -> TrainResult:
    """Train ``cfg.steps`` steps (more, after a resume) and return what happened.

    Cancelling saves a checkpoint within one step and returns with ``cancelled=True``.
    Errors raise :class:`JobError` with a plain message; saved checkpoints are never lost.
    """
    cancel = cancel or CancelToken()
    check_settings(cfg)
    run_dir = _prepare_run_dir(cfg)
    encoder = vocab.load_encoder(run_dir)
    hparams = tf_runtime.read_hparams(run_dir)
    cache = setup_cache.SetupCache(cfg.workspace.setup_cache, cfg.dataset, run_dir)
    if cfg.controls:
        on_progress(Progress(0.0, "measuring the bars for the learned controls"))
    annotate = run_controls.prepare(cfg.controls, run_dir, cfg.dataset, encoder)  # None without --controls
    ready = training_data.set_up(cfg, encoder, hparams["n_ctx"], cache, annotate, run_controls.bins_key(run_dir),
                                 on_progress, cancel)
    data, window = ready.data, ready.window
    if cfg.transpose:
        on_progress(Progress(0.0, f"adding copies transposed by up to {cfg.transpose} semitones"))
        data.train = np.concatenate(
            [
                data.train,
                training_data.encode_pieces(
                    training_data.annotated(recipe.transposed_copies(data.train_texts, cfg.transpose), annotate),
                    encoder),
            ]
        )
    loop = _Loop(cfg, run_dir, encoder, hparams, data, window, on_progress, cancel)
    loop.yardstick, loop.references = ready.yardstick, ready.references
    result = loop.run()
    result.notes = ready.notes + result.notes
    return result


def _prepare_run_dir(cfg: TrainConfig) -> Path:
    """The run folder with the model's vocabulary and hparams; a clear message when it cannot be."""
    run_dir = cfg.workspace.checkpoint / cfg.run
    has_checkpoint = run_store.latest_prefix(run_dir) is not None
    if cfg.resume:
        if not has_checkpoint:
            raise JobError(f"There is no saved checkpoint in run '{cfg.run}' to resume; start it without resume.")
        for name in run_store.VOCAB_FILES:
            if not (run_dir / name).is_file():
                raise JobError(f"Run '{cfg.run}' lacks {name}; it cannot be resumed.")
        return run_dir
    if not cfg.base:
        raise JobError("Choose a base model to train (a downloaded, imported or new music model).")
    model = models.get_model(cfg.workspace, cfg.base)
    if has_checkpoint and not cfg.overwrite:
        raise JobError(f"Run '{cfg.run}' already has checkpoints; resume it, overwrite it, or pick another run name.")
    run_store.clear_run(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    run_store.copy_model_files(model.path, run_dir)
    return run_dir


class _Loop:
    """One run's graph, session and state; everything TF lives on the calling thread."""

    def __init__(self, cfg, run_dir, encoder, hparams, data, window, on_progress, cancel):
        self.cfg, self.run_dir, self.encoder, self.hparams = cfg, run_dir, encoder, hparams
        self.data, self.window, self.on_progress, self.cancel = data, window, on_progress, cancel
        self.tf = tf_runtime.tf()
        self.notes: list[str] = []
        chosen = plan_devices.pick(plan_devices.list_devices(), list(cfg.devices)) if cfg.devices else []
        self.towers = [d.name for d in chosen] if len(chosen) > 1 else []
        self.device = " + ".join(self.towers) if self.towers else tf_runtime.device_name()
        self.recoveries: list[recovery.Recovery] = []
        self.earlier_recoveries: list[dict] = []
        self.recovered: Optional[str] = None  # the latest recovery's message, in every report after it
        self.mixed = cfg.mixed_precision and bool(self.tf.config.list_logical_devices("GPU"))
        if cfg.mixed_precision and not self.mixed:
            self.notes.append("mixed precision is off on the CPU (it needs a GPU); trained in float32")
        self.session_start: Optional[tuple[int, int, float]] = None  # first step, last step, start time
        self.rng = np.random.default_rng(cfg.seed)
        self.samples: list[Path] = []
        self.yardstick: Optional[ngram.Yardstick] = None
        self.references: Optional[dict[str, dict]] = None  # the reference metrics set_up measured
        self.fim = fim.FimSampler(data.train, encoder, cfg.fim_rate) if cfg.fim_rate else None
        flags = (self.fim.item_cut, self.fim.bar_cut) if self.fim else None
        self.cutter = training_data.WindowCutter(data, encoder, window, cfg.windows, flags)

    def run(self) -> TrainResult:
        """Train; on out-of-memory, go on from the last save with half the micro-batch (train/recovery.py)."""
        while True:
            try:
                return self._session()
            except recovery.OutOfMemory as oom:
                self._recover(oom)

    def _recover(self, oom: recovery.OutOfMemory) -> None:
        cfg = self.cfg
        smaller = recovery.halved(cfg.batch_size, cfg.accumulate, max(1, len(self.towers)))
        if smaller is None or len(self.recoveries) >= recovery.MAX_RECOVERIES:
            raise JobError(recovery.stop_message(cfg.batch_size, self.window)) from None
        saved = run_store.latest_step(self.run_dir)
        event = recovery.Recovery(oom.step, saved or 0, *smaller)
        self.recoveries.append(event)
        message = self.recovered = event.message(cfg.batch_size)
        self.notes.append(message)
        self.on_progress(Progress(self.clock.fraction(oom.step - 1), message, event))
        # From here on the run goes on from its own save (if any), with the smaller micro-batch.
        self.cfg = replace(cfg, batch_size=smaller[0], accumulate=smaller[1], resume=cfg.resume or saved is not None)
        if saved is not None:  # history.json says so at once, even if the run fails again before its next save
            recovery.record(self.run_dir, saved, self.earlier_recoveries + [vars(r) for r in self.recoveries])

    def _session(self) -> TrainResult:
        tf = self.tf
        graph = tf.Graph()
        with graph.as_default():
            if self.cfg.seed is not None:
                tf.compat.v1.set_random_seed(self.cfg.seed)
            self._build()
            session = tf_runtime.new_session(
                graph,
                xla=self.cfg.xla,
                threads=self.cfg.threads,
                soft_placement=bool(self.towers),
                mixed_precision=self.mixed,
            )
            with session as sess:
                self.sess = sess
                return self._train()

    def _build(self) -> None:
        model = gpt2_backend.model()
        tf, cfg = self.tf, self.cfg
        hp = tf_runtime.hparams_object(self.hparams)
        # Static shapes let TF fold the causal mask and positions into constants (gpt-2-simple
        # feeds [batch, None] and rebuilds them every step); validation gets its own view.
        self.context = tf.compat.v1.placeholder(tf.int32, [cfg.batch_size, self.window])
        if self.towers:
            self.loss = towers.tower_loss(tf, model.model, hp, self.context, self.towers)
        else:
            self.loss = towers.lm_loss(tf, model.model(hparams=hp, X=self.context)["logits"], self.context)
        self.model_vars = model_vars = tf.compat.v1.global_variables("model")  # before the optimizer's slots
        if cfg.validate_every and len(self.data.valid) > 1:
            self.valid_context = tf.compat.v1.placeholder(tf.int32, [None, None])
            logits = model.model(hparams=hp, X=self.valid_context, reuse=True)["logits"]
            self.valid_loss = towers.lm_loss(tf, logits, self.valid_context)
        train_vars = [v for v in model_vars if v.trainable]
        self.lr = tf.compat.v1.placeholder(tf.float32, [])
        adam = tf.compat.v1.train.AdamOptimizer(learning_rate=self.lr)
        if self.mixed:  # float16 maths by the session's rewrite; a dynamic loss scale keeps small gradients
            adam = tf.compat.v1.mixed_precision.MixedPrecisionLossScaleOptimizer(adam, loss_scale="dynamic")
        adam = towers.ColocatedOptimizer(adam) if self.towers else adam
        if cfg.accumulate > 1:
            opt = gpt2_backend.accumulating_optimizer(opt=adam, var_list=train_vars)
            self.opt_reset, self.opt_compute, self.opt_apply = (
                opt.reset(),
                opt.compute_gradients(self.loss),
                opt.apply_gradients(),
            )
        else:
            self.opt_apply = adam.minimize(self.loss, var_list=train_vars)
        self.sampler = None
        if cfg.sample_every:
            self.sampler = gpt2_backend.sample_sequence(
                hparams=hp,
                length=self._sample_length(),
                start_token=self.encoder.eot,
                batch_size=1,
                temperature=1.0,
                top_k=40,
            )
        self.saver = tf.compat.v1.train.Saver(var_list=model_vars, max_to_keep=None, save_relative_paths=True)
        self.init = tf.compat.v1.global_variables_initializer()

    def _restore(self) -> tuple[int, run_store.History]:
        cfg = self.cfg
        if cfg.resume:
            prefix, step = run_store.latest_prefix(self.run_dir), run_store.latest_step(self.run_dir) or 0
            history = run_store.History.load(self.run_dir).until(step)
        else:
            prefix = run_store.latest_prefix(models.get_model(cfg.workspace, cfg.base).path)
            step, history = 0, run_store.History()
        checkpoints.load_variables(self.sess, self.saver, self.model_vars, prefix)
        if self.session_start is None:  # recoveries from earlier sessions of a resumed run
            self.earlier_recoveries = list(history.recoveries)
        history.recoveries = self.earlier_recoveries + [vars(r) for r in self.recoveries]
        earlier = int(history.settings.get(checkpoints.CONTEXT_SETTING) or 0)
        history.settings = run_settings(
            cfg,
            base=cfg.base or history.settings.get("base"),
            vocab=self.encoder.kind,
            window=self.window,
            valid_tokens_per_element=self.data.valid_tokens_per_element,
            devices=list(self.towers),
            context=checkpoints.trained_positions(self.hparams, self.window, earlier),
        )
        if self.yardstick is not None:
            history.ngram = self.yardstick.as_dict()
        return step, history

    def _batch(self) -> np.ndarray:
        """``batch_size`` windows from random starts, cut by the run's layout; FIM rearranges what follows
        a pinned header (the header stays first, as a prompt's declarations do at infill)."""
        tokens, n = self.data.train, self.window
        starts = self.rng.integers(0, len(tokens) - n + 1, size=self.cfg.batch_size)
        rows = []
        for s in starts:
            header, begin = self.cutter.cut(int(s))
            body = tokens[begin : begin + n - len(header)]
            if self.fim:
                body = self.fim.transform(body[None], np.asarray([begin]), self.rng)[0]
            rows.append(np.concatenate([header, body]))
        return np.stack(rows)

    def _train(self) -> TrainResult:
        cfg = self.cfg
        self.sess.run(self.init)
        step, history = self._restore()
        if self.session_start is None:  # a recovery goes back to a save but keeps the session's goal and clock
            total = step + (cfg.steps if cfg.minutes is None else 2**62)  # a budget replaces steps
            self.session_start = (step, total, time.monotonic())
        start, total, began = self.session_start
        result = TrainResult(cfg.run, self.run_dir, step, step - start, self.device, self.window)
        if history.best:
            result.best_val_loss, result.best_step = history.best["loss"], int(history.best["step"])
        result.ngram = history.ngram
        avg = _resumed_average(history)
        stale = 0
        train_time, tokens_done = 0.0, 0
        tokens_per_step = cfg.batch_size * self.window * cfg.accumulate
        if not self.recoveries and self.references is not None:
            quality.store_references(self.run_dir, self.references)
        self.clock = recipe.SessionClock(began, cfg.minutes, start, total)
        self._report(step, start, total, began, train_time, tokens_done, None, None, "starting")
        while step < total:
            t0 = time.monotonic()
            lr = recipe.learning_rate(
                cfg.learning_rate, cfg.schedule, cfg.warmup_steps, step - start, self.clock.progress(step)
            )
            loss = self._step(lr, step + 1)
            train_time += time.monotonic() - t0
            tokens_done += tokens_per_step
            if not math.isfinite(loss):
                saved = run_store.latest_step(self.run_dir)
                kept = f"The last saved checkpoint (step {saved}) is kept" if saved else "Nothing was saved in this run"
                raise JobError(
                    f"Training diverged: the loss became {loss} at step {step + 1}. {kept}; lower the learning rate "
                    f"(now {cfg.learning_rate:g}) and resume or start again."
                )
            step += 1
            avg = (avg[0] * AVG_DECAY + loss, avg[1] * AVG_DECAY + 1.0)
            result.loss, result.avg_loss, result.step, result.steps_done = loss, avg[0] / avg[1], step, step - start
            history.train.append({"step": step, "loss": loss, "avg_loss": result.avg_loss})
            result.stopped_on_time = self.clock.time_up()
            due = bool(cfg.validate_every) and (step % cfg.validate_every == 0 or result.stopped_on_time)
            if due and len(self.data.valid) > 1:  # a run stopped by its budget ends validated
                stale = self._validate(step, history, result, stale)
                if cfg.patience and stale >= cfg.patience:
                    result.stopped_early = True
            if cfg.sample_every and step % cfg.sample_every == 0:
                self._sample(step)
            cancelled = self.cancel.cancelled
            last = cancelled or result.stopped_early or result.stopped_on_time or step == total
            if last or (cfg.save_every and step % cfg.save_every == 0):
                result.checkpoint = checkpoints.save_latest(self.sess, self.saver, self.run_dir, step, history)
            self._report(step, start, total, began, train_time, tokens_done, result, history, "training")
            if cancelled:
                result.cancelled = True
                break
            if result.stopped_on_time:
                self.notes.append(f"stopped at step {step}: the {cfg.minutes:g}-minute budget is used up")
                break
            if result.stopped_early:
                self.notes.append(f"stopped early at step {step}: no validation improvement in {cfg.patience} checks")
                break
        result.tokens_per_s = tokens_done / train_time if train_time else 0.0
        hint = recipe.overfit_hint(result.best_step, step, cfg.transpose)
        self.notes += [hint] if hint else []
        result.samples, result.notes = self.samples, self.notes
        result.batch_size, result.accumulate = cfg.batch_size, cfg.accumulate
        result.recoveries = [vars(r) for r in self.recoveries]
        return result

    def _step(self, lr: float, step: int) -> float:
        tf, feed = self.tf, self.context
        try:
            recovery.maybe_inject(tf, step, self.cfg.batch_size)
            if self.cfg.accumulate > 1:
                self.sess.run(self.opt_reset)
                for _ in range(self.cfg.accumulate):
                    self.sess.run(self.opt_compute, feed_dict={feed: self._batch()})
                return float(self.sess.run(self.opt_apply, feed_dict={self.lr: lr}))
            _, loss = self.sess.run((self.opt_apply, self.loss), feed_dict={feed: self._batch(), self.lr: lr})
            return float(loss)
        except tf.errors.ResourceExhaustedError:
            raise recovery.OutOfMemory(step, "training") from None

    def _validate(self, step: int, history: run_store.History, result: TrainResult, stale: int) -> int:
        """Mean loss over fixed validation windows; saves 'best' on improvement; returns stale count."""
        loss = self.validation_loss(step)
        bits = vocab.bits_per_element(loss, self.data.valid_tokens, self.data.valid_elements)
        history.valid.append({"step": step, "loss": loss, "bits_per_element": bits})
        if result.best_val_loss is None or loss < result.best_val_loss:
            checkpoints.save_best(self.sess, self.saver, self.run_dir, step)
            history.best = {"step": step, "loss": loss}
            result.best_val_loss, result.best_step, result.best_bits_per_element = loss, step, bits
            return 0
        return stale + 1

    def validation_loss(self, step: int = 0) -> float:
        tokens = self.data.valid
        n = min(self.window, len(tokens))
        starts = training_data.valid_starts(len(tokens), self.window)
        total = 0.0
        for i in range(0, len(starts), self.cfg.batch_size):
            batch = np.stack([tokens[s : s + n] for s in starts[i : i + self.cfg.batch_size]])
            try:
                total += float(self.sess.run(self.valid_loss, feed_dict={self.valid_context: batch})) * len(batch)
            except self.tf.errors.ResourceExhaustedError:
                raise recovery.OutOfMemory(step, "validation") from None
        return total / len(starts)

    def _sample(self, step: int) -> None:
        text = self.encoder.decode(self.sess.run(self.sampler)[0][1:])
        text = text.split(vocab.EOT)[0].strip()
        path = run_store.sample_path(self.run_dir, step, ".txt")
        atomic_write_text(path, text + "\n")
        self.samples.append(path)
        quality.record_sample(self.run_dir, step, text)
        try:
            midi = run_store.sample_path(self.run_dir, step, ".mid")
            self.samples.append(export_midi(text, midi, {"run": self.cfg.run, "step": step}))
        except JobError as exc:
            self.notes.append(f"sample at step {step} kept as text only: {exc}")

    def _sample_length(self) -> int:
        return training_data.sample_length(self.cfg, self.window)

    def _report(self, step, start, total, began, train_time, tokens_done, result, history, phase) -> None:
        rate = tokens_done / train_time if train_time else 0.0
        total = self.clock.total_estimate(step, train_time)
        eta = self.clock.eta(step, train_time)
        info = TrainProgress(
            step=step,
            total=total,
            phase=phase,
            device=self.device,
            window=self.window,
            elapsed=time.monotonic() - began,
            eta=eta,
            tokens_per_s=rate,
            minutes=self.cfg.minutes,
            tokens_per_element=self.data.valid_tokens_per_element,
            batch_size=self.cfg.batch_size,
            accumulate=self.cfg.accumulate,
            recovered=self.recovered,
        )
        if self.yardstick is not None:
            info.ngram_bits_per_element, info.ngram_order = self.yardstick.bits_per_element, self.yardstick.order
        message = f"step {step}/{total}"
        if result is not None:
            info.loss, info.avg_loss, info.best_val_loss = result.loss, result.avg_loss, result.best_val_loss
            message += f" loss {result.loss:.3f} avg {result.avg_loss:.3f} {rate:.0f} tok/s"
        if history is not None and history.valid:
            info.val_loss, info.bits_per_element = history.valid[-1]["loss"], history.valid[-1]["bits_per_element"]
        self.on_progress(Progress(self.clock.fraction(step), message, info))


def _resumed_average(history: run_store.History) -> tuple[float, float]:
    """gpt-2-simple's moving average (weighted sum, weight) as it stood at the last saved step."""
    if not history.train:
        return 0.0, 0.0
    weight = (1 - AVG_DECAY ** len(history.train)) / (1 - AVG_DECAY)
    return history.train[-1]["avg_loss"] * weight, weight

