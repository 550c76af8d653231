"""Benchmark: 5 successive generations from one checkpoint, our warm Generator vs gpt_2_simple.generate.

gpt-2-simple's ``generate`` adds a new sampling graph to the session on every call; our
Generator builds its graph once and decodes incrementally with its keys/values cached in the
session.  Both run here, in one process, on the same checkpoint, prefix, length and sampling
settings; the ratio is what counts (goal: >= 3x faster in total, the first load included on
both sides).  Our decoder keeps the cached rows of a prefix it has already read, so repeated
calls from one prefix skip it; ``--distinct-prefixes`` gives each call its own prefix (the
first item differs), which measures generation without that reuse.  Also timed: attention
extraction and BertViz page building for a 512-token text.

    .venv/bin/python bench/bench_generate.py [--tokens 200] [--size small] [--distinct-prefixes] [--out FILE]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

RUNS = 5
PREFIX = "tempo=96, C4 E4 G4:1.0, D4:0.5, E4:0.5,"


def build_run(root: Path, size: str):
    """A small music model trained one step on a few Bach chorales (timings need no quality)."""
    from musicgpt_gui.core.model.store import models
    from musicgpt_gui.core.model.train import training
    from musicgpt_gui.core.dataset.importer import ImportOptions, import_dataset
    from musicgpt_gui.core.workspace import resolve_workspace

    workspace = resolve_workspace(root)
    dataset = workspace.datasets / "bench-bach"
    import_dataset(["corpus:bach"], ImportOptions(limit=12, workers=1), dataset)
    model = models.create_music_model(workspace, dataset, size=size, vocab_kind="bpe")
    training.train(
        training.TrainConfig(
            workspace=workspace,
            dataset=dataset,
            base=model.name,
            run="bench",
            steps=1,
            batch_size=1,
            window=256,
            validate_every=0,
            sample_every=0,
            save_every=1,
        )
    )
    return workspace, dataset


class Clock:
    """Wall and CPU seconds, summed over timed blocks (CPU time is steadier on a shared machine)."""

    def __init__(self) -> None:
        self.wall = self.cpu = 0.0
        self.blocks: list[float] = []  # wall seconds of each timed block

    def __enter__(self) -> "Clock":
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc) -> None:
        self.blocks.append(time.perf_counter() - self._wall)
        self.wall += self.blocks[-1]
        self.cpu += time.process_time() - self._cpu


def prefix_for(call: int, distinct: bool) -> str:
    return PREFIX.replace("tempo=96", f"tempo={96 + 4 * call}") if distinct else PREFIX


def time_both(run_dir: Path, checkpoint_dir: Path, tokens: int, distinct: bool) -> tuple[Clock, int, Clock, int]:
    """Our Generator and gpt_2_simple.generate, call by call in turn, so load drifts hit both alike."""
    import gpt_2_simple as gpt2

    from musicgpt_gui.core.model.store.checkpoints import resolve_checkpoint
    from musicgpt_gui.core.model.sample.generation import GenerationSettings, Generator

    ours, theirs = Clock(), Clock()
    ours_tokens = 0
    with ours:
        generator = Generator(resolve_checkpoint(run_dir))
    with theirs:
        sess = gpt2.start_tf_sess()
        gpt2.load_gpt2(sess, run_name="bench", checkpoint_dir=str(checkpoint_dir))
    for seed in range(RUNS):
        with ours:
            result = generator.generate(
                prefix_for(seed, distinct), GenerationSettings(length=tokens, temperature=0.8, top_k=40, seed=seed)
            )
        ours_tokens += len(result.variations[0].tokens)
        with theirs:
            gpt2.generate(
                sess,
                run_name="bench",
                checkpoint_dir=str(checkpoint_dir),
                prefix=prefix_for(seed, distinct),
                length=tokens,
                temperature=0.8,
                top_k=40,
                seed=seed,
                return_as_list=True,
            )
    generator.close()
    sess.close()
    return ours, ours_tokens, theirs, RUNS * tokens


def time_attention(run_dir: Path, dataset: Path, out_dir: Path) -> list[str]:
    from musicgpt_gui.core.dataset import dataset_files
    from musicgpt_gui.core.model.inspect.attention import AttentionModel, pool_items
    from musicgpt_gui.core.viz.attention_page import write_attention_page
    from musicgpt_gui.core.model.store.checkpoints import resolve_checkpoint

    model = AttentionModel(resolve_checkpoint(run_dir))
    text = ", ".join(dataset_files.load_split(dataset))
    ids = model.encoder.encode(text)[:511]
    text = model.encoder.decode(ids)
    began = time.perf_counter()
    result = model.compute(text)
    cold = time.perf_counter() - began
    began = time.perf_counter()
    result = model.compute(text)
    warm = time.perf_counter() - began
    began = time.perf_counter()
    pooled = pool_items(result.tokens, result.attention)
    pooling = time.perf_counter() - began
    began = time.perf_counter()
    page = write_attention_page(out_dir / "tokens.html", result.tokens, result.attention, title="bench")
    page_time = time.perf_counter() - began
    began = time.perf_counter()
    notes_page = write_attention_page(out_dir / "notes.html", pooled.items, pooled.attention, title="bench")
    notes_time = time.perf_counter() - began
    model.close()
    size = sum(f.stat().st_size for f in (out_dir / "tokens_files").iterdir()) + page.path.stat().st_size
    return [
        f"attention, {len(result.tokens)} tokens, shape {tuple(result.attention.shape)}: "
        f"{cold:.2f} s with graph build, {warm:.3f} s warm",
        f"pooling to {len(pooled.items)} items: {pooling:.3f} s",
        f"token page ({page.end - page.start} of {len(result.tokens)} tokens, layers {page.layers}, "
        f"{size / 1e6:.1f} MB with scripts): {page_time:.3f} s",
        f"per-note page ({notes_page.end - notes_page.start} of {len(pooled.items)} items): {notes_time:.3f} s",
    ]


def _seconds(clock: Clock) -> str:
    return " ".join(f"{b:.2f}" for b in clock.blocks)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=200, help="tokens per generation")
    parser.add_argument("--size", default="small", help="model preset (tiny, small, medium)")
    parser.add_argument("--distinct-prefixes", action="store_true", help="a different prefix for each call")
    parser.add_argument("--out", type=Path, help="results file (default bench/results/generate[-distinct].txt)")
    args = parser.parse_args()
    name = "generate-distinct.txt" if args.distinct_prefixes else "generate.txt"
    args.out = args.out or Path(__file__).parent / "results" / name
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    from musicgpt_gui.core.model.store import tf_runtime

    with tempfile.TemporaryDirectory() as tmp:
        workspace, dataset = build_run(Path(tmp) / "ws", args.size)
        run_dir = workspace.checkpoint / "bench"
        hparams = tf_runtime.read_hparams(run_dir)
        ours, ours_tokens, theirs, their_tokens = time_both(
            run_dir, workspace.checkpoint, args.tokens, args.distinct_prefixes
        )
        attention_lines = time_attention(run_dir, dataset, Path(tmp))

    per_token = (theirs.wall / their_tokens) / (ours.wall / ours_tokens)
    lines = [
        f"bench_generate: {RUNS} generations of {args.tokens} tokens, prefix {PREFIX!r}"
        f"{' (tempo differs per call)' if args.distinct_prefixes else ''}, temperature 0.8, top-k 40",
        f"model: {args.size} preset {hparams}, device {tf_runtime.device_name()}, "
        f"{os.cpu_count()} CPUs, {platform.processor() or platform.machine()}, Python {sys.version.split()[0]}",
        f"gpt_2_simple.generate (load_gpt2 + {RUNS} calls): {theirs.wall:.2f} s wall, {theirs.cpu:.2f} s CPU, "
        f"{their_tokens} tokens",
        f"our Generator (load + {RUNS} calls):             {ours.wall:.2f} s wall, {ours.cpu:.2f} s CPU, "
        f"{ours_tokens} tokens",
        f"speed-up in total: {theirs.wall / ours.wall:.1f}x wall, {theirs.cpu / ours.cpu:.1f}x CPU; "
        f"per generated token: {per_token:.1f}x wall (goal >= 3x)",
        f"wall seconds per step (load, then each call): gpt_2_simple {_seconds(theirs)}; ours {_seconds(ours)}",
        f"machine load average after the run: {os.getloadavg()[0]:.1f}",
        *attention_lines,
    ]
    text = "\n".join(lines) + "\n"
    print(text, end="")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
