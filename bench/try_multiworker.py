"""Experiment (issue 28, past one machine): MultiWorkerMirroredStrategy in graph mode, two workers on loopback.

Not part of the app.  Each worker reads TF_CONFIG, disables eager execution the way gpt-2-simple's import
does, makes tf.compat.v1.distribute.experimental.MultiWorkerMirroredStrategy, starts a tf.distribute.Server
and runs a collective all-reduce of one variable in a v1 Session on the server's target.  What it showed is
in bench/results/multiworker.txt.

    .venv/bin/python bench/try_multiworker.py 1 &  .venv/bin/python bench/try_multiworker.py 0
"""

from __future__ import annotations

import json
import os
import sys

PORTS = ["localhost:23456", "localhost:23457"]


def main(index: int) -> None:
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    os.environ["TF_CONFIG"] = json.dumps({"cluster": {"worker": PORTS}, "task": {"type": "worker", "index": index}})
    import gpt_2_simple  # noqa: F401  (disables eager execution, as the app's training needs)
    import tensorflow as tf

    print("eager:", tf.executing_eagerly(), flush=True)
    strategy = tf.compat.v1.distribute.experimental.MultiWorkerMirroredStrategy()
    print("v1 strategy made:", strategy.num_replicas_in_sync, flush=True)
    graph = tf.Graph()
    with graph.as_default(), strategy.scope():
        v = tf.compat.v1.get_variable("v", [], initializer=tf.compat.v1.constant_initializer(1.0))

        def step():
            return tf.distribute.get_replica_context().all_reduce("sum", v * float(index + 1))

        out = strategy.extended.call_for_each_replica(step)
        config = strategy.update_config_proto(tf.compat.v1.ConfigProto())
        resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
        server = tf.distribute.Server(resolver.cluster_spec(), job_name="worker", task_index=index, config=config)
        with tf.compat.v1.Session(server.target, graph=graph, config=config) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            print("v1 all-reduce:", sess.run(out), flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]))
