"""Data-parallel training on 2 logical CPU devices matches 1 device at the same global batch.

``tf.config.set_logical_device_configuration`` must run before TensorFlow sets up its devices, so the
runs happen in a fresh subprocess (this process's TensorFlow is already initialised by other tests).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = r"""
import json, sys
from pathlib import Path
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

from musicgpt_gui.core.jobs import JobError
from musicgpt_gui.core.model.plan import devices
from musicgpt_gui.core.model.train import training
from musicgpt_gui.core.workspace import resolve_workspace

root, model, dataset = sys.argv[1:4]
workspace = resolve_workspace(Path(root))
out = {"devices": [d.name for d in devices.list_devices()]}


def run(name, towers, **extra):
    settings = dict(workspace=workspace, dataset=Path(dataset), base=model, run=name, steps=4, batch_size=4,
                    window=32, validate_every=2, sample_every=0, save_every=0, learning_rate=1e-3, yardstick=False,
                    devices=towers)
    settings.update(extra)
    result = training.train(training.TrainConfig(**settings))
    reader = tf.train.load_checkpoint(result.checkpoint)
    history = json.loads((result.run_dir / "history.json").read_text())
    return {"device": result.device, "train": [e["loss"] for e in history["train"]],
            "valid": [e["loss"] for e in history["valid"]],
            "variables": sorted(reader.get_variable_to_shape_map().items()),
            "files": sorted(p.name for p in result.run_dir.iterdir() if p.is_file())}


out["one"] = run("one-device", ())
out["two"] = run("two-devices", ("CPU:0", "CPU:1"))
out["two_accumulated"] = run("two-accumulated", ("CPU:0", "CPU:1"), batch_size=2, accumulate=2)
for bad in (dict(devices=("CPU:0", "CPU:7")), dict(devices=("CPU:0", "CPU:1"), batch_size=3)):
    try:
        run("bad", **{"towers": bad.pop("devices")}, **bad)
    except JobError as exc:
        out.setdefault("errors", []).append(str(exc))

# where the towers' ops ran: one step of the same graph, traced
import numpy as np
from musicgpt_gui.core.model.store import gpt2_backend, tf_runtime
from musicgpt_gui.core.model.plan import towers
graph = tf.Graph()
with graph.as_default():
    hp = tf_runtime.hparams_object(tf_runtime.read_hparams(workspace.models / model))
    x = tf.compat.v1.placeholder(tf.int32, [4, 32])
    loss = towers.tower_loss(tf, gpt2_backend.model().model, hp, x, ["CPU:0", "CPU:1"])
    adam = towers.ColocatedOptimizer(tf.compat.v1.train.AdamOptimizer(1e-3))
    step = adam.minimize(loss, tf.compat.v1.trainable_variables())
    init = tf.compat.v1.global_variables_initializer()
    with tf_runtime.new_session(graph, soft_placement=True) as sess:
        sess.run(init)
        meta = tf.compat.v1.RunMetadata()
        trace = tf.compat.v1.RunOptions(trace_level=tf.compat.v1.RunOptions.FULL_TRACE)
        sess.run(step, {x: np.zeros((4, 32), np.int32)}, options=trace, run_metadata=meta)
        ran = {}
        for stats in meta.step_stats.dev_stats:
            ran[stats.device.split("device:")[-1]] = [n.node_name for n in stats.node_stats]
        out["ran_on"] = {name: len(nodes) for name, nodes in ran.items()}
        out["grads_on_1"] = sum("gradients/model_1/" in n for n in ran.get("CPU:1", []))
print("RESULT " + json.dumps(out))
"""


@pytest.mark.slow
def test_two_logical_devices_match_one_device(tiny_model, tiny_dataset: Path, tmp_path: Path) -> None:
    workspace, model = tiny_model
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(workspace.root), model.name, str(tiny_dataset)],
        capture_output=True, text=True, timeout=900, check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert done.returncode == 0 and lines, done.stderr[-3000:]
    out = json.loads(lines[0][len("RESULT "):])
    assert out["devices"] == ["CPU:0", "CPU:1"]
    one, two, accumulated = out["one"], out["two"], out["two_accumulated"]
    assert two["device"] == "CPU:0 + CPU:1" and one["device"] == "CPU"
    assert len(one["train"]) == 4 and one["train"][0] != one["train"][-1]
    # the same global batch of 4 windows, split 2 + 2: the same losses up to float summation order
    assert two["train"] == pytest.approx(one["train"], rel=1e-5)
    assert two["valid"] == pytest.approx(one["valid"], rel=1e-5)
    # 2 towers x 1 window, accumulated twice: the same examples per step, the same mean gradient
    assert accumulated["train"] == pytest.approx(one["train"], rel=1e-4)
    # gpt-2-simple's layout: the same variables under the same names, the same files
    assert two["variables"] == one["variables"] and all(name.startswith("model/") for name, _ in two["variables"])
    assert two["files"] == one["files"] and "checkpoint" in two["files"] and "model-4.index" in two["files"]
    # each tower ran its forward and backward pass on its own device
    assert out["ran_on"].get("CPU:1", 0) > 100 and out["ran_on"].get("CPU:0", 0) > 100, out["ran_on"]
    assert out["grads_on_1"] > 50
    assert "No device CPU:7 here; TensorFlow sees: CPU:0, CPU:1" in out["errors"][0]
    assert "must split evenly over the 2 chosen devices" in out["errors"][1]
