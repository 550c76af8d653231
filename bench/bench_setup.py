"""Benchmark: the work before a new model's first training step, on a dataset and on it repeated.

``musicgpt train --new-model`` first trains the vocabulary and writes the first weights, encodes the
splits, fits the n-gram yardstick and measures the validation pieces and n-gram samples (the
references for the samples' metrics).  Each phase is timed here (wall and CPU seconds) with the
process's peak memory after it, in a fresh process per dataset size, for the dataset as it is and
repeated K times (rows copied: the same music, K times the tokens), so the growth is read as a ratio.
Training's set-up cache is used as training uses it: the dataset is measured twice, once filling the cache and
once more as a second new model on the same dataset reads it back.

    PYTHONPATH=$PWD .venv/bin/python bench/bench_setup.py --dataset WS/datasets/pop909 [--repeat 4]
        [--out bench/results/setup.txt]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_output import publish

PHASES = ("vocabulary and weights", "encode splits", "n-gram yardstick", "reference metrics")


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(dataset: Path, cache_dir: Path) -> None:
    """Run the set-up phases as training does (with its set-up cache in ``cache_dir``) and print one JSON
    line per phase."""

    from musicgpt_gui.core.model.store import models, vocab
    from musicgpt_gui.core.model.train import training_data
    from musicgpt_gui.core.model.train.setup_cache import SetupCache
    from musicgpt_gui.core.model.train.training_types import TrainConfig
    from musicgpt_gui.core.workspace import resolve_workspace

    workspace = resolve_workspace(Path(tempfile.mkdtemp(prefix="bench-setup-")))
    state: dict = {}

    def vocabulary():
        state["model"] = models.create_music_model(workspace, dataset, size="small", vocab_kind="atomic")
        state["encoder"] = vocab.load_encoder(state["model"].path)
        state["cache"] = SetupCache(cache_dir, dataset, state["model"].path)

    def encode():
        state["data"] = training_data.load_data(dataset, state["encoder"], state["cache"])

    def yardstick():
        cfg = TrainConfig(workspace=workspace, dataset=dataset, base=state["model"].name, run="bench")
        state["stick"] = training_data.yardstick(cfg, state["data"], state["encoder"], 128, lambda _p: None,
                                                 state["cache"])

    def references():
        run_dir = workspace.checkpoint / "bench"
        run_dir.mkdir(parents=True)
        training_data.write_references(run_dir, state["data"], state["encoder"], state["stick"], 127, 0,
                                       state["cache"])

    for name, phase in zip(PHASES, (vocabulary, encode, yardstick, references)):
        wall, cpu = time.perf_counter(), time.process_time()
        phase()
        print(json.dumps({"phase": name, "wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu,
                          "peak_mb": peak_mb()}), flush=True)
    data = state["data"]
    print(json.dumps({"phase": "size", "train_tokens": int(len(data.train)), "valid_tokens": int(len(data.valid)),
                      "pieces": len(data.train_texts) + len(data.valid_texts)}), flush=True)


def repeated(dataset: Path, times: int, root: Path) -> Path:
    """A copy of ``dataset`` whose splits hold every row ``times`` times."""
    from musicgpt_gui.core.dataset import dataset_files

    out = root / f"{dataset.name}-x{times}"
    out.mkdir()
    for path in dataset.iterdir():
        if path.suffix == ".csv":
            rows = dataset_files.read_rows(path)
            dataset_files.write_rows(out / path.name, rows * times)
        elif path.is_file():
            (out / path.name).write_bytes(path.read_bytes())
    return out


def measure(dataset: Path, cache_dir: Path) -> list[dict]:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    done = subprocess.run([sys.executable, __file__, "--child", str(dataset), str(cache_dir)], capture_output=True,
                          text=True, env=env)
    if done.returncode:
        raise SystemExit(done.stderr[-3000:])
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def table(label: str, rows: list[dict]) -> list[str]:
    size = rows[-1]
    lines = [f"{label}: {size['pieces']} pieces, {size['train_tokens']:,} training and {size['valid_tokens']:,} "
             f"validation tokens"]
    total_wall = total_cpu = 0.0
    for row in rows[:-1]:
        total_wall += row["wall"]
        total_cpu += row["cpu"]
        lines.append(f"  {row['phase']:24} {row['wall']:7.1f} s wall {row['cpu']:7.1f} s CPU   "
                     f"peak {row['peak_mb']:7.0f} MB")
    lines.append(f"  {'before step 1':24} {total_wall:7.1f} s wall {total_cpu:7.1f} s CPU   peak "
                 f"{max(r['peak_mb'] for r in rows[:-1]):7.0f} MB")
    return lines


def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(Path(sys.argv[2]), Path(sys.argv[3]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=4)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    lines = [f"bench_setup: {platform.platform()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}"]
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "cache"
        one = measure(args.dataset, cache)
        lines += table(f"{args.dataset.name}, first run (fills the set-up cache)", one)
        lines += table(f"{args.dataset.name}, a second new model on it (the cache read back)",
                       measure(args.dataset, cache))
        many = measure(repeated(args.dataset, args.repeat, Path(tmp)), cache)
    lines += table(f"{args.dataset.name} x{args.repeat}, first run", many)
    wall = sum(r["wall"] for r in many[:-1]) / sum(r["wall"] for r in one[:-1])
    cpu = sum(r["cpu"] for r in many[:-1]) / sum(r["cpu"] for r in one[:-1])
    peak = max(r["peak_mb"] for r in many[:-1]) / max(r["peak_mb"] for r in one[:-1])
    lines += [f"x{args.repeat} the data costs {wall:.2f}x the wall time, {cpu:.2f}x the CPU time and {peak:.2f}x "
              f"the peak memory (goal: at most {args.repeat}x each; on the dataset itself at most 20 s and 2 GB)",
              f"load average {os.getloadavg()[0]:.1f} at the end"]
    publish(lines, args.out)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    sys.exit(main())
