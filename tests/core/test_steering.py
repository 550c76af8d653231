"""Hard constraints at sampling: every generated bar keeps them, every item stays valid, and the
same tiny model unsteered breaks them (so these tests can fail)."""
from __future__ import annotations

from fractions import Fraction

import pytest

from musicgpt_gui.core.jobs import JobError
from musicgpt_gui.core.model.sample.generation import GenerationSettings, Generator
from musicgpt_gui.core.model.steer import token_table as tt
from musicgpt_gui.core.model.steer.constraints import Steering, parse_key, parse_length, parse_parts, parse_range
from musicgpt_gui.core.model.steer.measure import Adherence, measure
from musicgpt_gui.core.model.steer.session import scale_for
from musicgpt_gui.core.model.store import checkpoints
from musicgpt_gui.core.music.notation import parse_text

PREFIX = "tempo=96, meter.TimeSignature 4/4, D4 F4 A4:1.0, E4 G4 C#5:1.0, F4 A4 D5:2.0"
CASES = {
    "key": Steering(key="D minor"),
    "range": Steering(low=62, high=74),
    "voices": Steering(max_voices=2),
    "rhythm": Steering(min_length=Fraction(1, 2), no_triplets=True),
    "no_repeat": Steering(no_repeat=3),
}
TEMPERATURE = {"no_repeat": 0.0}  # greedy decoding loops: the case no-repeat exists for


@pytest.fixture(scope="module")
def generator(tiny_run):
    g = Generator(checkpoints.resolve_checkpoint(tiny_run.run_dir, "latest"))
    yield g
    g.close()


def _adherence(generator, steering: Steering, judged: Steering, seeds: range, temperature: float = 1.2
               ) -> tuple[Adherence, int, int]:
    """Takes sampled under ``steering``, judged against ``judged``: (adherence, items, skipped items)."""
    total, items, skipped = Adherence(), 0, 0
    prefix_length = parse_text(PREFIX).length
    scale = scale_for(judged, PREFIX)
    for seed in seeds:
        settings = GenerationSettings(length=200, temperature=temperature, top_k=0, variations=2, seed=seed,
                                      steering=steering)
        for v in generator.generate(PREFIX, settings).variations:
            items += len(v.parsed.items)
            skipped += len(v.parsed.skipped)
            total.add(measure(f"{PREFIX}, {v.text}", prefix_length, judged, scale))
    return total, items, skipped


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_generated_bar_keeps_the_constraint_and_every_item_is_valid(generator, name) -> None:
    steering = CASES[name]
    temperature = TEMPERATURE.get(name, 1.2)
    steered, items, skipped = _adherence(generator, steering, steering, range(3), temperature)
    assert steered.bars >= 12 and items > 0
    assert steered.broken[name] == 0, (name, steered.bars, dict(steered.broken))
    assert skipped == 0
    # The baseline: the same model held to the grammar alone (valid items, nothing else steered).
    free, _, free_skipped = _adherence(generator, Steering(grammar=True), steering, range(3), temperature)
    assert free_skipped == 0
    assert free.bars >= 12 and free.broken[name] > 0, f"the unsteered tiny model never breaks '{name}': blind test"


def test_the_token_table_knows_pitches_lengths_and_the_end(generator) -> None:
    table = tt.token_table(generator.encoder)
    enc = generator.encoder
    c4 = enc.encode(" C4")
    assert len(c4) == 1 and table.kind[c4[0]] == tt.PITCH and table.pitch[c4[0]] == 60
    step = enc.encode(":1.0,")
    assert len(step) == 1 and table.kind[step[0]] == tt.STEP and table.closes[step[0]]
    assert table.lengths[table.length_index[step[0]]] == 1
    assert table.kind[enc.eot] == tt.END


def test_plain_bpe_vocabularies_are_refused_with_a_way_out(generator) -> None:
    from musicgpt_gui.core.model.store.vocab import MusicEncoder

    plain = MusicEncoder(dict(generator.encoder.bpe.encoder), list(generator.encoder.bpe.bpe_ranks))
    with pytest.raises(JobError, match="models extend"):
        tt.token_table(plain)


def test_bad_values_are_one_line_messages() -> None:
    assert parse_key("Eb major") == ("E-", "major") and parse_key("d minor") == ("D", "minor")
    assert parse_range("C3:C6") == (48, 84)
    assert parse_length("1/3") == Fraction(1, 3)
    for call, arg in ((parse_key, "H minor"), (parse_range, "C6:C3"), (parse_range, "C3"), (parse_length, "x")):
        with pytest.raises(JobError):
            call(arg)
    with pytest.raises(JobError, match="empty"):
        Steering(low=80, high=60).validate()
    with pytest.raises(JobError, match="at least 2"):
        Steering(no_repeat=1).validate()
    assert parse_parts("1,3") == (1, 3) and parse_parts("@2 @1") == (1, 2)
    with pytest.raises(JobError, match="part numbers"):
        parse_parts("bass")
    with pytest.raises(JobError, match="1 to 16"):
        Steering(parts=(17,)).validate()



def test_a_regenerated_selection_keeps_the_range_and_the_key(fim_generator, tiny_dataset) -> None:
    from musicgpt_gui.core.dataset import dataset_files
    from musicgpt_gui.core.model.sample.infill import infill, locate_beats
    from musicgpt_gui.core.music.notation import join_items, split_items

    piece = join_items(split_items(dataset_files.load_split(tiny_dataset, dataset_files.TRAIN)[0])[:50])
    steering = Steering(key="C major", low=60, high=72)
    scale = scale_for(steering, "")
    span = locate_beats(piece, 4, 12)
    result = infill(fim_generator, piece, span, GenerationSettings(length=60, temperature=1.2, top_k=0, variations=3,
                                                                   seed=5, steering=steering), candidates=1)
    notes = [n for v in result.variations for n in v.parsed.notes]
    assert notes and all(60 <= n.pitch <= 72 and n.pitch % 12 in scale for n in notes)
    assert all(not v.parsed.skipped for v in result.variations)


def test_the_cli_takes_steering_flags_and_records_them_in_provenance(tiny_run, tmp_path, capsys) -> None:
    import mido

    from musicgpt_gui.cli import main
    from musicgpt_gui.core.midi.midi_io import provenance_of

    out = tmp_path / "steered.mid"
    code = main(["--workspace", str(tiny_run.workspace.root), "generate", "--run", tiny_run.run, "--prefix", PREFIX,
                 "--length", "80", "--seed", "3", "--key", "D minor", "--range", "D3:D5", "--max-voices", "3",
                 "--out", str(out)])
    assert code == 0
    text = capsys.readouterr().out.strip()
    notes = parse_text(text).notes
    generated = [n for n in notes if n.onset >= parse_text(PREFIX).length]
    assert generated and all(50 <= n.pitch <= 74 for n in generated)
    recorded = provenance_of(mido.MidiFile(out))["settings"]["steering"]
    assert recorded == {"key": "D minor", "low": "D3", "high": "D5", "max_voices": 3}
    assert main(["--workspace", str(tiny_run.workspace.root), "generate", "--run", tiny_run.run,
                 "--range", "C6:C3"]) != 0
    assert "empty" in capsys.readouterr().err
