"""TensorFlow set-up shared by model creation, training and benchmarks.

TensorFlow is imported inside functions: the GUI imports core modules at start-up and
must not pay for (or be changed by) TF until a model job runs.  gpt-2-simple runs in graph
mode, so each job makes its own ``tf.Graph`` and session on the thread that uses them.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from musicgpt_gui.core.jobs import JobError
from musicgpt_gui.core.model.store import gpt2_backend
from musicgpt_gui.core.model.store.run_store import HPARAMS_FILE
HPARAM_KEYS = ("n_vocab", "n_ctx", "n_embd", "n_head", "n_layer")


def tf():
    """The TensorFlow module with gpt-2-simple's graph-mode settings in place, loaded quietly."""
    return gpt2_backend.tensorflow()


def device_name() -> str:
    """'GPU:0 (<name>)' when TensorFlow sees a GPU, else 'CPU'."""
    gpus = tf().config.list_physical_devices("GPU")
    if not gpus:
        return "CPU"
    details = tf().config.experimental.get_device_details(gpus[0])
    return f"GPU:0 ({details.get('device_name', gpus[0].name)})"


def device_line() -> str:
    """The one line that states where models run."""
    device = device_name()
    hint = " (no GPU visible to TensorFlow)" if device == "CPU" else ""
    return f"device: {device}{hint}, TensorFlow {tf().__version__}"


def new_session(
    graph: Any,
    *,
    xla: bool = False,
    threads: int = 0,
    caller_thread: bool = False,
    grappler: bool = True,
    soft_placement: bool = False,
    mixed_precision: bool = False,
):
    """A session for ``graph`` with gpt-2-simple's options, plus optional XLA JIT/thread counts.

    ``threads`` > 0 gives each op that many threads and runs ops one at a time, so
    independent ops do not fight over the same cores (TF's default runs several at once).
    ``caller_thread`` runs the ops on the thread that calls the session (each op still uses
    the intra-op threads): for a chain of hundreds of tiny ops, such as one decoding step,
    handing each op to a pool thread costs more than the op.  ``grappler=False`` skips
    TensorFlow's graph optimiser, which costs more time on a first run than it saves on such a chain.
    ``soft_placement`` lets TensorFlow move an op whose device conflicts with its colocation (the gradient
    of a variable read in another device's tower), as multi-device graphs need. ``mixed_precision``
    turns on Grappler's float16 rewrite of the graph (it acts on GPU ops only).
    """
    from tensorflow.core.protobuf import rewriter_config_pb2

    from tensorflow.python.eager import context

    t = tf()
    config = t.compat.v1.ConfigProto()
    # The devices tf.config set up (logical devices from set_logical_device_configuration, visible GPUs):
    # a v1 session sees only what its ConfigProto lists.
    config.MergeFrom(context.context().config)
    config.gpu_options.allow_growth = True
    config.allow_soft_placement = soft_placement
    if mixed_precision:
        config.graph_options.rewrite_options.auto_mixed_precision = rewriter_config_pb2.RewriterConfig.ON
    config.graph_options.rewrite_options.layout_optimizer = rewriter_config_pb2.RewriterConfig.OFF
    if threads > 0:
        config.intra_op_parallelism_threads = threads
        config.inter_op_parallelism_threads = 1
    if caller_thread:
        config.inter_op_parallelism_threads = -1
    if not grappler:
        config.graph_options.rewrite_options.disable_meta_optimizer = True
    if xla:
        config.graph_options.optimizer_options.global_jit_level = t.compat.v1.OptimizerOptions.ON_1
    return t.compat.v1.Session(graph=graph, config=config)


def fast_callable(session: Any, fetches: list[Any], feeds: list[Any]) -> Callable[..., list[Any]]:
    """A callable over TensorFlow's C++ ``Session::MakeCallable``: numpy arrays in, a list of arrays out.

    Why: ``Session.make_callable`` with feeds falls back to a full ``Session.run`` per call
    (~1 ms of Python per call here), which is a fifth of a generation step.  This is the
    (private) entry point Keras' graph-mode backend uses for the same reason.
    """
    from tensorflow.core.protobuf import config_pb2

    options = config_pb2.CallableOptions()
    options.feed.extend(t.name for t in feeds)
    options.fetch.extend(t.name for t in fetches)
    return session._make_callable_from_options(options)


def read_hparams(folder: Path) -> dict[str, int]:
    """hparams.json of a model/run folder, checked for the five keys gpt-2-simple reads."""
    path = Path(folder) / HPARAMS_FILE
    if not path.is_file():
        raise JobError(f"{folder} has no {HPARAMS_FILE}.")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise JobError(f"{path} is not valid JSON ({exc}).") from None
    if not isinstance(data, dict):
        raise JobError(f"{path} must hold a JSON object.")
    missing = [k for k in HPARAM_KEYS if k not in data]
    if missing:
        raise JobError(f"{path} lacks {', '.join(missing)}.")
    bad = [k for k in HPARAM_KEYS if not isinstance(data[k], int) or isinstance(data[k], bool) or data[k] <= 0]
    if bad:
        raise JobError(f"{path}: {', '.join(bad)} must be positive integers.")
    if data["n_embd"] % data["n_head"]:
        raise JobError(f"{path}: n_embd ({data['n_embd']}) must be a multiple of n_head ({data['n_head']}).")
    return {k: data[k] for k in HPARAM_KEYS}


hparams_object = gpt2_backend.hparams_object
