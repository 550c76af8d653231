"""The token cost of naming parts: Bach's chorales with and without their four voices marked.

    python bench/bench_parts_cost.py [--chorales N] [--results FILE]

Each chorale is read once (music21 corpus) and written three ways in the timed format: one stream
(today's default), ``--parts tracks`` (Soprano, Alto, Tenor, Bass declared, every chord marked per voice)
and ``--parts programs`` (the four voices share one program, so one part: declared, never marked).
For each, a pruned atomic vocabulary is built on the texts and the tokens per musical element are counted
(elements as ``vocab.count_elements`` counts them: markers are no element, so their cost shows as tokens).
Bits per element need training; a 10-minute budget comparison was not run (see the results file).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from musicgpt_gui.core.model.store import vocab  # noqa: E402
from musicgpt_gui.core.music.notation import join_items  # noqa: E402
from musicgpt_gui.core.music.render import render_merged  # noqa: E402
from musicgpt_gui.core.readers.score_reader import piece_from_score  # noqa: E402

DEFAULT_RESULTS = Path(__file__).parent / "results" / "parts-cost.txt"
MODES = ("off", "tracks", "programs")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chorales", type=int, default=100)
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS)
    args = parser.parse_args(argv)
    from music21 import corpus

    texts: dict[str, list[str]] = {mode: [] for mode in MODES}
    for number, score in enumerate(corpus.chorales.Iterator()):
        if number == args.chorales:
            break
        piece = piece_from_score(score, str(number))
        for mode in MODES:
            texts[mode].append(join_items(render_merged(piece, "timed", parts=mode)))
    out = [
        f"Bach chorales ({args.chorales}, music21 corpus), timed format, pruned atomic vocabulary per variant "
        "(BPE size 2000): tokens per element, elements as vocab.count_elements counts them (markers count none)",
    ]
    base = None
    for mode in MODES:
        encoder = vocab.make_encoder(*vocab.build_vocab(texts[mode], "atomic"))
        report = vocab.vocab_report(texts[mode], {mode: encoder})[0]
        base = base or report.tokens_per_element
        chars = sum(map(len, texts[mode])) / report.elements
        out.append(
            f"--parts {mode:<9} vocab {report.n_vocab:>5}  tokens {report.tokens:>7}  elements {report.elements:>7}  "
            f"{report.tokens_per_element:.3f} tokens/element ({report.tokens_per_element / base:.3f}x)  "
            f"{chars:.2f} chars/element"
        )
    out.append(f"example (--parts tracks): {texts['tracks'][0][:300]}")
    out.append(
        "bits per element: not measured here (it needs a 10-minute training run per variant on an idle machine; "
        "not feasible on the shared machine when this was written)"
    )
    print("\n".join(out))
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text("\n".join(out) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
