"""The one adapter to gpt-2-simple: its modules, its BPE encoder file and the layout of its graph.

Every other module reaches gpt-2-simple through here, so an upgrade of that library changes only
this file.  Everything is imported inside functions: ``import gpt_2_simple`` pulls in TensorFlow
and disables eager execution process-wide, which the GUI must not pay for at start-up.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import threading
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import Any

from musicgpt_gui.core.jobs import JobError
from musicgpt_gui.core.model.store.native_noise import native_stderr_filtered

_MATMULS = ("BatchMatMulV2", "BatchMatMulV3", "BatchMatMul")


_load_lock = threading.Lock()


def tensorflow() -> ModuleType:
    """TensorFlow with gpt-2-simple's graph-mode settings in place.

    The first call imports both and looks for a GPU with TensorFlow's C++ start-up lines filtered
    out (:mod:`native_noise`); every other entry of this module comes through here first.
    """
    with _load_lock:
        if "tensorflow" in sys.modules and "gpt_2_simple" in sys.modules:
            return sys.modules["tensorflow"]
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        with native_stderr_filtered():
            import gpt_2_simple  # noqa: F401  (disables eager execution, as gpt-2-simple needs)
            import tensorflow as tf

            tf.config.list_physical_devices("GPU")
        return tf


def package() -> ModuleType:
    """The ``gpt_2_simple`` package (its downloader)."""
    tensorflow()
    import gpt_2_simple

    return gpt_2_simple


def model() -> ModuleType:
    """``gpt_2_simple.src.model``: ``model``, ``norm``, ``conv1d``, ``mlp``, ``softmax``, ``default_hparams``."""
    tensorflow()  # first: loads TensorFlow quietly
    from gpt_2_simple.src import model as gpt2_model

    return gpt2_model


def sample_sequence(**kwargs: Any) -> Any:
    """``gpt_2_simple.src.sample.sample_sequence`` (the in-graph sampler training's samples use)."""
    tensorflow()  # first: loads TensorFlow quietly
    from gpt_2_simple.src import sample

    return sample.sample_sequence(**kwargs)


def accumulating_optimizer(**kwargs: Any) -> Any:
    """gpt-2-simple's gradient-accumulating optimizer."""
    tensorflow()  # first: loads TensorFlow quietly
    from gpt_2_simple.src.accumulate import AccumulatingOptimizer

    return AccumulatingOptimizer(**kwargs)


def hparams_object(values: dict[str, int]) -> Any:
    """gpt-2-simple's HParams from a plain dict."""
    hp = model().default_hparams()
    hp.override_from_dict(values)
    return hp


@lru_cache(maxsize=1)
def encoder_module() -> ModuleType:
    """gpt-2-simple's ``src/encoder.py``, loaded without its package ``__init__``.

    The BPE module itself is pure Python, so vocabulary work loads just that file and never
    TensorFlow (see the module docstring).
    """
    if "gpt_2_simple.src.encoder" in sys.modules:
        return sys.modules["gpt_2_simple.src.encoder"]
    spec = importlib.util.find_spec("gpt_2_simple")
    if spec is None or not spec.submodule_search_locations:
        raise JobError("gpt-2-simple is not installed; reinstall the app (scripts/install.sh).")
    path = Path(list(spec.submodule_search_locations)[0]) / "src" / "encoder.py"
    file_spec = importlib.util.spec_from_file_location("musicgpt_gpt2_encoder", path)
    module = importlib.util.module_from_spec(file_spec)
    file_spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def softmax_tensor(graph: Any, layer: int) -> Any:
    """The attention weights of ``layer`` in ``model.model``'s graph: the softmax feeding ``matmul(w, v)`` in attn()."""
    scope = f"model/h{layer}/attn/"
    found = [
        op.inputs[0]
        for op in graph.get_operations()
        if op.name.startswith(scope) and op.type in _MATMULS and op.inputs[0].op.type == "RealDiv"
    ]
    if len(found) != 1:
        raise JobError(
            f"Cannot find the attention softmax of layer {layer} in gpt-2-simple's graph ({len(found)} candidates)."
        )
    return found[0]


def query_key_tensors(graph: Any, layer: int) -> tuple[Any, Any]:
    """The queries and keys of ``layer`` (``[batch, heads, T, head size]`` each) in ``model.model``'s graph.

    They are the two inputs of ``matmul(q, k, transpose_b=True)`` in attn(), the product the softmax scales.
    """
    scope = f"model/h{layer}/attn/"
    found = [
        op
        for op in graph.get_operations()
        if op.name.startswith(scope) and op.type in _MATMULS and op.get_attr("adj_y") and not op.get_attr("adj_x")
    ]
    if len(found) != 1:
        raise JobError(
            f"Cannot find the query-key product of layer {layer} in gpt-2-simple's graph ({len(found)} candidates)."
        )
    return found[0].inputs[0], found[0].inputs[1]
