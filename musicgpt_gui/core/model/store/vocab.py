"""Vocabularies for music models, written in gpt-2-simple's files (encoder.json + vocab.bpe).

Two kinds:

* ``bpe`` -- GPT-2 style byte-level BPE trained on the dataset's text with HF ``tokenizers``.
* ``atomic`` -- the same BPE plus one token per note name (``C#3``, with or without its
  leading space), ``rest``, every duration/hold of the timed format (``:1.0``, ``:1.0,``,
  ``~2.0``), every control (``tempo=96``, ``drums=0``) and every part marker
  (``@1`` .. ``@16``).  GPT-2's pre-split regex cuts ``C#3`` into
  ``C``, ``#``, ``3`` before BPE ever sees it, so merges alone cannot create these tokens:
  :class:`AtomicEncoder` matches them first and hands everything else to gpt-2-simple's BPE.
  The atomic tokens are still written into encoder.json, with merge chains in vocab.bpe, so
  gpt-2-simple's own encoder loads the files and decodes everything a model produces.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain
from pathlib import Path
from typing import Iterable, Optional, Sequence

import regex

from musicgpt_gui.core.music import notation
from musicgpt_gui.core.music.parts import MAX_PARTS, marker, parse_marker
from musicgpt_gui.core.atomic_file import atomic_write_text
from musicgpt_gui.core.jobs import JobError
from musicgpt_gui.core.spread import spread_pieces
from musicgpt_gui.core.model.store import gpt2_backend

EOT = "<|endoftext|>"
GPT2_VOCAB = 50257  # GPT-2's vocabulary; pretrained GPT-2 (extended or not) has at least this many tokens
# Fill-in-the-middle sentinels (Bavarian et al. 2022; core/model/train/fim.py): single ids, never produced by BPE.
FIM_PREFIX, FIM_SUFFIX, FIM_MIDDLE, FIM_END = "<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>", "<|fim_end|>"
FIM_TOKENS = (FIM_PREFIX, FIM_SUFFIX, FIM_MIDDLE, FIM_END)
KINDS = ("bpe", "atomic")
DEFAULT_KIND = "atomic"  # one token per note, rest and duration: fewer tokens per element than BPE
ENCODER_FILE, MERGES_FILE = "encoder.json", "vocab.bpe"
MERGES_HEADER = "#version: 0.2"
MAX_DURATION = 16  # quarter lengths; longer values still encode, as BPE pieces
BPE_SAMPLE_CHARS = 2_000_000  # BPE merges are trained on at most this much text (Bach: all 0.5 MB of it)
_DURATION_RE = regex.compile(r"[:~](\d+(?:\.\d+)?(?:/\d+)?)")
MARKER = ":1.0,"  # only the atomic vocabulary can hold this token (',' is pre-split by GPT-2)
TRANSPOSE_MARGIN = 12  # semitones: a pruned vocabulary keeps the pitches transposed training copies reach

_ACCIDENTALS = ("", "#", "-", "##", "--")
_ATOMIC_RE = regex.compile(
    r" ?(?<![\p{L}\p{N}])(?:[A-G](?:##|--|#|-)?-?\d(?![\p{L}\p{N}])"
    r"|rest(?![\p{L}\p{N}])"
    r"|(?:tempo|velocity|program|drums)=\d+"
    r"|(?:density|poly|pitch)=\d+|key=[A-Ga-g][#-]?(?![\p{L}\p{N}#-])"  # learned controls (notation.BAR_CONTROL_RE)
    r"|@(?:1[0-6]|[1-9])(?!\d)"
    r")"
    r"|[:~]\d+(?:\.\d+)?(?:/\d+)?,?"
)
_ATOMIC_SPLIT = regex.compile(f"({_ATOMIC_RE.pattern})")  # split() keeps each match between the texts around it
_WORD_MEMO_LIMIT = 500_000  # distinct words an encoder remembers (a dataset has tens of thousands)


@lru_cache(maxsize=1)
def note_names() -> tuple[str, ...]:
    """Every spelling music21 can write for MIDI 0..127 (sharps, flats, doubles)."""
    names = {notation.midi_to_name(m) for m in range(128)}
    for letter in "CDEFGAB":
        for acc in _ACCIDENTALS:
            for octave in range(-1, 10):
                name = f"{letter}{acc}{octave}"
                if notation.name_to_midi(name) is not None:
                    names.add(name)
    return tuple(sorted(names))


@lru_cache(maxsize=1)
def durations() -> tuple[str, ...]:
    """Every step/hold length on the 1/12 grid up to :data:`MAX_DURATION`, as written."""
    steps = range(1, MAX_DURATION * 12 + 1)
    return tuple(dict.fromkeys(notation.format_duration(notation.GRID * k) for k in steps))


@lru_cache(maxsize=1)
def atomic_items() -> tuple[str, ...]:
    """The text of every atomic token (before byte-level encoding)."""
    items: list[str] = []
    for word in (*note_names(), "rest", *_controls(), *(marker(k) for k in range(1, MAX_PARTS + 1))):
        items += [word, " " + word]
    for dur in durations():
        items += _duration_items(dur)
    return tuple(items)


def _duration_items(dur: str) -> list[str]:
    return [f":{dur}", f":{dur},", f"~{dur}"]


def finer_durations(texts: Iterable[str], matches: Optional[set[str]] = None) -> list[str]:
    """Lengths the texts write off the 1/12 grid (a ``--grid 24|48`` dataset), up to :data:`MAX_DURATION`.

    They become atomic tokens too, so a fine-grid dataset is not spelled out in BPE pieces.
    ``matches`` (:func:`atomic_matches` of the texts) saves reading them again.
    """
    known, found = set(durations()), set()
    for text in (texts if matches is None else matches):
        found.update(_DURATION_RE.findall(text))
    finer = {d for d in found - known if (value := notation.parse_duration(d)) is not None and value <= MAX_DURATION}
    return sorted(finer, key=notation.parse_duration)


def _controls() -> list[str]:
    return (
        [f"tempo={v}" for v in range(20, 301)]
        + [f"velocity={v}" for v in range(1, 128)]
        + [f"program={v}" for v in range(128)]
        + [f"drums={v}" for v in range(128)]
        + list(control_words())
    )


MAX_CONTROL_BINS = 8  # learned controls' bins per attribute (density=0 .. density=7)
KEY_NAMES = ("C", "D-", "D", "E-", "E", "F", "F#", "G", "A-", "A", "B-", "B",  # major, one spelling per tonic
             "c", "c#", "d", "e-", "e", "f", "f#", "g", "g#", "a", "b-", "b")  # minor


@lru_cache(maxsize=1)
def control_words() -> tuple[str, ...]:
    """The learned controls' tokens (notation.BAR_CONTROL_RE): ``density=0`` .. ``pitch=7``, ``key=C`` .. ``key=b``."""
    bins = [f"{name}={k}" for name in ("density", "poly", "pitch") for k in range(MAX_CONTROL_BINS)]
    return tuple(bins + [f"key={k}" for k in KEY_NAMES])


class MusicEncoder:
    """What callers use: ``encode``/``decode`` plus the token strings for display.

    Wraps gpt-2-simple's :class:`Encoder` (its BPE, unchanged) and maps ``<|endoftext|>``
    (and the fill-in-the-middle sentinels, when the vocabulary has them) in text to their
    single ids, as training data and prompts contain them.
    """

    kind = "bpe"

    def __init__(self, encoder: dict[str, int], merges: list[tuple[str, str]]):
        self.bpe = gpt2_backend.encoder_module().Encoder(encoder=encoder, bpe_merges=merges)
        self.eot = encoder[EOT]
        self.specials = {t: encoder[t] for t in (EOT, *FIM_TOKENS) if t in encoder}
        self._special_re = regex.compile("(" + "|".join(regex.escape(t) for t in self.specials) + ")")
        self._word_ids: dict[str, list[int]] = {}

    @property
    def n_vocab(self) -> int:
        return len(self.bpe.encoder)

    @property
    def has_fim(self) -> bool:
        return all(t in self.specials for t in FIM_TOKENS)

    def encode(self, text: str) -> list[int]:
        ids: list[int] = []
        for part in self._special_re.split(text):
            if part in self.specials:
                ids.append(self.specials[part])
            elif part:
                ids += self._encode_words(part)
        return ids

    def _encode_words(self, text: str) -> list[int]:
        """``text`` encoded one space-separated word at a time, each word's ids remembered.

        Both pre-splits (GPT-2's regex and the atomic pattern) attach a space to the word after it and never
        let a token cross a single space, so a text of words between single spaces encodes as the
        concatenation of its words (the first bare, the others with their space): encoding a dataset becomes
        one dictionary lookup per word instead of two regex passes over every character.
        """
        if "  " in text or not text.isprintable():  # other whitespace than single spaces: encoded whole
            return self._encode_plain(text)
        memo = self._word_ids  # a word -> the ids of the word after a space
        if len(memo) > _WORD_MEMO_LIMIT:
            memo.clear()
        first, *words = text.split(" ")
        for word in set(words).difference(memo):
            memo[word] = self._encode_plain(" " + word)
        return [*self._encode_plain(first), *chain.from_iterable(map(memo.__getitem__, words))]

    def _encode_plain(self, text: str) -> list[int]:
        return self.bpe.encode(text)

    def decode(self, ids: Iterable[int]) -> str:
        return self.bpe.decode([int(i) for i in ids])

    def token_strings(self, ids: Iterable[int]) -> list[str]:
        """Each id as the text it stands for (``' C#3'``), for attention labels."""
        return [self.decode([i]) for i in ids]


class AtomicEncoder(MusicEncoder):
    """Matches note names, rests, durations and controls as single tokens before BPE."""

    kind = "atomic"

    def __init__(self, encoder: dict[str, int], merges: list[tuple[str, str]]):
        super().__init__(encoder, merges)
        self._ids: dict[str, Optional[int]] = {}  # matched text -> its id (None: not a token of this vocabulary)

    def _atomic_id(self, word: str) -> Optional[int]:
        if word not in self._ids:
            key = "".join(self.bpe.byte_encoder[b] for b in word.encode("utf-8"))
            self._ids[word] = self.bpe.encoder.get(key)
        return self._ids[word]

    def _encode_plain(self, text: str) -> list[int]:
        """Split into the atomic pattern's matches and the text between them (odd and even parts); a match
        this vocabulary lacks joins the text around it, which BPE encodes."""
        ids: list[int] = []
        pending = ""
        known = self._ids
        for i, part in enumerate(_ATOMIC_SPLIT.split(text)):
            if not i % 2:
                pending += part
                continue
            token = known[part] if part in known else self._atomic_id(part)
            if token is None:
                pending += part
                continue
            if pending:
                ids += self.bpe.encode(pending)
                pending = ""
            ids.append(token)
        if pending:
            ids += self.bpe.encode(pending)
        return ids


def read_vocab(folder: Path) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """encoder.json and vocab.bpe of a model or run folder, read as gpt-2-simple does."""
    folder = Path(folder)
    for name in (ENCODER_FILE, MERGES_FILE):
        if not (folder / name).is_file():
            raise JobError(f"{folder} has no {name}; it is not a model or run folder.")
    try:
        encoder = json.loads((folder / ENCODER_FILE).read_text(encoding="utf-8"))
    except ValueError as exc:
        raise JobError(f"{folder / ENCODER_FILE} is not valid JSON ({exc}).") from None
    lines = (folder / MERGES_FILE).read_text(encoding="utf-8").split("\n")[1:-1]
    merges = [tuple(line.split()) for line in lines]
    if any(len(m) != 2 for m in merges):
        raise JobError(f"{folder / MERGES_FILE} has lines that are not 'a b' merge pairs.")
    if EOT not in encoder:
        raise JobError(f"{folder / ENCODER_FILE} has no {EOT} token.")
    return encoder, merges  # type: ignore[return-value]


def load_encoder(folder: str | Path) -> MusicEncoder:
    """The encoder of a model folder or a run folder (atomic when its vocabulary is)."""
    return make_encoder(*read_vocab(Path(folder)))


def make_encoder(encoder: dict[str, int], merges: list[tuple[str, str]]) -> MusicEncoder:
    """The right encoder class for a vocabulary: atomic when it holds the atomic tokens."""
    cls = AtomicEncoder if vocab_kind(encoder) == "atomic" else MusicEncoder
    return cls(encoder, merges)


def vocab_kind(encoder: dict[str, int]) -> str:
    """'atomic' when the vocabulary holds the atomic music tokens, else 'bpe'."""
    marker = "".join(gpt2_backend.encoder_module().bytes_to_unicode()[b] for b in MARKER.encode())
    return "atomic" if marker in encoder else "bpe"


def write_vocab(folder: Path, encoder: dict[str, int], merges: Sequence[tuple[str, str]]) -> None:
    """encoder.json (ASCII-only JSON) and vocab.bpe with its '#version' header."""
    atomic_write_text(Path(folder) / ENCODER_FILE, json.dumps(encoder, ensure_ascii=True))
    body = "".join(f"{a} {b}\n" for a, b in merges)
    atomic_write_text(Path(folder) / MERGES_FILE, f"{MERGES_HEADER}\n{body}")


def train_bpe(texts: Sequence[str], vocab_size: int = 2000) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Byte-level BPE on the dataset's text, with ``<|endoftext|>`` as the last id (as GPT-2)."""
    from tokenizers import ByteLevelBPETokenizer

    if not any(t.strip() for t in texts):
        raise JobError("The dataset has no text to build a vocabulary from.")
    tok = ByteLevelBPETokenizer()
    sample = spread_pieces(texts, BPE_SAMPLE_CHARS)
    tok.train_from_iterator(sample, vocab_size=vocab_size, min_frequency=2, show_progress=False)
    model = json.loads(tok.to_str())["model"]
    encoder = dict(sorted(model["vocab"].items(), key=lambda kv: kv[1]))
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model["merges"]]
    encoder[EOT] = len(encoder)
    return encoder, merges  # type: ignore[return-value]


def add_atomic_tokens(
    encoder: dict[str, int],
    merges: list[tuple[str, str]],
    keep: Optional[set[str]] = None,
    extra_durations: Sequence[str] = (),
) -> tuple[dict[str, int], list[tuple[str, str]], dict[str, list[int]]]:
    """Append every atomic token and the tokens of ``extra_durations``, or those of them in ``keep``
    (and the prefixes each merge chain passes through).

    Returns the new encoder, the new merges and, for each new token, the ids of the pieces
    the old encoder split it into -- used to initialise new embedding rows.
    """
    old = MusicEncoder(encoder, merges)
    byte_enc = old.bpe.byte_encoder
    encoder, merges = dict(encoder), list(merges)
    known_merges = set(merges)
    pieces: dict[str, list[int]] = {}
    items = [*atomic_items(), *(i for d in extra_durations for i in _duration_items(d))]
    for item in items if keep is None else [i for i in items if i in keep]:
        chars = "".join(byte_enc[b] for b in item.encode("utf-8"))
        for end in range(2, len(chars) + 1):
            left, right, whole = chars[: end - 1], chars[end - 1], chars[:end]
            if (left, right) not in known_merges:
                merges.append((left, right))
                known_merges.add((left, right))
            if whole not in encoder:
                encoder[whole] = len(encoder)
                pieces[whole] = old.bpe.encode(bytearray(old.bpe.byte_decoder[c] for c in whole).decode("utf-8"))
    return encoder, merges, pieces


def build_vocab(
    texts: Sequence[str], kind: str, vocab_size: int = 2000, *, prune: bool = True, extra_words: Sequence[str] = ()
) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """A new vocabulary of ``kind`` (bpe|atomic) trained on ``texts``.

    ``prune`` keeps only the atomic tokens :func:`used_atomic_items` finds: of ~3,000, Bach's chorales use
    under 200, and every id costs a softmax row in each training step (bench/results/shapes.txt).
    Text outside them still encodes, as BPE pieces.  ``extra_words`` (atomic words, e.g. :func:`control_words`)
    are kept too, with and without their leading space, though the texts do not use them.
    """
    if kind not in KINDS:
        raise JobError(f"Unknown vocabulary '{kind}'; choose one of: {', '.join(KINDS)}.")
    encoder, merges = train_bpe(texts, vocab_size)
    if kind == "atomic":
        found = atomic_matches(texts)
        keep = used_atomic_items(texts, found) if prune else None
        if keep is not None:
            keep |= {w for word in extra_words for w in (word, " " + word)}
        encoder, merges, _ = add_atomic_tokens(encoder, merges, keep, finer_durations(texts, found))
    encoder, _ = add_fim_tokens(encoder, merges)
    return encoder, merges


def atomic_matches(texts: Sequence[str]) -> set[str]:
    """Every distinct string of ``texts`` the atomic pattern matches (one pass, shared by the two below)."""
    found: set[str] = set()
    words: set[str] = set()  # distinct space-separated words, each with its space (see _encode_words)
    for text in texts:
        if "  " in text or not text.isprintable():
            found.update(_ATOMIC_RE.findall(text))
            continue
        first, *rest = text.split(" ")
        found.update(_ATOMIC_RE.findall(first))
        words.update(rest)
    for word in words:
        found.update(_ATOMIC_RE.findall(" " + word))
    return found


def used_atomic_items(texts: Sequence[str], found: Optional[set[str]] = None) -> set[str]:
    """The atomic tokens ``texts`` contain, :data:`MARKER`, and every pitch within :data:`TRANSPOSE_MARGIN`
    semitones of their range as transposition spells it (with and without its space)."""
    found = set(atomic_matches(texts) if found is None else found)
    pitches = [notation.name_to_midi(item.strip()) for item in found]
    pitches = [p for p in pitches if p is not None]
    if pitches:
        low, high = max(0, min(pitches) - TRANSPOSE_MARGIN), min(127, max(pitches) + TRANSPOSE_MARGIN)
        for midi in range(low, high + 1):
            name = notation.midi_to_name(midi)
            found |= {name, " " + name}
    return found | {MARKER}


def add_fim_tokens(
    encoder: dict[str, int], merges: list[tuple[str, str]]
) -> tuple[dict[str, int], dict[str, list[int]]]:
    """Append the missing fill-in-the-middle sentinels (no merges: they are matched before BPE).

    Returns the new encoder and, for each new sentinel, the ids of the BPE pieces its text
    splits into -- used to initialise new embedding rows.
    """
    old = MusicEncoder(encoder, merges)
    encoder, pieces = dict(encoder), {}
    for token in FIM_TOKENS:
        if token not in encoder:
            pieces[token] = old.bpe.encode(token)
            encoder[token] = len(encoder)
    return encoder, pieces


def count_elements(text: str) -> int:
    """Musical elements of note text: each pitch, rest, duration, hold and control counts once.

    Other items (instrument, key, time signature, part declaration) count once each; part markers
    count nothing, so naming parts shows as more tokens (and bits) per element.  This is the unit that
    lets vocabularies compare: tokens per element, bits per element.
    """
    count = 0
    for item in notation.split_items(text):
        body, colon, _ = item.rpartition(":")
        words = [w for w in (body if colon else item).split() if parse_marker(w) is None]
        if words and all(_is_pitch_or_rest(w) for w in words):
            count += len(words) + sum("~" in w for w in words) + (1 if colon else 0)
        else:
            count += 1
    return count


def _is_pitch_or_rest(word: str) -> bool:
    return word == "rest" or notation.name_to_midi(word.partition("~")[0]) is not None


@dataclass
class VocabReport:
    name: str
    n_vocab: int
    tokens: int
    elements: int

    @property
    def tokens_per_element(self) -> float:
        return self.tokens / self.elements if self.elements else math.nan


def vocab_report(texts: Sequence[str], encoders: dict[str, MusicEncoder]) -> list[VocabReport]:
    """Tokens per musical element of each encoder on the same texts."""
    elements = sum(count_elements(t) for t in texts)
    return [
        VocabReport(name, enc.n_vocab, sum(len(enc.encode(t)) for t in texts), elements)
        for name, enc in encoders.items()
    ]


def bits_per_element(loss_nats_per_token: float, tokens: int, elements: int) -> Optional[float]:
    """Convert a mean token loss into bits per musical element (vocabulary-independent)."""
    if not elements:
        return None
    return loss_nats_per_token * tokens / elements / math.log(2)
