"""Steering a piece with parts: every note names a declared part, a drum kit keeps to the GM drum map
(a key or a range is not its business), and voices count per part."""
from __future__ import annotations

from pathlib import Path

import pytest

from musicgpt_gui.core.dataset import dataset_files
from musicgpt_gui.core.dataset.import_options import ImportOptions
from musicgpt_gui.core.dataset.importer import import_dataset
from musicgpt_gui.core.model.sample.generation import GenerationSettings, Generator
from musicgpt_gui.core.model.steer.constraints import Steering
from musicgpt_gui.core.model.steer.measure import measure
from musicgpt_gui.core.model.steer.session import scale_for
from musicgpt_gui.core.model.store import checkpoints, models
from musicgpt_gui.core.model.train import training
from musicgpt_gui.core.music.notation import join_items, parse_text, split_items
from musicgpt_gui.core.music.parts import DRUM_HIGH, DRUM_LOW
from musicgpt_gui.selftest.checks import SELFTEST_MIDI

POP909 = Path(__file__).resolve().parents[3] / "shared" / "data" / "pop909"


@pytest.fixture(scope="module")
def band(tmp_path_factory):
    """(generator, prompt): a tiny model trained 2 steps on multitrack files imported with parts and drums."""
    from musicgpt_gui.core.workspace import resolve_workspace

    workspace = resolve_workspace(tmp_path_factory.mktemp("ws"))
    dataset = workspace.datasets / "band"
    sources = [str(SELFTEST_MIDI)] + [str(p) for p in sorted(POP909.glob("*.mid"))[:3]]
    import_dataset(sources, ImportOptions(parts="tracks", include_drums=True, workers=1), dataset)
    model = models.create_music_model(workspace, dataset, size="tiny", vocab_kind="atomic")
    training.train(training.TrainConfig(workspace=workspace, dataset=dataset, base=model.name, run="band", steps=2,
                                        batch_size=2, window=64, validate_every=0, sample_every=0, save_every=2))
    band_text = next(t for t in dataset_files.load_split(dataset) if "drums=" in t)
    items = split_items(band_text)
    header = [i for i in items if i.startswith("@") and "=" in i.split()[0]]
    prompt = join_items(items[: len(header) + 12])
    generator = Generator(checkpoints.resolve_checkpoint(workspace.checkpoint / "band"))
    yield generator, prompt
    generator.close()


def test_steered_parts_are_declared_drums_stay_on_the_map_and_melodic_parts_keep_key_range_and_voices(band) -> None:
    generator, prompt = band
    declared = parse_text(prompt).parts
    assert len(declared) >= 3 and any(p.drums for p in declared)
    steering = Steering(key="C major", low=48, high=84, max_voices=2)
    result = generator.generate(prompt, GenerationSettings(length=160, temperature=1.2, top_k=0, variations=3,
                                                           seed=4, steering=steering))
    scale = scale_for(steering, prompt)
    start = parse_text(prompt).length
    notes = bars = 0
    for v in result.variations:
        full = parse_text(result.full_text(v.index))
        assert not full.problems and not v.parsed.skipped, (full.problems, v.parsed.skipped)
        new = [n for n in full.notes if n.onset >= start]
        notes += len(new)
        for n in new:
            if declared[n.part].drums:
                assert DRUM_LOW <= n.pitch <= DRUM_HIGH
            else:
                assert 48 <= n.pitch <= 84 and n.pitch % 12 in scale
        kept = measure(result.full_text(v.index), start, steering, scale)
        assert not any(kept.broken.values()), dict(kept.broken)
        bars += kept.bars
    assert notes > 0 and bars > 0
    assert {declared[n.part].drums for v in result.variations for n in v.parsed.notes} == {True, False}


def test_only_the_parts_asked_for_play(band) -> None:
    generator, prompt = band
    declared = parse_text(prompt).parts
    steering = Steering(parts=(2,))
    result = generator.generate(prompt, GenerationSettings(length=120, temperature=1.2, top_k=0, variations=2,
                                                           seed=6, steering=steering))
    played = {n.part for v in result.variations for n in v.parsed.notes}
    assert played == {1}, (played, declared[1])  # 0-based: the second declared part
    start = parse_text(prompt).length
    for v in result.variations:
        assert not measure(result.full_text(v.index), start, steering, None).broken["parts"]
    free = generator.generate(prompt, GenerationSettings(length=120, temperature=1.2, top_k=0, variations=2, seed=6,
                                                         steering=Steering(grammar=True)))
    assert len({n.part for v in free.variations for n in v.parsed.notes}) > 1  # unsteered, several parts play


def test_a_part_keeps_its_own_range_and_voices(band) -> None:
    generator, prompt = band
    parsed = parse_text(prompt)
    melodic = [n for n in parsed.notes if not parsed.parts[n.part].drums]
    part = max({n.part for n in melodic}, key=lambda p: sum(n.part == p for n in melodic))  # the busiest part
    pitches = sorted(n.pitch for n in melodic if n.part == part)
    low, high = pitches[len(pitches) // 2], pitches[len(pitches) // 2] + 7
    steering = Steering(part_ranges=((part + 1, low, high),), part_voices=((part + 1, 1),))

    def takes(steer: Steering) -> list[list]:
        result = generator.generate(prompt, GenerationSettings(length=240, temperature=1.2, top_k=0, variations=4,
                                                               seed=8, steering=steer))
        out = []
        for v in result.variations:
            assert not v.parsed.skipped
            full, start = result.full_text(v.index), parse_text(result.prefix).length
            kept = measure(full, start, steering, None)
            out.append((kept, [n for n in parse_text(full).notes if n.onset >= start and n.part == part]))
        return out

    free = [n for _, notes in takes(Steering(grammar=True)) for n in notes]
    assert any(not low <= n.pitch <= high for n in free), "the free takes keep the part's range anyway: blind test"
    mine = 0
    for kept, notes in takes(steering):
        assert not kept.broken["range"] and not kept.broken["voices"], dict(kept.broken)
        assert all(low <= n.pitch <= high for n in notes)
        assert all(sum(m.onset <= n.onset < m.onset + m.duration for m in notes) <= 1 for n in notes)  # one voice
        mine += len(notes)
    assert mine > 0


def test_keep_rhythm_keeps_each_note_in_its_part(band) -> None:
    from fractions import Fraction

    from musicgpt_gui.core.model.sample.infill import infill, locate_items
    from musicgpt_gui.core.model.steer.keep_rhythm import rhythm_kept

    generator, prompt = band
    header = sum(1 for i in split_items(prompt) if i.startswith("@") and "=" in i.split()[0])
    span = locate_items(prompt, header + 2, header + 10)
    result = infill(generator, prompt, span, GenerationSettings(length=40, temperature=1.2, top_k=0, variations=2,
                                                                seed=3, steering=Steering(keep_rhythm=True)),
                    candidates=1)
    declared = parse_text(prompt).parts
    for v in result.variations:
        assert not v.parsed.skipped
        found = rhythm_kept(prompt, result.full_text(v.index), span.onset, span.onset + span.gap + Fraction(0))
        assert found.notes > 0 and found.kept_notes == found.notes, found
        assert all(DRUM_LOW <= n.pitch <= DRUM_HIGH for n in v.parsed.notes if declared[n.part].drums)


def test_a_regenerated_passage_names_only_the_pieces_parts(band) -> None:
    """A noisy 2-step model, sampled hot and unsteered: the middle never declares a part nor names an undeclared
    one (its tokens, not only what parses)."""
    import re

    from musicgpt_gui.core.model.sample.infill import infill, locate_items

    generator, prompt = band
    declared = len(parse_text(prompt).parts)
    header = sum(1 for i in split_items(prompt) if i.startswith("@") and "=" in i.split()[0])
    span = locate_items(prompt, header + 2, header + 10)
    result = infill(generator, prompt, span, GenerationSettings(length=60, temperature=1.5, top_k=0, variations=4,
                                                                seed=7), candidates=1)
    for v in result.variations:
        raw = generator.encoder.decode(v.tokens)
        assert not re.search(r"@\d+\s*=", raw), raw
        assert all(int(n) <= declared for n in re.findall(r"@(\d+)", raw)), (declared, raw)
