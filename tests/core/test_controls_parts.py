"""Learned controls per part: on POP909 songs imported with parts, each playing part's own density, polyphony
and pitch bins follow the whole piece's in a bar's control item, fitted per part number, and a user's values
for one part are forced at every bar line of a take (a tiny model trained with --controls on six songs)."""
from __future__ import annotations

import json

import pytest

from musicgpt_gui.core.jobs import JobError
from musicgpt_gui.core.model.controls import annotate as ann
from musicgpt_gui.core.model.controls.attributes import BarClock, bar_values, is_event
from musicgpt_gui.core.model.controls.bins import POOLED, ControlBins, fit_bins
from musicgpt_gui.core.model.controls.request import ControlRequest, parse_part_bins
from musicgpt_gui.core.model.sample.generation import GenerationSettings, Generator
from musicgpt_gui.core.model.steer.constraints import Steering
from musicgpt_gui.core.model.store import checkpoints
from musicgpt_gui.core.music.notation import is_bar_control, join_items, parse_text, split_items
from musicgpt_gui.core.music.parts import leading_declarations

GRAMMAR = Steering(grammar=True)


def _texts(dataset):
    from musicgpt_gui.core.dataset import dataset_files

    return dataset_files.load_split(dataset, dataset_files.TRAIN)


@pytest.fixture(scope="module")
def parts_run(pop_songs, pop_controls_run):
    """(workspace, run folder) of a tiny model made from the songs and trained 4 steps with controls."""
    return pop_songs.workspace, pop_controls_run


@pytest.fixture(scope="module")
def generator(parts_run):
    g = Generator(checkpoints.resolve_checkpoint(parts_run[1], "latest"))
    yield g
    g.close()


def test_each_playing_part_has_its_own_bins_after_its_marker(pop_songs) -> None:
    texts = _texts(pop_songs.dataset)
    bins = fit_bins(texts)
    assert {"1", "2", "3", POOLED} <= set(bins.parts)  # MELODY, BRIDGE, PIANO: each has bars enough of its own
    assert bins.parts["1"]["pitch"] != bins.parts["3"]["pitch"]  # a melody's register is not the piano's
    plain = texts[0]
    marked = ann.annotate(plain, bins)
    items = [i for i in split_items(marked) if is_bar_control(i)]
    bars = [b for b in bar_values(plain)]
    assert len(items) == len(bars) and sum(len(b.parts) > 1 for b in bars) > 10
    for item, bar in zip(items, bars):
        sections = ann.read_parts(item)
        assert sorted(sections) == [0, *sorted(bar.parts)], (item, bar)
        for number, values in bar.parts.items():
            for name in ("density", "poly", "pitch"):
                assert sections[number].get(name) == str(bins.bin(name, values.value(name), number)), (item, name)
    assert ann.strip(marked) == join_items(split_items(plain))
    parsed, bare = parse_text(marked), parse_text(plain)
    assert parsed.notes == bare.notes and not parsed.skipped


def test_part_bins_are_stored_and_a_run_without_them_still_loads(pop_songs, tmp_path) -> None:
    bins = fit_bins(_texts(pop_songs.dataset))
    bins.save(tmp_path)
    assert ControlBins.load(tmp_path) == bins
    data = json.loads((tmp_path / "controls.json").read_text())
    del data["parts"]  # a controls.json written before parts had bins of their own
    (tmp_path / "controls.json").write_text(json.dumps(data))
    old = ControlBins.load(tmp_path)
    assert not old.has_parts and old.edges == bins.edges
    with pytest.raises(JobError, match="no controls per part"):
        ControlRequest(parts=((1, "density", (0,)),)).validate(old)
    with pytest.raises(JobError, match="bins for part 2"):
        ControlRequest(parts=((2, "pitch", (bins.count("pitch", 2),)),)).validate(bins)
    assert parse_part_bins(["2=0,1", "@1=3", "2=1"], "density", "--part-density") == (
        (1, "density", (3,)), (2, "density", (1,)))
    with pytest.raises(JobError, match="--part-density"):
        parse_part_bins(["two=1"], "density", "--part-density")
    with pytest.raises(JobError, match="names no bin"):
        parse_part_bins(["2="], "density", "--part-density")


def _prefix(dataset, bars: int = 2) -> str:
    """A song's header and its first ``bars`` bars."""
    items, clock, out = split_items(_texts(dataset)[1]), BarClock(), []
    for item in items:
        if is_event(item) and clock.index() >= bars:
            break
        out.append(item)
        clock.feed(item)
    assert leading_declarations(out)
    return join_items(out)


def _sections_by_bar(text: str, first_bar: int) -> list[dict[int, dict[str, str]]]:
    clock, found, seen = BarClock(), [], set()
    for item in split_items(text):
        if is_bar_control(item) and clock.index() >= first_bar and clock.index() not in seen:
            found.append(ann.read_parts(item))
            seen.add(clock.index())
        clock.feed(item)
    return found


def test_a_parts_asked_bins_are_forced_at_every_bar_line(pop_songs, generator) -> None:
    prefix = _prefix(pop_songs.dataset)
    request = ControlRequest(density=(1,), parts=((2, "density", (0, 1)), (3, "pitch", (2,))))
    checked = 0
    for seed in range(2):
        result = generator.generate(prefix, GenerationSettings(length=200, temperature=1.0, top_k=0, variations=2,
                                                                seed=seed, controls=request, steering=GRAMMAR))
        for v in result.variations:
            sections = _sections_by_bar(result.full_text(v.index), 2)
            assert sections, result.full_text(v.index)
            for n, found in enumerate(sections):
                checked += 1
                assert found[0].get("density") == "1", found
                assert found.get(2, {}).get("density") == str(request.part_value(2, "density", n)), found
                assert found.get(3, {}).get("pitch") == "2", found
                assert set(found) <= {0, 1, 2, 3}, found  # only the declared parts
            assert not v.parsed.skipped
    assert checked >= 4


def test_a_part_the_piece_does_not_declare_is_refused(pop_songs, parts_run, capsys) -> None:
    from musicgpt_gui.cli import main

    workspace, run_dir = parts_run
    prefix = _prefix(pop_songs.dataset)
    args = ["--workspace", str(workspace.root), "generate", "--run", run_dir.name, "--prefix", prefix,
            "--length", "60", "--seed", "1", "--valid-only"]
    assert main([*args, "--part-density", "5=0"]) != 0
    assert "declares 3 parts" in capsys.readouterr().err
    assert main([*args, "--part-pitch-bin", "1=1", "--out", str(workspace.root / "p.mid")]) == 0
    out, err = capsys.readouterr()
    assert all(s.get(1, {}).get("pitch") == "1" for s in _sections_by_bar(out.strip(), 2))
    assert "steering kept: mean pitch @1 bin 1: " in err  # the take's measured bins beside the asked one


def test_the_learned_controls_rows_measure_the_take_not_the_prefix() -> None:
    from musicgpt_gui.core.model.controls.attributes import next_bar
    from musicgpt_gui.core.model.controls.report import learned_rows

    edges = {"density": (2.0,), "poly": (1.5,), "pitch": (60.0,)}
    bins = ControlBins(edges, 10, {"1": edges, "2": {"density": (2.0,), "poly": (1.5,), "pitch": (50.0,)}})
    prefix = "@1=Lead program=0, @2=Bass program=33, meter.TimeSignature 4/4, @1 C5 @2 C3:4.0"
    take = ("@1 E5 @2 C3:1.0, @1 G5:1.0, @1 E5:2.0, "  # bar 1: 3 onsets (bin 1), bass C3 (48: its bin 0)
            "@1 C4 @2 G2:4.0, "  # bar 2: 1 onset (bin 0), bass G2 (43: bin 0)
            "@1 C5:2.0")  # bar 3 is not complete: not judged
    assert next_bar(split_items(prefix)) == 1 and next_bar(split_items(prefix + ", @1 C5:1.0")) == 2
    request = ControlRequest(density=(1,), key=("C",), parts=((2, "pitch", (0,)), (1, "density", (0, 1))))
    rows = {r.control: r for r in learned_rows(f"{prefix}, {take}", prefix, bins, request)}
    assert (rows["density"].asked, rows["density"].kept) == ("bin 1", "1/2 bars")
    assert rows["mean pitch @2"].kept == "2/2 bars" and rows["mean pitch @2"].measured == "mostly bin 0"
    assert rows["density @1"].asked == "bins 0,1 in turn" and rows["density @1"].kept == "0/2 bars"
    assert rows["key"].asked == "C major" and rows["key"].measured == "leads"
    assert learned_rows(f"{prefix}, {take}", prefix, bins, ControlRequest()) == []
