"""An offline BertViz neuron view: one head's queries, keys, their products and the attention they give.

The page runs BertViz's own shipped ``neuron_view.js``, unchanged, on the ``window.bertviz_params``
its Python ``neuron_view.show()`` builds (per layer: attention ``[heads, T, T]``, queries and keys
``[heads, T, head size]``; ``bidirectional`` false for GPT-2), without importing bertviz's Python
(torch).  As on the head/model page (:mod:`attention_page`), RequireJS, jQuery and d3 are local
files and jQuery/d3 are named AMD modules before BertViz's script asks for them.

BertViz selects a token while the mouse is over it.  Our page adds a persistent selection on top
(``window.neuron``): a Token menu, a click on a token, or ``neuron.select(i)`` from Qt; it opens
BertViz's expanded view (q, k, q×k, q·k/√d) for that token, and returns to it when the mouse leaves.
``neuron.scores()`` reads back what BertViz drew for the selected token: its scaled dot products
(the ``data-value`` of each drawn box, computed by neuron_view.js from q and k) and the attention
(the shading of each key token), over the positions it sees.

Long inputs: a page holds a window of at most ``max_tokens`` consecutive tokens (fewer if all
layers would not fit ``max_cells`` numbers), with the selected token three quarters along, since
a token sees only the ones before it.  Inside the window each row shows the model's real attention
to the tokens in the window (it sums to less than 1 when earlier tokens fall outside).
"""

from __future__ import annotations

import html
import json
import shutil
import string
import uuid
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from musicgpt_gui.core.jobs import JobError
from musicgpt_gui.core.viz.attention_page import library_files

TEMPLATE = "neuron_page.html"
MAX_TOKENS = 48
MAX_CELLS = 3_000_000  # numbers per page (attention, queries, keys of every layer and head)
MIN_TOKENS = 8
DECIMALS = 5
SCRIPTS = ("require.min.js", "jquery.min.js", "d3.v5.min.js", "neuron_view.js")


@dataclass(frozen=True)
class NeuronPage:
    path: Path
    start: int  # first token shown
    end: int  # one past the last token shown
    selected: int  # the selected token's position in the whole text
    layers: list[int]  # every layer: the page's own Layer menu holds them all
    notes: list[str]

    def shows(self, position: int) -> bool:
        return self.start <= position < self.end


def neuron_window(n_tokens: int, selected: int, width: int) -> tuple[int, int]:
    """(start, end) of ``width`` consecutive tokens holding ``selected``, three quarters along."""
    if not 0 <= selected < n_tokens:
        raise JobError(f"The text has tokens 0..{n_tokens - 1}; there is no token {selected}.")
    width = max(1, min(n_tokens, width))
    start = max(0, min(selected - (3 * width) // 4, n_tokens - width))
    return start, start + width


def window_width(n_layers: int, n_heads: int, head_size: int, max_tokens: int, max_cells: int) -> int:
    """The widest window up to ``max_tokens`` whose numbers (T² weights, 2·T·d vectors per head) fit ``max_cells``."""
    width = max_tokens
    while width > MIN_TOKENS and n_layers * n_heads * (width * width + 2 * width * head_size) > max_cells:
        width -= 1
    return width


def write_neuron_page(
    path: Path,
    tokens: Sequence[str],
    attention: np.ndarray,
    queries: np.ndarray,
    keys: np.ndarray,
    *,
    selected: Optional[int] = None,
    layer: int = 0,
    head: int = 0,
    title: str = "Neuron view",
    notes: Sequence[str] = (),
    max_tokens: int = MAX_TOKENS,
    max_cells: int = MAX_CELLS,
) -> NeuronPage:
    """Write ``path`` (an .html file) and its ``<stem>_files/`` folder of scripts and data.

    ``attention`` is ``[layers, heads, T, T]``, ``queries`` and ``keys`` ``[layers, heads, T, head size]``;
    ``selected`` (default: the last token) is a position in the whole text.
    """
    attention, queries, keys = np.asarray(attention), np.asarray(queries), np.asarray(keys)
    n_layers, n_heads, n_tokens = attention.shape[:3]
    if attention.shape != (n_layers, n_heads, len(tokens), len(tokens)):
        raise JobError(f"Attention of shape {attention.shape} does not match {len(tokens)} tokens.")
    if queries.shape != keys.shape or queries.shape[:3] != attention.shape[:3]:
        raise JobError(f"Queries {queries.shape} and keys {keys.shape} do not match attention {attention.shape}.")
    if not (0 <= layer < n_layers and 0 <= head < n_heads):
        raise JobError(f"The model has layers 0..{n_layers - 1} and heads 0..{n_heads - 1}.")
    selected = n_tokens - 1 if selected is None else selected
    width = window_width(n_layers, n_heads, queries.shape[-1], max_tokens, max_cells)
    start, end = neuron_window(n_tokens, selected, width)
    page_notes = list(notes)
    if end - start < n_tokens:
        page_notes.append(
            f"Showing positions {start}-{end - 1} of {n_tokens} around token {selected}: "
            "each row shows only the attention paid inside this window."
        )

    path = Path(path)
    assets = path.with_name(f"{path.stem}_files")
    assets.mkdir(parents=True, exist_ok=True)
    sources = library_files()
    for name in SCRIPTS:
        shutil.copyfile(sources[name], assets / name)
    root_id = f"bertviz-{uuid.uuid4().hex}"
    window = slice(start, end)
    labels = [str(t) for t in tokens[window]]
    params = _params_script(
        attention[:, :, window, window], queries[:, :, window], keys[:, :, window], labels, root_id, layer, head
    )
    (assets / "neuron_params.js").write_text(params, encoding="utf-8")
    page = string.Template(_template()).substitute(
        title=html.escape(title),
        notes="".join(f"<li>{html.escape(n)}</li>" for n in page_notes),
        assets=html.escape(assets.name, quote=True),
        root_id=root_id,
        start=start,
        selected=selected - start,
    )
    path.write_text(page, encoding="utf-8")
    return NeuronPage(path, start, end, selected, list(range(n_layers)), page_notes)


def _params_script(
    attention: np.ndarray, queries: np.ndarray, keys: np.ndarray, labels: list[str], root_id: str, layer: int, head: int
) -> str:
    """``window.bertviz_params = {...}`` as bertviz.neuron_view.show() builds it.

    One head at a time: each JSON call holds the GIL, and the GUI thread must get it back within milliseconds.
    """

    def layers(array: np.ndarray) -> str:
        return "[" + ",".join("[" + ",".join(map(_head_json, layer)) + "]" for layer in array) + "]"

    params = {
        "default_filter": "all",
        "root_div_id": root_id,
        "bidirectional": False,
        "display_mode": "light",
        "layer": layer,
        "head": head,
    }
    texts = _js_json(labels)
    data = (
        f'{{"all":{{"attn":{layers(attention)},"queries":{layers(queries)},"keys":{layers(keys)},'
        f'"left_text":{texts},"right_text":{texts}}}}}'
    )
    return f"window.bertviz_params = {_js_json(params)[:-1]},\"attention\":{data}}};\n"


def _head_json(values: np.ndarray) -> str:
    return _js_json(np.round(values.astype(np.float64), DECIMALS).tolist())


def _js_json(value: object) -> str:
    """JSON that is also safe inside HTML (no '<', '>' or '&' survive unescaped)."""
    text = json.dumps(value, ensure_ascii=True, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _template() -> str:
    """Our page template from musicgpt_gui.resources (pyproject maps top-level resources/ to it)."""
    return (files("musicgpt_gui.resources") / TEMPLATE).read_text(encoding="utf-8")
