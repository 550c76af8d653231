"""Generation that runs out of memory: fewer variations at once, the same variations, and a warning."""

from __future__ import annotations

import pytest

from musicgpt_gui.core.jobs import JobError
from musicgpt_gui.core.model.sample.generation import GenerationSettings, Generator, TokenEvent
from musicgpt_gui.core.model.store import checkpoints
from musicgpt_gui.core.model.train import recovery


@pytest.fixture(scope="module")
def generator(tiny_run):
    g = Generator(checkpoints.resolve_checkpoint(tiny_run.run_dir, "latest"))
    yield g
    g.close()


def test_out_of_memory_generates_the_same_variations_a_few_at_a_time(generator, monkeypatch) -> None:
    settings = GenerationSettings(length=12, variations=5, seed=7, temperature=1.0, top_k=0)
    whole = generator.generate("C4:1.0, D4:1.0", settings)
    monkeypatch.setenv(recovery.INJECT_ROWS_ENV, "2")  # TensorFlow's error for more than 2 rows at once
    events: list[TokenEvent] = []
    split = generator.generate("C4:1.0, D4:1.0", settings, on_token=events.append)
    assert [v.index for v in split.variations] == [0, 1, 2, 3, 4]
    assert [v.tokens for v in split.variations] == [v.tokens for v in whole.variations]
    assert split.seed == whole.seed == 7
    assert "Out of memory generating 5 variations at once: generated 2 at a time." in split.warnings
    assert sorted({e.variation for e in events}) == [0, 1, 2, 3, 4]
    monkeypatch.setenv(recovery.INJECT_ROWS_ENV, "0")
    with pytest.raises(JobError, match="Out of memory generating even one variation"):
        generator.generate("C4:1.0", settings)


def test_attention_out_of_memory_covers_the_last_part_of_the_text(tiny_run, monkeypatch) -> None:
    from musicgpt_gui.core.model.inspect.attention import AttentionModel

    model = AttentionModel(checkpoints.resolve_checkpoint(tiny_run.run_dir, "latest"))
    try:
        text = ", ".join(["C4:1.0", "D4:0.5", "E4:0.5", "G4:1.0"] * 12)
        whole = model.compute(text)
        full = whole.token_ids
        monkeypatch.setenv(recovery.INJECT_TOKENS_ENV, str(len(full) // 2))
        cut = model.compute(text)
        kept = cut.token_ids
        assert len(kept) == len(full) // 2 and kept == full[-len(kept) :]
        assert f"Out of memory for attention over {len(full)} tokens: it covers the last {len(kept)}." in cut.warnings
        assert cut.attention.shape[-1] == len(kept)
        monkeypatch.setenv(recovery.INJECT_TOKENS_ENV, "0")
        with pytest.raises(JobError, match="Out of memory computing attention even over"):
            model.compute(text)
    finally:
        model.close()
