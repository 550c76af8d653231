"""Benchmark: what a new music model predicts past its training window, read whole or as generation now reads it.

A model made from a dataset (``musicgpt train --new-model``) has n_ctx 1024 positions, but trains on
128-token windows: position embeddings past the window keep their random start.  Generation, infill
and attention now read at most the run's trained positions (``checkpoints.trained_context``) and
slide: when the cache is full, they start again from its newest half.  This scores held-out pieces
both ways, on the same tokens (those past the window), against the first window's tokens as a baseline.

    .venv/bin/python bench/bench_context.py --run WS/checkpoint/RUN [--tokens 512] [--out bench/results/context.txt]
"""
from __future__ import annotations

import argparse
import math
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from bench_infill import Scorer
from bench_output import publish


def log_probs(scorer: Scorer, ids: list[int]) -> np.ndarray:
    """Log-probabilities of each next token given ``ids`` as one context."""
    from musicgpt_gui.core.jobs import no_progress

    with scorer.model._lock:
        return scorer.model._ready(no_progress)(np.array([ids], dtype=np.int32))[0][0]


def sliding_nats(scorer: Scorer, ids: list[int], size: int) -> np.ndarray:
    """Nats of ids[1:] read as Generator reads: ``size`` tokens at most, then again from the newest half."""
    nats = np.zeros(len(ids) - 1)
    start, end = 0, min(size, len(ids))
    while True:
        logp = log_probs(scorer, ids[start:end])
        first = 0 if start == 0 else size // 2 - 1  # the first position whose next token is new
        for k in range(first, end - start - 1):
            nats[start + k] = -logp[k, ids[start + k + 1]]
        if end == len(ids):
            return nats
        start = end - size // 2
        end = min(start + size, len(ids))


def main() -> int:
    from musicgpt_gui.core.dataset import dataset_files
    from musicgpt_gui.core.model.store import checkpoints, run_store, tf_runtime, vocab

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, required=True, help="a trained run folder of a new music model")
    parser.add_argument("--tokens", type=int, default=512, help="tokens read of each held-out piece")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    history = run_store.History.load(args.run)
    hparams = tf_runtime.read_hparams(args.run)
    size = checkpoints.trained_context(args.run, hparams)
    dataset = checkpoints.training_dataset(args.run)
    valid = dataset_files.load_split(dataset, dataset_files.VALID)
    scorer = Scorer(args.run, "best" if (args.run / "best").is_dir() else "latest")
    enc = scorer.encoder
    inside = whole = slid = 0.0
    n_inside = n_past = elements = 0
    pieces = 0
    for text in valid:
        ids = [enc.eot] + enc.encode(text)
        ids = ids[: args.tokens]
        if len(ids) <= size + 16:
            continue
        pieces += 1
        full = -log_probs(scorer, ids)[np.arange(len(ids) - 1), ids[1:]]
        inside += full[: size - 1].sum()
        n_inside += size - 1
        whole += full[size - 1 :].sum()
        slid += sliding_nats(scorer, ids, size)[size - 1 :].sum()
        n_past += len(ids) - size
        elements += vocab.count_elements(enc.decode(ids[size:]))
    per_element = n_past / elements / math.log(2)  # nats per token -> bits per element of the same tokens
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"bench_context --run {args.run.name} {now}; {platform.machine()}, Python {platform.python_version()}",
        f"run: {args.run.name} ({history.settings.get('base')}), n_ctx {hparams['n_ctx']}, trained on "
        f"{history.settings.get('window')}-token windows: inference reads {size} tokens at a time",
        f"held-out pieces: {pieces} of {len(valid)} longer than {size + 16} tokens, the first {args.tokens} tokens "
        f"of each; {n_past} tokens ({elements} elements) past the window",
        "",
        f"{'':50} {'nats/token':>10} {'bits/element':>12}",
        f"{'the first window (positions 1..' + str(size - 1) + ')':50} {inside / n_inside:10.3f} {'':>12}",
        f"{'past it, the whole context (before: n_ctx positions)':50} {whole / n_past:10.3f} "
        f"{whole / n_past * per_element:12.3f}",
        f"{'past it, sliding in the trained window (now)':50} {slid / n_past:10.3f} "
        f"{slid / n_past * per_element:12.3f}",
        "",
        f"past the window, now vs before: {slid / whole:.3f}x the bits per element",
    ]
    publish(lines, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
