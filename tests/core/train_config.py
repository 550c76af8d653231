"""A short training run on the shared tiny model (tests/conftest.py), for the training tests."""
from __future__ import annotations

from pathlib import Path

from musicgpt_gui.core.model.train import training


def config(tiny_model, dataset: Path, run: str, **overrides) -> training.TrainConfig:
    """Three steps of batch 2 x 32 tokens, nothing validated, sampled or saved in between."""
    workspace, model = tiny_model
    settings = dict(
        workspace=workspace,
        dataset=dataset,
        base=model.name,
        run=run,
        steps=3,
        batch_size=2,
        window=32,
        validate_every=0,
        sample_every=0,
        save_every=0,
        learning_rate=1e-3,
    )
    settings.update(overrides)
    return training.TrainConfig(**settings)
