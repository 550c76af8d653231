"""Runs with edited weights: a real checkpoint whose behaviour a test needs to be extreme."""
from __future__ import annotations

import shutil
from pathlib import Path


def rewritten_run(run_dir: Path, target: Path, edit) -> Path:
    """A copy of a run whose weights went through ``edit(values)`` (a dict name -> array)."""
    import tensorflow as tf

    shutil.copytree(run_dir, target, ignore=shutil.ignore_patterns("best", "model-*", "checkpoint"))
    reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(str(run_dir)))
    values = {n: reader.get_tensor(n) for n in reader.get_variable_to_shape_map() if n.startswith("model/")}
    edit(values)
    graph = tf.Graph()
    with graph.as_default():
        variables = [tf.compat.v1.Variable(v, name=n) for n, v in values.items()]
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            tf.compat.v1.train.Saver(variables).save(sess, str(target / "model"), global_step=1)
    return target
