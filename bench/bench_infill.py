"""Benchmark: what fill-in-the-middle training costs left to right, and what the suffix buys.

One fresh music model (one set of initial weights) is trained twice on the same Bach chorales
for the same steps and seed: with ``fim_rate`` 0 and with ``--fim`` RATE.  Then, on the held-out
validation pieces:

* left-to-right validation bits per element (the training loop's own validation);
* bits per element of held-out middle spans (``--bars`` bars, cut on bar lines): given both sides
  (in PSM and in SPM order, see core/model/train/fim.py) against the prefix alone (plain continuation),
  with the same prefix and suffix tokens, for both models.

The machine has 2 CPU cores shared with other engineers: each model trains a few minutes.
``--run DIR`` scores an already trained FIM run instead (its best checkpoint, its dataset's validation
pieces and its training window), for example the (a) run kept by ``bench_quality.py --workspace``.

    .venv/bin/python bench/bench_infill.py [--pieces 120] [--steps 900] [--fim 0.5] [--workspace DIR]
                                           [--out bench/results/infill.txt]
    .venv/bin/python bench/bench_infill.py --run WS/checkpoint/ours [--out bench/results/infill-recipe.txt]
"""
from __future__ import annotations

import argparse
import math
import platform
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

CONTEXT_TOKENS = 96  # tokens of prefix and of suffix around each middle span at most
# ... and all of it within the training window: positions past it were never trained.


def build(root: Path, pieces: int, size: str):
    from musicgpt_gui.core.dataset.importer import ImportOptions, import_dataset
    from musicgpt_gui.core.model.store import models
    from musicgpt_gui.core.workspace import resolve_workspace

    workspace = resolve_workspace(root)
    dataset = workspace.datasets / "bach"
    if not dataset.is_dir():
        import_dataset(["corpus:bach"], ImportOptions(limit=pieces, workers=1), dataset)
    name = f"bench-{size}"
    if (workspace.models / name).is_dir():
        return workspace, dataset, models.get_model(workspace, name)
    return workspace, dataset, models.create_music_model(workspace, dataset, size=size, vocab_kind="atomic", name=name)


def train_run(workspace, dataset, model, run: str, fim_rate: float, args) -> tuple[float, dict]:
    from musicgpt_gui.core.model.store import run_store
    from musicgpt_gui.core.model.train import training

    cfg = training.TrainConfig(
        workspace=workspace, dataset=dataset, base=model.name, run=run, steps=args.steps, batch_size=args.batch_size,
        window=args.window, learning_rate=args.learning_rate, seed=0, save_every=0, sample_every=0,
        validate_every=args.steps, fim_rate=fim_rate,
    )
    began = time.monotonic()
    if run_store.latest_step(workspace.checkpoint / run) != args.steps:
        training.train(cfg)
    else:
        began = None
    history = run_store.History.load(workspace.checkpoint / run)
    return (time.monotonic() - began if began else 0.0), history.valid[-1]


def middle_spans(texts: list[str], bars: int, rng: np.random.Generator, per_piece: int):
    """(prefix, middle, suffix) item lists: ``bars`` bars cut on bar lines, inside each validation piece."""
    from musicgpt_gui.core.model.train import fim
    from musicgpt_gui.core.music.notation import split_items

    spans = []
    for text in texts:
        items = split_items(text)
        cuts = sorted(fim.bar_cuts(items))
        if len(cuts) <= bars + 1:
            continue
        for first in rng.choice(len(cuts) - bars, size=min(per_piece, len(cuts) - bars), replace=False):
            a, b = cuts[first], cuts[first + bars]
            spans.append((items[:a], items[a:b], items[b:]))
    return spans


class Scorer:
    """Log-probabilities of every next token under one checkpoint (a warm graph)."""

    def __init__(self, run_dir: Path, which: str = "latest") -> None:
        from musicgpt_gui.core.model.store import checkpoints
        from musicgpt_gui.core.model.store.warm_model import WarmModel
        from musicgpt_gui.core.model.store import gpt2_backend, tf_runtime

        class _Warm(WarmModel):
            def _build_graph(self):
                tf = tf_runtime.tf()
                x = tf.compat.v1.placeholder(tf.int32, [1, None])
                logits = gpt2_backend.model().model(hparams=self.hparams, X=x)["logits"]
                return [tf.nn.log_softmax(logits)], [x]

        self.model = _Warm(checkpoints.resolve_checkpoint(run_dir, which))
        self.encoder = self.model.encoder

    def nll(self, context: list[int], target: list[int], bounded: bool = False) -> float:
        """Nats of ``target`` following ``context``; ``bounded``: as a middle chosen in beats is sampled,
        with no special token (core/model/sample/infill.py), i.e. renormalised over the other tokens."""
        from musicgpt_gui.core.jobs import no_progress

        ids = np.array([context + target], dtype=np.int32)
        with self.model._lock:
            logp = self.model._ready(no_progress)(ids)[0][0]
        rows = np.arange(len(context) - 1, len(context) + len(target) - 1)
        nats = -logp[rows, ids[0, len(context):]]
        if bounded:
            held_back = sorted(self.encoder.specials.values())
            nats += np.log1p(-np.exp(logp[rows][:, held_back]).sum(axis=1))
        return float(nats.sum())


def encode_span(encoder, prefix: list[str], middle: list[str], suffix: list[str], window: int):
    """Token ids as in the training stream (each item's separator ends it, the next item brings its space),
    prefix and suffix cut alike so that sentinels, both sides and the middle fit in ``window`` tokens."""
    from musicgpt_gui.core.music.notation import join_items

    pre = encoder.encode(join_items(prefix) + ",")
    mid = encoder.encode(" " + join_items(middle) + ",")
    suf = encoder.encode(" " + join_items(suffix)) + [encoder.eot]
    side = max(1, min(CONTEXT_TOKENS, (window - len(vocab_sentinels()) - len(mid)) // 2))
    return pre[-side:], mid, suf[:side]


def vocab_sentinels() -> tuple[str, ...]:
    from musicgpt_gui.core.model.store import vocab

    return vocab.FIM_TOKENS


def end_bits(scorer: Scorer, spans, window: int, other_suffix: bool) -> float:
    """Mean bits of <|fim_end|> right after each true middle (SPM): where the suffix says the middle stops."""
    from musicgpt_gui.core.model.train import fim
    from musicgpt_gui.core.model.store import vocab

    enc = scorer.encoder
    sentinels = [enc.specials[t] for t in vocab.FIM_TOKENS]
    total = 0.0
    for k, (prefix, middle, suffix) in enumerate(spans):
        if other_suffix:
            suffix = spans[(k + len(spans) // 2) % len(spans)][2]
        pre, mid, suf = encode_span(enc, prefix, middle, suffix, window)
        total += scorer.nll(fim.arrange("spm", sentinels, pre, suf) + mid, [sentinels[3]])
    return total / len(spans) / math.log(2)


def span_nats(scorer: Scorer, spans, order: str, window: int, other_suffix: bool = False,
              bounded: bool = False) -> np.ndarray:
    """Nats of each middle; ``order`` 'prefix' is plain continuation, else a FIM order.

    ``other_suffix`` gives each middle the suffix of a span from another piece: if the model reads
    the suffix, the true one must score better.  ``bounded``: no special tokens, as a span chosen in
    beats is sampled (and the same for the prefix alone, whose <|endoftext|> goes too).
    """
    from musicgpt_gui.core.model.train import fim
    from musicgpt_gui.core.model.store import vocab

    enc = scorer.encoder
    nats = []
    for k, (prefix, middle, suffix) in enumerate(spans):
        if other_suffix:
            suffix = spans[(k + len(spans) // 2) % len(spans)][2]
        pre, mid, suf = encode_span(enc, prefix, middle, suffix, window)
        if order == "prefix":
            context = pre  # a window that starts inside a piece, as in training
        else:
            context = fim.arrange(order, [enc.specials[t] for t in vocab.FIM_TOKENS], pre, suf)
        nats.append(scorer.nll(context, mid, bounded))
    return np.array(nats)


def span_elements(spans) -> np.ndarray:
    from musicgpt_gui.core.model.store import vocab

    return np.array([vocab.count_elements(", ".join(middle)) for _, middle, _ in spans])


def score(scorer: Scorer, spans, order: str, window: int, other_suffix: bool = False, bounded: bool = False) -> float:
    """Bits per element of the middles (see :func:`span_nats`)."""
    nats = span_nats(scorer, spans, order, window, other_suffix, bounded)
    return float(nats.sum() / span_elements(spans).sum() / math.log(2))


def ratio_interval(numerator: np.ndarray, denominator: np.ndarray, draws: int = 2000) -> tuple[float, float]:
    """95% interval of sum(numerator) / sum(denominator) over spans drawn again with replacement (paired)."""
    rng = np.random.default_rng(0)
    picks = rng.integers(0, len(numerator), size=(draws, len(numerator)))
    ratios = numerator[picks].sum(axis=1) / denominator[picks].sum(axis=1)
    low, high = np.percentile(ratios, [2.5, 97.5])
    return float(low), float(high)


def score_run(run_dir: Path, bars: int) -> list[str]:
    """The FIM model's row of the table for one trained run, read at its best checkpoint."""
    from musicgpt_gui.core.dataset import dataset_files
    from musicgpt_gui.core.model.store import checkpoints, run_store

    history = run_store.History.load(run_dir)
    dataset, window = checkpoints.training_dataset(run_dir), int(history.settings["window"])
    which = "best" if (run_dir / "best").is_dir() else "latest"
    valid = dataset_files.load_split(dataset, dataset_files.VALID)
    scorer = Scorer(run_dir, which)
    spans = middle_spans(valid, bars, np.random.default_rng(0), per_piece=4)
    best = min(history.valid, key=lambda v: v["loss"])
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"bench_infill --run {run_dir.name} {now}; {platform.machine()}, Python {platform.python_version()}",
        f"run: {run_dir.name} ({history.settings.get('base')}), FIM {history.settings.get('fim_rate')}, "
        f"{window}-token windows, {which} checkpoint (step {best['step'] if which == 'best' else 'last'}); "
        f"dataset {dataset.name}, {len(valid)} held-out pieces",
        f"held-out middle spans: {len(spans)} spans of {bars} bars ({sum(len(m) for _, m, _ in spans)} items), "
        f"prefix and suffix cut alike so that both, the middle and the sentinels fit the {window}-token window "
        f"(at most {CONTEXT_TOKENS} tokens each)",
        "",
        f"L2R validation bits per element: {best['bits_per_element']:.3f}",
        "",
        "middle spans, bits per element; 'free': the model may end the middle (spans chosen in items), "
        "'in beats': no special token (spans chosen in beats, as the piano roll's selection is)",
        f"{'':10} {'middle | prefix':>16} {'| both, PSM':>11} {'| both, SPM':>11} {'| SPM, other suffix':>19}",
    ]
    table, bits = {}, span_elements(spans).sum() * math.log(2)
    for label, bounded in (("free", False), ("in beats", True)):
        nats = {order: span_nats(scorer, spans, order, window, bounded=bounded) for order in ("prefix", "psm", "spm")}
        nats["other"] = span_nats(scorer, spans, "spm", window, other_suffix=True, bounded=bounded)
        table[label] = nats
        alone, psm, spm, other = (nats[k].sum() / bits for k in ("prefix", "psm", "spm", "other"))
        lines.append(f"{label:10} {alone:16.3f} {psm:11.3f} {spm:11.3f} {other:19.3f}")
    for label, nats in table.items():
        lines.append("")
        for order in ("psm", "spm"):
            both, alone = nats[order], nats["prefix"]
            low, high = ratio_interval(both, alone)
            lines.append(f"{label}: both sides ({order.upper()}) vs prefix alone: {both.sum() / alone.sum():.3f}x the "
                         f"bits per element ({(both.sum() - alone.sum()) / bits:+.3f}; 95% interval over spans "
                         f"{low:.3f}x-{high:.3f}x)")
        low, high = ratio_interval(nats["spm"], nats["other"])
        lines.append(f"{label}: true vs another piece's suffix (SPM): {nats['spm'].sum() / nats['other'].sum():.3f}x "
                     f"the bits per element ({(nats['spm'].sum() - nats['other'].sum()) / bits:+.3f}; "
                     f"{low:.3f}x-{high:.3f}x)")
    lines.append("")
    true_end, other_end = (end_bits(scorer, spans, window, o) for o in (False, True))
    lines.append(f"bits of <|fim_end|> after the true middle (SPM): {true_end:.2f} with its suffix, {other_end:.2f} "
                 "with another piece's")
    for line in lines:
        print(line, flush=True)
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pieces", type=int, default=120, help="Bach chorales to import")
    parser.add_argument("--size", default="tiny")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--window", type=int, default=256)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--fim", type=float, default=0.5)
    parser.add_argument("--bars", type=int, default=2, help="bars per held-out middle span")
    parser.add_argument("--workspace", type=Path, help="keep the workspace here; reuse its runs if trained")
    parser.add_argument("--run", type=Path, help="score this trained FIM run folder instead of training two")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.run:
        lines = score_run(args.run, args.bars)
        if args.out:
            args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return 0

    from musicgpt_gui.core.dataset import dataset_files

    lines = []

    def say(line: str) -> None:
        print(line, flush=True)
        lines.append(line)

    with tempfile.TemporaryDirectory() as tmp:
        began = time.monotonic()
        workspace, dataset, model = build(args.workspace or Path(tmp), args.pieces, args.size)
        valid = dataset_files.load_split(dataset, dataset_files.VALID)
        train_count = len(dataset_files.load_split(dataset, dataset_files.TRAIN))
        now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        say(f"bench_infill {now}; {platform.machine()}, 2 CPU cores shared with other engineers (a few minutes "
            f"per model), Python {platform.python_version()}")
        say(f"data: corpus:bach, {train_count} chorales to train, {len(valid)} held out "
            f"(import {time.monotonic() - began:.0f} s)")
        say(f"model: {args.size} ({model.summary}), same initial weights for both runs; {args.steps} steps, batch "
            f"{args.batch_size}, {args.window}-token windows, learning rate {args.learning_rate:g}, seed 0")
        runs = {}
        for name, rate in (("no FIM", 0.0), (f"FIM {args.fim:g}", args.fim)):
            seconds, last = train_run(workspace, dataset, model, f"fim-{rate:g}-{args.steps}", rate, args)
            runs[name] = (Scorer(workspace.checkpoint / f"fim-{rate:g}-{args.steps}"), last)
            say(f"trained '{name}' in {seconds:.0f} s" if seconds else f"reused the trained '{name}'")
        spans = middle_spans(valid, args.bars, np.random.default_rng(0), per_piece=4)
        middle_elements = sum(len(m) for _, m, _ in spans)
        say(f"held-out middle spans: {len(spans)} spans of {args.bars} bars ({middle_elements} items), "
            f"up to {CONTEXT_TOKENS} tokens of prefix and as many of suffix, all within the {args.window}-token "
            "training window")
        say("")
        say("bits per element (lower is better); middle spans given the prefix alone, or both sides in an order")
        say("(the last column: SPM with the suffix of another piece's span, to see whether the model reads it)")
        say(f"{'model':<10} {'L2R validation':>15} {'middle | prefix':>16} {'| both, PSM':>11} {'| both, SPM':>11}"
            f" {'| SPM, other suffix':>19}")
        table = {}
        for name, (scorer, last) in runs.items():
            fim_model = name != "no FIM"
            row = [last["bits_per_element"], score(scorer, spans, "prefix", args.window)]
            row += [score(scorer, spans, order, args.window) if fim_model else math.nan for order in ("psm", "spm")]
            row.append(score(scorer, spans, "spm", args.window, other_suffix=True) if fim_model else math.nan)
            table[name] = row
            cells = [f"{v:.3f}" if math.isfinite(v) else "n/a" for v in row]
            say(f"{name:<10} {cells[0]:>15} {cells[1]:>16} {cells[2]:>11} {cells[3]:>11} {cells[4]:>19}")
        (l2r0, *_), (l2r1, alone1, psm1, spm1, other1) = table["no FIM"], table[f"FIM {args.fim:g}"]
        say("")
        say(f"left-to-right cost of FIM: {l2r1 / l2r0:.3f}x the bits per element without it ({l2r1 - l2r0:+.3f})")
        for order, both in (("PSM", psm1), ("SPM", spm1)):
            say(f"both sides ({order}) vs prefix alone, FIM model: {both / alone1:.3f}x the bits per element "
                f"({both - alone1:+.3f})")
        say(f"true vs another piece's suffix (SPM): {spm1 / other1:.3f}x the bits per element ({spm1 - other1:+.3f})")
        fim_scorer = runs[f"FIM {args.fim:g}"][0]
        true_end, other_end = (end_bits(fim_scorer, spans, args.window, other) for other in (False, True))
        say(f"bits of <|fim_end|> after the true middle (SPM): {true_end:.2f} with its suffix, {other_end:.2f} with "
            f"another piece's")
    if args.out:
        args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
