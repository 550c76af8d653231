"""The model store: create offline, import with validation, download (offline here), extend."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from musicgpt_gui.core.dataset import dataset_files
from musicgpt_gui.core.model.store import models
from musicgpt_gui.core.model.store import run_store
from musicgpt_gui.core.model.store import vocab
from musicgpt_gui.core.jobs import JobError, Progress
from musicgpt_gui.core.workspace import resolve_workspace


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, tiny_dataset: Path):
    """A workspace holding one tiny BPE music model."""
    workspace = resolve_workspace(tmp_path_factory.mktemp("store"))
    reports: list[Progress] = []
    info = models.create_music_model(
        workspace, tiny_dataset, size="tiny", vocab_kind="bpe", name="m", on_progress=reports.append
    )
    assert reports[-1].fraction == 1.0
    return workspace, info


def tf_latest_checkpoint(folder: Path):
    """What gpt-2-simple's finetune/load_gpt2 resolve in a model folder."""
    import tensorflow as tf

    return tf.train.latest_checkpoint(str(folder))


def test_created_model_layout(store) -> None:
    workspace, info = store
    assert info.hparams == dict(n_vocab=len(vocab.read_vocab(info.path)[0]), n_ctx=1024, n_embd=64, n_head=2, n_layer=2)
    assert info.vocab == "bpe"
    assert {"hparams.json", "encoder.json", "vocab.bpe", "checkpoint", "model.ckpt.index"} <= {
        p.name for p in info.path.iterdir()
    }
    assert [m.name for m in models.list_models(workspace)] == ["m"]
    assert "2 layers" in info.summary
    assert not list(workspace.models.glob(".*"))
    assert tf_latest_checkpoint(info.path) == str(info.path / "model.ckpt")


def test_create_rejects_bad_input(store, tmp_path: Path, tiny_dataset: Path) -> None:
    workspace, _ = store
    with pytest.raises(JobError, match="Unknown size"):
        models.create_music_model(workspace, tiny_dataset, size="huge")
    with pytest.raises(JobError, match="already exists"):
        models.create_music_model(workspace, tiny_dataset, name="m")
    with pytest.raises(JobError, match="not a dataset folder"):
        models.create_music_model(workspace, tmp_path)
    dataset_files.write_rows(dataset_files.split_path(tmp_path, dataset_files.TRAIN), [])
    with pytest.raises(JobError, match="empty"):
        models.create_music_model(workspace, tmp_path)
    with pytest.raises(JobError, match="not a valid model name"):
        models.create_music_model(workspace, tiny_dataset, name="../evil")


def test_import_copies_a_valid_folder(store, tmp_path: Path) -> None:
    workspace, info = store
    other = resolve_workspace(tmp_path / "other")
    imported = models.import_model(other, info.path, name="copy")
    assert imported.path == other.models / "copy" and imported.hparams == info.hparams
    assert models.get_model(other, "copy").vocab == "bpe"
    assert tf_latest_checkpoint(imported.path) == str(imported.path / "model.ckpt")


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda d: (d / "hparams.json").unlink(), "no hparams.json"),
        (lambda d: (d / "encoder.json").unlink(), "no encoder.json"),
        (lambda d: (d / "vocab.bpe").unlink(), "no vocab.bpe"),
        (lambda d: (d / "hparams.json").write_text("{", encoding="utf-8"), "hparams.json is not valid JSON"),
        (lambda d: _edit_hparams(d, n_layer=None), "lacks n_layer"),
        (lambda d: _edit_hparams(d, n_head=-1), "positive integers"),
        (lambda d: _edit_hparams(d, n_head=3), "multiple of n_head"),
        (lambda d: _edit_hparams(d, n_vocab=7), "n_vocab=7 but encoder.json has"),
        (lambda d: (d / "checkpoint").unlink(), "no usable checkpoint"),
        (lambda d: [p.unlink() for p in d.glob("model.ckpt.data-*")], "no usable checkpoint"),
    ],
)
def test_import_validation_messages(store, tmp_path: Path, damage, message: str) -> None:
    workspace, info = store
    broken = tmp_path / "broken"
    shutil.copytree(info.path, broken)
    damage(broken)
    with pytest.raises(JobError, match=message):
        models.import_model(workspace, broken, name="broken")
    assert not (workspace.models / "broken").exists()


def _edit_hparams(folder: Path, **changes) -> None:
    data = json.loads((folder / "hparams.json").read_text())
    for key, value in changes.items():
        if value is None:
            del data[key]
        else:
            data[key] = value
    (folder / "hparams.json").write_text(json.dumps(data))


def test_import_missing_folder_and_unknown_model(store, tmp_path: Path) -> None:
    workspace, _ = store
    with pytest.raises(JobError, match="does not exist"):
        models.import_model(workspace, tmp_path / "nothing")
    with pytest.raises(JobError, match="no model 'nope'.*models: m"):
        models.get_model(workspace, "nope")


def test_download_offline_says_what_to_do(tmp_path: Path) -> None:
    """The network is blocked here: the real downloader fails and the user is told the way out."""
    workspace = resolve_workspace(tmp_path)
    with pytest.raises(JobError, match=r"Could not download GPT-2 124M.*models import DIR.*models new --dataset"):
        models.download_model(workspace, "124M")
    assert list(workspace.models.iterdir()) == []
    with pytest.raises(JobError, match="comes in 124M, 355M"):
        models.download_model(workspace, "2G")


def test_extend_with_atomic_tokens(store) -> None:
    """The GPT-2 path on a small BPE model: new rows are the mean of the pieces they replace."""
    import tensorflow as tf

    workspace, info = store
    extended = models.extend_with_atomic_tokens(workspace, "m", name="m-atomic")
    assert extended.vocab == "atomic" and extended.hparams["n_vocab"] > info.hparams["n_vocab"]
    old = tf.train.load_checkpoint(run_store.latest_prefix(info.path)).get_tensor("model/wte")
    new = tf.train.load_checkpoint(run_store.latest_prefix(extended.path)).get_tensor("model/wte")
    assert new.shape == (extended.hparams["n_vocab"], 64)
    np.testing.assert_array_equal(new[: len(old)], old)
    old_enc, new_enc = vocab.load_encoder(info.path), vocab.load_encoder(extended.path)
    for text in (" C#4", ":0.5,", "rest"):
        (token,) = new_enc.encode(text)
        np.testing.assert_allclose(new[token], old[old_enc.encode(text)].mean(axis=0), rtol=1e-6)
    with pytest.raises(JobError, match="already has atomic"):
        models.extend_with_atomic_tokens(workspace, "m-atomic")
