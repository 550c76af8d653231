"""Vocabularies: trained BPE and atomic music tokens, in files gpt-2-simple reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import regex

from musicgpt_gui.core.dataset import dataset_files
from musicgpt_gui.core.music import notation
from musicgpt_gui.core.model.store import gpt2_backend, vocab
from musicgpt_gui.core.jobs import JobError


@pytest.fixture(scope="module")
def texts(tiny_dataset: Path) -> list[str]:
    return dataset_files.load_split(tiny_dataset)


@pytest.fixture(scope="module")
def vocab_dirs(texts: list[str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    dirs = {}
    for kind in vocab.KINDS:
        folder = tmp_path_factory.mktemp(kind)
        vocab.write_vocab(folder, *vocab.build_vocab(texts, kind, vocab_size=600))
        dirs[kind] = folder
    dirs["full"] = tmp_path_factory.mktemp("full")
    vocab.write_vocab(dirs["full"], *vocab.build_vocab(texts, "atomic", vocab_size=600, prune=False))
    return dirs


def gpt2_simple_encoder(folder: Path):
    """gpt-2-simple's own loader (the file-format contract)."""
    return gpt2_backend.encoder_module().get_encoder(str(folder))


@pytest.mark.parametrize("kind", vocab.KINDS)
def test_round_trip_and_kind(kind: str, vocab_dirs: dict[str, Path], texts: list[str]) -> None:
    enc = vocab.load_encoder(vocab_dirs[kind])
    assert enc.kind == kind
    for text in texts:
        assert enc.decode(enc.encode(text)) == text
    ids = enc.encode(texts[0] + vocab.EOT + texts[1])
    assert ids.count(enc.eot) == 1
    assert "".join(enc.token_strings(ids)) == texts[0] + vocab.EOT + texts[1]


@pytest.mark.parametrize("kind", vocab.KINDS)
def test_files_are_gpt2_simple_compatible(kind: str, vocab_dirs: dict[str, Path], texts: list[str]) -> None:
    folder = vocab_dirs[kind]
    raw = (folder / "encoder.json").read_bytes()
    assert raw.isascii()
    assert (folder / "vocab.bpe").read_text(encoding="utf-8").startswith("#version")
    ours, theirs = vocab.load_encoder(folder), gpt2_simple_encoder(folder)
    assert theirs.decode(ours.encode(texts[0])) == texts[0]
    assert ours.decode(theirs.encode(texts[0])) == texts[0]
    assert vocab.EOT in json.loads(raw)


def test_atomic_tokens_are_single(vocab_dirs: dict[str, Path]) -> None:
    enc = vocab.load_encoder(vocab_dirs["full"])
    for midi in range(128):
        name = notation.midi_to_name(midi)
        assert len(enc.encode(name)) == 1, name
        assert len(enc.encode(" " + name)) == 1, name
    for text in (
        "B#3",
        "F-4",
        "C##5",
        "rest",
        " rest",
        ":1.0",
        ":1/3,",
        "~2.0",
        "tempo=96",
        " velocity=80",
        "program=0",
    ):
        assert len(enc.encode(text)) == 1, text
    assert enc.token_strings(enc.encode("A3 E4 C#5:0.5, rest:1.0")) == ["A3", " E4", " C#5", ":0.5,", " rest", ":1.0"]


def test_pruned_vocabulary_keeps_what_the_texts_use(vocab_dirs: dict[str, Path], texts: list[str]) -> None:
    pruned, full = vocab.load_encoder(vocab_dirs["atomic"]), vocab.load_encoder(vocab_dirs["full"])
    assert pruned.kind == "atomic" and pruned.n_vocab < full.n_vocab / 3
    for text in texts:
        assert pruned.token_strings(pruned.encode(text)) == full.token_strings(full.encode(text))
    pitches = [notation.name_to_midi(w) for t in texts for w in regex.findall(r"[A-G][#-]?\d", t)]
    low, high = min(pitches) - vocab.TRANSPOSE_MARGIN, max(pitches) + vocab.TRANSPOSE_MARGIN
    for midi in (low, high):  # the reach of transposed training copies: single tokens
        assert len(pruned.encode(" " + notation.midi_to_name(midi))) == 1
    for text in (" " + notation.midi_to_name(high + 1), " tempo=299", ":13.5,"):  # unused: BPE pieces, lossless
        assert len(pruned.encode(text)) > 1 and pruned.decode(pruned.encode(text)) == text
        assert gpt2_simple_encoder(vocab_dirs["atomic"]).decode(pruned.encode(text)) == text


def test_non_music_text_still_encodes(vocab_dirs: dict[str, Path]) -> None:
    enc = vocab.load_encoder(vocab_dirs["atomic"])
    text = "Soprano, f# minor, meter.TimeSignature 4/4, restless C#, H9, tempo=96.5, Piano"
    assert enc.decode(enc.encode(text)) == text
    for word in ("restless", "Cello3", "xC4"):  # not atomic items: plain gpt-2-simple BPE
        assert enc.encode(word) == gpt2_simple_encoder(vocab_dirs["atomic"]).encode(word)


def test_tokens_per_element_goal(vocab_dirs: dict[str, Path], texts: list[str]) -> None:
    encoders = {kind: vocab.load_encoder(folder) for kind, folder in vocab_dirs.items()}
    report = {r.name: r for r in vocab.vocab_report(texts, encoders)}
    assert report["atomic"].tokens_per_element <= 1.2
    assert report["bpe"].tokens_per_element > 2 * report["atomic"].tokens_per_element


def test_count_elements() -> None:
    assert vocab.count_elements("A4~2.0 C#4 E3:1.0, rest:0.5, tempo=96, Soprano, C4") == 5 + 2 + 1 + 1 + 1
    assert vocab.bits_per_element(2.0, tokens=10, elements=5) == pytest.approx(4 / 0.6931471805599453)


def test_missing_or_broken_files(tmp_path: Path, vocab_dirs: dict[str, Path]) -> None:
    with pytest.raises(JobError, match="no encoder.json"):
        vocab.load_encoder(tmp_path)
    (tmp_path / "encoder.json").write_text("{oops", encoding="utf-8")
    (tmp_path / "vocab.bpe").write_text("#version: 0.2\n", encoding="utf-8")
    with pytest.raises(JobError, match="not valid JSON"):
        vocab.load_encoder(tmp_path)
    (tmp_path / "encoder.json").write_text('{"a": 0}', encoding="utf-8")
    with pytest.raises(JobError, match="endoftext"):
        vocab.load_encoder(tmp_path)
    with pytest.raises(JobError, match="no text"):
        vocab.build_vocab(["", "  "], "bpe")
    with pytest.raises(JobError, match="Unknown vocabulary"):
        vocab.build_vocab(["C4:1.0"], "words")


def test_a_fine_grid_dataset_gets_its_lengths_as_atomic_tokens() -> None:
    texts = ["C4:1/48, D4~5/48 E4:0.25, F4:1/12", "G4:1/24, A4:0.0625"] * 10
    assert vocab.finer_durations(texts) == ["1/48", "1/24", "0.0625", "5/48"]
    encoder = vocab.make_encoder(*vocab.build_vocab(texts, "atomic", vocab_size=300))
    ids = encoder.encode(texts[0])
    assert encoder.token_strings(ids) == ["C4", ":1/48,", " D4", "~5/48", " E4", ":0.25,", " F4", ":1/12"]
    assert encoder.decode(ids) == texts[0]


def test_parts_markers_are_atomic_and_a_pruned_vocabulary_keeps_the_parts_used() -> None:
    from musicgpt_gui.core.dataset.convert import convert_task
    from musicgpt_gui.core.dataset.import_options import ImportOptions
    from musicgpt_gui.core.dataset.sources import Task

    songs = [Path(f"/work/shared/data/pop909/00{k}.mid") for k in (1, 2, 3)]
    options = ImportOptions(parts="tracks")
    texts = [convert_task(Task("midi", str(p), p.name), options).pieces[0].texts[0] for p in songs]
    texts.append("@1=Bass program=33, @2=Kit drums=0, @1 C2 @2 C2:1.0")
    encoder = vocab.make_encoder(*vocab.build_vocab(texts, "atomic", vocab_size=400))
    for token in (" @1", " @2", " @3", " drums=0", " program=0"):
        assert len(encoder.encode(token)) == 1, token
    assert len(encoder.encode(" @4")) > 1  # no text uses a fourth part: pruned away
    assert encoder.decode(encoder.encode(texts[0])) == texts[0]
    full = vocab.atomic_items()
    assert {"@16", " @16", "drums=127"} <= set(full) and "@17" not in full
    # markers name no element: naming parts costs tokens per element, never adds elements
    assert vocab.count_elements("@1 C4 @2 E4~2.0:1.0") == vocab.count_elements("C4 E4~2.0:1.0") == 4


def test_word_by_word_encoding_is_the_whole_texts_encoding(vocab_dirs: dict[str, Path], texts: list[str],
                                                          pop_songs) -> None:
    """Encoding remembers each word's ids (a dataset encodes in a quarter of the time); it must give exactly the
    ids of encoding the whole text, for every kind, Bach and POP909 with parts, and awkward spacing."""
    pop = dataset_files.load_split(pop_songs.dataset)
    awkward = ["C4:1.0,  D4:1.0", " C4:1.0, ", "C4\n:1.0,\tE4", "rest:1.0, \u00a0C4:2.0",
               "C4:1.0, " + vocab.EOT + " D4"]
    folders = [*vocab_dirs.values(), pop_songs.model.path]
    for folder in folders:
        encoder = vocab.load_encoder(folder)
        for text in [*texts, *pop, *awkward]:
            whole = encoder._encode_plain(text) if vocab.EOT not in text else None
            ids = encoder.encode(text)
            assert whole is None or ids == whole, text[:80]
            assert encoder.encode(text) == ids  # read back from the remembered words
            assert encoder.decode(ids) == text


def test_atomic_matches_by_word_are_the_whole_texts_matches(texts: list[str], pop_songs) -> None:
    for corpus in (texts, dataset_files.load_split(pop_songs.dataset), ["C4:1.0,  D#4:0.5", "E4\n@2 F4:1/3"]):
        whole: set[str] = set()
        for text in corpus:
            whole.update(vocab._ATOMIC_RE.findall(text))
        assert vocab.atomic_matches(corpus) == whole
