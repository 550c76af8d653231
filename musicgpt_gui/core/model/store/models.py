"""The model store: ``<workspace>/models/<name>/`` in gpt-2-simple's layout.

A model comes from GPT-2's download, from an existing folder (validated first), or is
created offline from a dataset: a vocabulary trained on its text and a freshly initialised
checkpoint.  The last is what the app uses when no GPT-2 weights are present.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from musicgpt_gui.core.dataset import dataset_files
from musicgpt_gui.core.model.store import gpt2_backend
from musicgpt_gui.core.model.store import run_store
from musicgpt_gui.core.model.store import tf_runtime
from musicgpt_gui.core.model.store import vocab
from musicgpt_gui.core.atomic_file import atomic_write_text
from musicgpt_gui.core.jobs import CancelToken, JobError, Progress, ProgressFn, no_progress
from musicgpt_gui.core.workspace import Workspace

GPT2_SIZES = ("124M", "355M")
GPT2_FILES = (
    "checkpoint",
    vocab.ENCODER_FILE,
    run_store.HPARAMS_FILE,
    "model.ckpt.data-00000-of-00001",
    "model.ckpt.index",
    "model.ckpt.meta",
    vocab.MERGES_FILE,
)
GPT2_URL = "https://openaipublic.blob.core.windows.net/gpt-2"
N_CTX = 1024  # gpt-2-simple hard-codes 1024-token windows in finetune/generate
PRESETS = {  # "small" beat 4x128, 6x192 and others at a 10-minute budget (bench/results/shapes.txt)
    "tiny": dict(n_layer=2, n_embd=64, n_head=2, vocab_size=1000),
    "small": dict(n_layer=4, n_embd=256, n_head=4, vocab_size=2000),
    "medium": dict(n_layer=6, n_embd=384, n_head=6, vocab_size=4000),
}
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
OFFLINE_HINT = (
    "Without a connection, import a model folder you already have "
    "(musicgpt models import DIR) or create a new small music model from a dataset "
    "(musicgpt models new --dataset DIR)."
)


@dataclass(frozen=True)
class ModelInfo:
    name: str
    path: Path
    hparams: dict[str, int]
    vocab: str  # bpe | atomic

    @property
    def summary(self) -> str:
        h = self.hparams
        return f"{h['n_layer']} layers, {h['n_embd']} wide, {h['n_head']} heads, {h['n_vocab']} tokens ({self.vocab})"


def check_name(name: str) -> str:
    if not _NAME_RE.match(name or ""):
        raise JobError(f"'{name}' is not a valid model name: use letters, digits, '.', '_' and '-'.")
    return name


def validate_model_folder(folder: Path) -> ModelInfo:
    """Check a gpt-2-simple model folder; one specific message per problem."""
    folder = Path(folder)
    if not folder.is_dir():
        raise JobError(f"Model folder {folder} does not exist.")
    hparams = tf_runtime.read_hparams(folder)
    encoder, _ = vocab.read_vocab(folder)
    if hparams["n_vocab"] != len(encoder):
        raise JobError(
            f"{folder}: hparams.json says n_vocab={hparams['n_vocab']} but encoder.json has "
            f"{len(encoder)} tokens; the files belong to different models."
        )
    if max(encoder.values()) != len(encoder) - 1:
        raise JobError(f"{folder / 'encoder.json'}: token ids must run from 0 to {len(encoder) - 1}.")
    if run_store.latest_prefix(folder) is None:
        raise JobError(
            f"{folder} has no usable checkpoint: it needs a 'checkpoint' file naming "
            "model.ckpt and the model.ckpt.index / model.ckpt.data-* files."
        )
    return ModelInfo(folder.name, folder, hparams, vocab.vocab_kind(encoder))


def list_models(workspace: Workspace) -> list[ModelInfo]:
    """Every valid model in the store (invalid folders are left out)."""
    found = []
    for folder in sorted(p for p in workspace.models.iterdir() if p.is_dir() and not p.name.startswith(".")):
        try:
            found.append(validate_model_folder(folder))
        except JobError:
            continue
    return found


def get_model(workspace: Workspace, name: str) -> ModelInfo:
    folder = workspace.models / name
    if not folder.is_dir():
        known = ", ".join(m.name for m in list_models(workspace)) or "none yet"
        raise JobError(f"There is no model '{name}' in {workspace.models} (models: {known}).")
    return validate_model_folder(folder)


def free_name(workspace: Workspace, base: str) -> str:
    """``base``, or ``base-N`` with the smallest N from 2 that no folder in the store uses."""
    taken = {p.name for p in workspace.models.iterdir()} if workspace.models.is_dir() else set()
    return next(n for n in (base if i == 1 else f"{base}-{i}" for i in range(1, len(taken) + 2)) if n not in taken)


def _target(workspace: Workspace, name: str) -> Path:
    target = workspace.models / check_name(name)
    if target.exists():
        raise JobError(f"A model named '{name}' already exists in {workspace.models}; pick another name.")
    return target


def _staging(workspace: Workspace, name: str) -> Path:
    staging = workspace.models / f".{name}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    return staging


def import_model(workspace: Workspace, source: Path, name: Optional[str] = None) -> ModelInfo:
    """Validate ``source`` and copy it into the store (the original is left untouched)."""
    info = validate_model_folder(Path(source))
    target = _target(workspace, name or info.name)
    staging = _staging(workspace, target.name)
    try:
        shutil.copytree(info.path, staging, dirs_exist_ok=True)
        # TF may have written absolute paths
        run_store.write_index(staging, Path(run_store.latest_prefix(staging)).name)
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return validate_model_folder(target)


def download_model(
    workspace: Workspace,
    size: str = "124M",
    *,
    on_progress: ProgressFn = no_progress,
    cancel: Optional[CancelToken] = None,
) -> ModelInfo:
    """Fetch GPT-2 ``size`` with gpt-2-simple's downloader, file by file (cancellable)."""
    import requests

    if size not in GPT2_SIZES:
        raise JobError(f"GPT-2 comes in {', '.join(GPT2_SIZES)}; '{size}' is not one of them.")
    cancel = cancel or CancelToken()
    target = _target(workspace, size)
    staging = _staging(workspace, size)
    gpt2 = gpt2_backend.package()
    try:
        for i, file_name in enumerate(GPT2_FILES):
            cancel.check()
            on_progress(Progress(i / len(GPT2_FILES), f"downloading {file_name}"))
            try:
                gpt2.download_file_with_progress(GPT2_URL, str(staging), size, file_name)
            except requests.RequestException as exc:
                raise JobError(f"Could not download GPT-2 {size} ({type(exc).__name__}). {OFFLINE_HINT}") from None
            except KeyError:  # gpt-2-simple reads content-length, absent on error pages
                raise JobError(f"The GPT-2 server did not send {file_name} for {size}. {OFFLINE_HINT}") from None
        validate_model_folder(staging)
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    on_progress(Progress(1.0, f"GPT-2 {size} ready"))
    return validate_model_folder(target)


def create_music_model(
    workspace: Workspace,
    dataset: Path,
    *,
    size: str = "tiny",
    vocab_kind: str = vocab.DEFAULT_KIND,
    name: Optional[str] = None,
    seed: int = 0,
    prune_vocab: bool = True,
    extra_words: tuple[str, ...] = (),
    beside_weights: Optional[Callable[[Path], Callable[[], None]]] = None,
    on_progress: ProgressFn = no_progress,
    cancel: Optional[CancelToken] = None,
) -> ModelInfo:
    """A new GPT-2-shaped model: vocabulary from the dataset's text, fresh weights, n_ctx 1024.

    ``beside_weights(folder)`` starts work that goes on while TensorFlow loads and makes the first weights, with
    the vocabulary and hparams already in ``folder``, and returns what waits for that work; training's set-up
    runs there (in another process), beside the seconds TensorFlow's import costs.

    ``prune_vocab`` (see :func:`vocab.build_vocab`) leaves out the atomic tokens the dataset does not use;
    ``extra_words`` are kept anyway (the learned controls' tokens, for a ``--controls`` run).

    Unnamed, it is called ``<dataset>-<size>-<vocab>``, with ``-2``, ``-3``... when that is taken: a new
    model never reuses an old one, whose vocabulary may come from an older version of the dataset.
    """
    if size not in PRESETS:
        raise JobError(f"Unknown size '{size}'; choose one of: {', '.join(PRESETS)}.")
    cancel = cancel or CancelToken()
    texts = dataset_files.require_split(Path(dataset))
    target = _target(workspace, name or free_name(workspace, f"{Path(dataset).name}-{size}-{vocab_kind}"))
    preset = PRESETS[size]
    on_progress(Progress(0.0, "training the vocabulary"))
    encoder, merges = vocab.build_vocab(texts, vocab_kind, preset["vocab_size"], prune=prune_vocab,
                                      extra_words=extra_words)
    cancel.check()
    hparams = dict(
        n_vocab=len(encoder), n_ctx=N_CTX, n_embd=preset["n_embd"], n_head=preset["n_head"], n_layer=preset["n_layer"]
    )
    staging = _staging(workspace, target.name)
    try:
        vocab.write_vocab(staging, encoder, merges)
        atomic_write_text(staging / run_store.HPARAMS_FILE, json.dumps(hparams, indent=2))
        on_progress(Progress(0.5, "initialising weights"))
        wait_beside = beside_weights(staging) if beside_weights else None
        try:
            _write_initial_checkpoint(staging, hparams, seed)
        finally:
            if wait_beside is not None:
                wait_beside()
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    on_progress(Progress(1.0, f"model '{target.name}' ready"))
    return validate_model_folder(target)


def _write_initial_checkpoint(folder: Path, hparams: dict[str, int], seed: int) -> None:
    """gpt-2-simple's graph with its own initialisers, saved as model.ckpt."""
    tf = tf_runtime.tf()
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.set_random_seed(seed)
        context = tf.compat.v1.placeholder(tf.int32, [1, None])
        gpt2_backend.model().model(hparams=tf_runtime.hparams_object(hparams), X=context)
        saver = tf.compat.v1.train.Saver(save_relative_paths=True)  # the folder is renamed afterwards
        with tf_runtime.new_session(graph) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            saver.save(sess, str(folder / "model.ckpt"))


def extend_with_atomic_tokens(workspace: Workspace, base: str, name: Optional[str] = None) -> ModelInfo:
    """Copy a BPE model (e.g. GPT-2 124M) with the atomic music tokens and the FIM sentinels added.

    Each new embedding row starts as the mean of the rows of the BPE pieces the token
    replaces, so the model's output for existing text is unchanged and new tokens start
    where their spelled-out form was.
    """
    info = get_model(workspace, base)
    if info.vocab == "atomic":
        raise JobError(f"Model '{base}' already has atomic music tokens.")
    encoder, merges = vocab.read_vocab(info.path)
    new_encoder, new_merges, pieces = vocab.add_atomic_tokens(encoder, merges)
    new_encoder, fim_pieces = vocab.add_fim_tokens(new_encoder, new_merges)
    pieces.update(fim_pieces)
    target = _target(workspace, name or f"{base}-atomic")
    tf = tf_runtime.tf()
    reader = tf.train.load_checkpoint(run_store.latest_prefix(info.path))
    values = {key: reader.get_tensor(key) for key in reader.get_variable_to_shape_map()}
    wte = values["model/wte"]
    rows = [wte[ids].mean(axis=0) for _, ids in sorted(pieces.items(), key=lambda kv: new_encoder[kv[0]])]
    values["model/wte"] = np.concatenate([wte, np.stack(rows).astype(wte.dtype)]) if rows else wte
    hparams = dict(info.hparams, n_vocab=len(new_encoder))
    staging = _staging(workspace, target.name)
    try:
        vocab.write_vocab(staging, new_encoder, new_merges)
        atomic_write_text(staging / run_store.HPARAMS_FILE, json.dumps(hparams, indent=2))
        _save_values(staging / "model.ckpt", values)
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return validate_model_folder(target)


def _save_values(prefix: Path, values: dict[str, np.ndarray]) -> None:
    """Write named arrays as a TF checkpoint (fed through placeholders, not graph constants)."""
    tf = tf_runtime.tf()
    graph = tf.Graph()
    with graph.as_default():
        variables, feeds, assigns = {}, {}, []
        for key, value in values.items():
            var = tf.compat.v1.get_variable(key, shape=value.shape, dtype=tf.as_dtype(value.dtype), use_resource=False)
            ph = tf.compat.v1.placeholder(var.dtype.base_dtype, value.shape)
            assigns.append(var.assign(ph))
            variables[key], feeds[ph] = var, value
        saver = tf.compat.v1.train.Saver(var_list=variables, save_relative_paths=True)
        with tf_runtime.new_session(graph) as sess:
            sess.run(assigns, feed_dict=feeds)
            saver.save(sess, str(prefix))
