"""The ensemble of an unprompted piece: the dataset's, or edited; declared first, kept in provenance, and the
same through the CLI and core."""
from __future__ import annotations

import mido
import pytest

from musicgpt_gui.cli import main
from musicgpt_gui.core.jobs import JobError
from musicgpt_gui.core.midi.midi_io import provenance_of
from musicgpt_gui.core.model import workflows
from musicgpt_gui.core.model.sample.generation import GenerationSettings, Generator
from musicgpt_gui.core.model.steer.constraints import Steering
from musicgpt_gui.core.model.store import checkpoints
from musicgpt_gui.core.music.notation import parse_text
from musicgpt_gui.core.music.parts import Part, ensemble_spec, parse_ensemble

BAND = "Lead=80; Bass guitar=33; Drums=drums"


def test_an_edited_ensemble_reads_back_and_bad_specs_say_which_part_is_wrong() -> None:
    parts = parse_ensemble(BAND + "; Kit=drums:25")
    assert parts == [Part("Lead", 80), Part("Bass guitar", 33), Part("Drums", 0, True), Part("Kit", 25, True)]
    assert parse_ensemble(ensemble_spec(parts)) == parts
    for spec, says in (("", "names no parts"), ("Lead=80; Bass", "part 2 ('Bass')"), ("a=128", "0 to 127"),
                       (";".join(f"p{i}=0" for i in range(17)), "17 parts")):
        with pytest.raises(ValueError, match=says.replace("(", r"\(").replace(")", r"\)")):
            parse_ensemble(spec)
    with pytest.raises(JobError, match="The ensemble: part 1"):
        workflows.resolve_ensemble("nonsense", None)


def test_a_take_for_an_ensemble_waits_for_two_of_the_parts_that_may_play() -> None:
    from musicgpt_gui.core.model.sample.take_rules import PartsSeen, parts_wanted

    band = parse_ensemble(BAND)
    assert parts_wanted(band) == 2 and parts_wanted(band[:1]) == 1 and parts_wanted([]) == 1
    assert parts_wanted(band, allowed=(2,)) == 1 and parts_wanted(band, allowed=(1, 3)) == 2
    assert parts_wanted(band, allowed=(9,)) == 1  # an undeclared part plays nothing, but a take may still end
    seen = PartsSeen(band)
    assert seen.read("@1 C5:1.0") == 0  # not finished: no comma after it yet
    assert seen.read("@1 C5:1.0, rest:1.0,") == 1
    assert seen.read("@1 C5:1.0, rest:1.0, @1 D5:1.0, @2 C2") == 1
    assert seen.read("@1 C5:1.0, rest:1.0, @1 D5:1.0, @2 C2:1.0, @3 C2 D2:1.0,") == 3  # a kick and a snare


def test_auto_is_the_datasets_most_common_ensemble_and_a_prefix_keeps_its_own(pop_songs) -> None:
    found = workflows.dataset_ensembles(pop_songs.dataset)
    assert [p.name for p in found[0][0]] == ["MELODY", "BRIDGE", "PIANO"] and found[0][1] >= 4
    assert workflows.resolve_ensemble("none", pop_songs.dataset) == []
    auto = workflows.ensemble_prefix("", "auto", pop_songs.dataset)
    assert auto == "@1=MELODY program=0, @2=BRIDGE program=0, @3=PIANO program=0"
    assert workflows.ensemble_prefix("tempo=90, @2 C4:1.0", BAND, None).startswith(
        "@1=Lead program=80, @2=Bass guitar program=33, @3=Drums drums=0, tempo=90")
    own = auto + ", @1 C5:1.0"
    assert workflows.ensemble_prefix(own, "auto", None) == own  # auto leaves a prefix's own parts alone
    with pytest.raises(JobError, match="declares its own parts"):
        workflows.ensemble_prefix(own, BAND, None)
    assert workflows.ensemble_prefix("C4:1.0", "auto", None) == "C4:1.0"  # no dataset: one stream, as before


def test_generation_for_an_edited_ensemble_writes_for_it_and_provenance_records_it(pop_songs, tmp_path) -> None:
    ref = checkpoints.resolve_checkpoint(pop_songs.workspace.checkpoint / pop_songs.run)
    generator = Generator()
    try:
        prefix = workflows.ensemble_prefix("", BAND, pop_songs.dataset)
        steering = Steering(grammar=True)  # whole, valid items: a 2-step model writes noise otherwise
        result = workflows.generate_for_run(generator, ref, prefix, GenerationSettings(length=40, variations=2,
                                                                                       seed=3, steering=steering))
        short = workflows.generate_for_run(generator, ref, prefix, GenerationSettings(length=3, variations=4,
                                                                                      seed=3, steering=steering))
    finally:
        generator.close()
    # a take for the ensemble that has not played two of its parts when its budget is spent goes on, up to twice
    # the budget (it cannot end before that: <|endoftext|> is masked until then)
    for v in short.variations:
        written = {n.part for n in v.parsed.notes}
        assert len(written) >= 2 or len(v.tokens) == 6, (len(v.tokens), v.stop_reason, written, v.text[:80])
    assert any(len(v.tokens) > 3 for v in short.variations)
    for v in result.variations:
        full = parse_text(result.full_text(v.index))
        assert [p.program for p in full.parts] == [80, 33, 0] and full.parts[2].drums
        assert full.notes  # never an empty take
    record = workflows.provenance(result, 0)
    assert record["ensemble"] == ["@1=Lead program=80", "@2=Bass guitar program=33", "@3=Drums drums=0"]
    midi = mido.MidiFile(workflows.export_variation(result, 0, tmp_path / "band.mid"))
    assert provenance_of(midi)["ensemble"] == record["ensemble"]
    programs = {m.channel: m.program for m in midi if m.type == "program_change"}
    assert programs.get(0) == 80 and programs.get(1) == 33  # the drums go to channel 10


def test_the_cli_takes_the_same_ensemble_and_refuses_a_bad_one_in_one_line(pop_songs, monkeypatch, capsys) -> None:
    monkeypatch.setenv("MUSICGPT_WORKSPACE", str(pop_songs.workspace.root))
    out = pop_songs.workspace.exports / "cli.mid"
    assert main(["generate", "--run", pop_songs.run, "--ensemble", BAND, "--length", "30", "--variations", "1",
                 "--seed", "2", "--valid-only", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("@1=Lead program=80, @2=Bass guitar program=33, @3=Drums drums=0,")
    assert main(["generate", "--run", pop_songs.run, "--ensemble", "Lead=300"]) == 1
    assert "program is 0 to 127" in capsys.readouterr().err
    assert main(["generate", "--run", pop_songs.run, "--length", "30", "--variations", "1", "--seed", "2",
                 "--valid-only"]) == 0  # a seed: some draws of a 2-step model write no note in 60 tokens
    assert capsys.readouterr().out.startswith("@1=MELODY program=0, @2=BRIDGE program=0, @3=PIANO program=0,")
    # a take with nothing to play is named on stderr, never printed or exported as music
    assert main(["generate", "--run", pop_songs.run, "--length", "2", "--variations", "1", "--seed", "2",
                 "--out", str(pop_songs.workspace.exports / "empty.mid")]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and "variation 1: the model wrote no note in 4 tokens" in captured.err
    assert not (pop_songs.workspace.exports / "empty.mid").exists()
    assert provenance_of(mido.MidiFile(out))["ensemble"][0] == "@1=Lead program=80"


def test_a_take_ending_at_its_bar_line_keeps_the_second_part_that_entered_after_it() -> None:
    from musicgpt_gui.core.model.sample.take_rules import ended_at_bar_line

    prefix = "@1=Lead program=80, @2=Bass guitar program=33"
    take = parse_text("@1 C5:4.0, @1 D5:4.0, @2 E2:1.0", parts=parse_ensemble("Lead=80; Bass guitar=33"))
    assert len(ended_at_bar_line(prefix, take).items) == 2  # one stream's rule: end at the last bar line
    assert ended_at_bar_line(prefix, take, wanted=2).items == take.items  # the bass came in after it: kept
    both = parse_text("@1 C5:2.0, @2 C2:2.0, @1 D5:4.0, @2 E2:1.0", parts=take.parts)
    assert len(ended_at_bar_line(prefix, both, wanted=2).items) == 3  # two parts by the bar line: cut there


def test_a_take_for_a_declared_ensemble_cannot_declare_parts_of_its_own(pop_songs) -> None:
    """After the prompt's declarations, a marker is followed by pitches, never by ``=`` (a new part), and names
    a declared part."""
    from musicgpt_gui.core.model.sample.take_rules import no_new_parts

    ref = checkpoints.resolve_checkpoint(pop_songs.workspace.checkpoint / pop_songs.run)
    generator = Generator(ref)
    try:
        encoder = generator.encoder
        rule, equals = no_new_parts(encoder, 3), encoder.encode("=")
        assert len(equals) == 1 and rule.banned("C4:1.0, @2")[equals[0]] and not rule.banned("C4:1.0, @2 C4")[equals[0]]
        two = no_new_parts(encoder, 2).banned("C4:1.0, ")  # a marker of an undeclared part is banned
        assert not two[encoder.encode(" @2")[0]] and two[encoder.encode(" @3")[0]]
        digit = encoder.encode("2")[0]  # "@1" + "2" names part 12: banned for 3 parts, allowed for 12
        assert no_new_parts(encoder, 3).banned("C4:1.0, @1")[digit]
        assert not no_new_parts(encoder, 12).banned("C4:1.0, @1")[digit]
        declaring = [i for i, t in enumerate(encoder.token_strings(range(encoder.n_vocab))) if "=" in t
                     and t.lstrip().startswith("@")]
        assert all(rule.banned("")[i] for i in declaring)
        prefix = workflows.ensemble_prefix("", BAND, pop_songs.dataset)
        result = workflows.generate_for_run(generator, ref, prefix, GenerationSettings(length=60, variations=4, seed=5))
        for v in result.variations:
            assert len(parse_text(result.full_text(v.index)).parts) == 3, v.text[:200]
    finally:
        generator.close()
