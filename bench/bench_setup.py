"""Benchmark: the work before a new model's first training step, on a dataset and on it repeated.

``musicgpt train --new-model`` first trains the vocabulary, then writes the first weights while another
process encodes the splits, fits the n-gram yardstick and measures the validation pieces and n-gram samples
(the references for the samples' metrics) into the set-up cache, which training then reads.  Each phase is
timed here (wall and CPU seconds, the set-up process's included) with the peak memory after it (this
process's plus the set-up process's), in a fresh process per dataset size, for the dataset as it is and
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

PHASES = ("vocabulary", "weights, data set-up beside them", "set-up left for training")


def peak_mb() -> float:
    """This process's peak memory plus its set-up process's (they run at the same time: an upper bound)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return (own + resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024


def cpu_s() -> float:
    """CPU seconds of this process and of its finished set-up process."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def child(dataset: Path, root: Path) -> None:
    """What ``musicgpt train --new-model`` does before step 1 (``workflows.train_new_model``): the vocabulary,
    the first weights with training's set-up running beside them (``training_data.prefill``), then the set-up as
    training reads it (``training_data.set_up``); one JSON line per phase.  ``root`` is the workspace, whose
    set-up cache a later child reads back."""

    from musicgpt_gui.core.model import workflows
    from musicgpt_gui.core.model.store import models, tf_runtime, vocab
    from musicgpt_gui.core.model.train import training_data
    from musicgpt_gui.core.model.train.setup_cache import SetupCache
    from musicgpt_gui.core.model.train.training_types import TrainConfig
    from musicgpt_gui.core.workspace import resolve_workspace

    workspace = resolve_workspace(root)
    settings = workflows.train_defaults(new_model=True)
    cfg = TrainConfig(**{**settings, "workspace": workspace, "dataset": dataset, "run": "bench"})
    marks: dict = {"start": (time.perf_counter(), cpu_s())}
    beside: dict = {}

    def on_progress(p) -> None:
        if p.message.startswith("initialising weights"):
            marks["vocabulary"] = (time.perf_counter(), cpu_s(), peak_mb())

    def prefill(folder: Path):
        began = time.perf_counter()
        wait = training_data.prefill_beside(cfg, folder)

        def waited() -> None:
            wait()
            beside["wall"] = time.perf_counter() - began

        return waited

    info = models.create_music_model(workspace, dataset, size=workflows.NEW_MODEL_SIZE, beside_weights=prefill,
                                     on_progress=on_progress)
    marks["weights, data set-up beside them"] = (time.perf_counter(), cpu_s(), peak_mb())
    encoder = vocab.load_encoder(info.path)
    ready = training_data.set_up(cfg, encoder, tf_runtime.read_hparams(info.path)["n_ctx"],
                                 SetupCache(workspace.setup_cache, dataset, info.path))
    marks["set-up left for training"] = (time.perf_counter(), cpu_s(), peak_mb())
    before = marks["start"]
    for name in PHASES:
        wall, cpu, peak = marks[name]
        print(json.dumps({"phase": name, "wall": wall - before[0], "cpu": cpu - before[1], "peak_mb": peak}),
              flush=True)
        before = (wall, cpu)
    data = ready.data
    print(json.dumps({"phase": "size", "train_tokens": int(len(data.train)), "valid_tokens": int(len(data.valid)),
                      "pieces": len(data.train_texts) + len(data.valid_texts),
                      "beside_wall": beside.get("wall", 0.0)}), flush=True)


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


def measure(dataset: Path, root: Path) -> list[dict]:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    done = subprocess.run([sys.executable, __file__, "--child", str(dataset), str(root)], capture_output=True,
                          text=True, env=env)
    if done.returncode:
        raise SystemExit(done.stderr[-3000:])
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def table(label: str, rows: list[dict]) -> list[str]:
    size = rows[-1]
    lines = [f"{label}: {size['pieces']} pieces, {size['train_tokens']:,} training and {size['valid_tokens']:,} "
             f"validation tokens; the set-up beside the weights took {size['beside_wall']:.1f} s of wall time"]
    total_wall = total_cpu = 0.0
    for row in rows[:-1]:
        total_wall += row["wall"]
        total_cpu += row["cpu"]
        lines.append(f"  {row['phase']:32} {row['wall']:7.1f} s wall {row['cpu']:7.1f} s CPU   "
                     f"peak {row['peak_mb']:7.0f} MB")
    lines.append(f"  {'before step 1':32} {total_wall:7.1f} s wall {total_cpu:7.1f} s CPU   peak "
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
        workspace = Path(tmp) / "workspace"
        one = measure(args.dataset, workspace)
        lines += table(f"{args.dataset.name}, first run (fills the set-up cache)", one)
        lines += table(f"{args.dataset.name}, a second new model on it (the cache read back)",
                       measure(args.dataset, workspace))
        many = measure(repeated(args.dataset, args.repeat, Path(tmp)), workspace)
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
