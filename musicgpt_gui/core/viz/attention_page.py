"""An offline BertViz page (head view and model view) for attention weights.

The page is built from BertViz's own shipped ``head_view.js`` and ``model_view.js``, fed the
same parameters its Python ``head_view()``/``model_view()`` build (attention as nested lists,
tokens as text, layers and heads), without importing bertviz's Python (torch, IPython).
Every script is a local file next to the page, found at run time in installed packages:
RequireJS from XStatic-RequireJS, jQuery from XStatic-jQuery, d3 v5 from mpld3.  jQuery and d3
are loaded as globals and registered as named AMD modules before BertViz's scripts run, so
the CDN paths in BertViz's ``require.config`` are never fetched.

The page is written to a file (Qt's ``setHtml`` stops at 2 MB).  Tokens reach the page only
inside JSON and BertViz draws them with d3's ``.text()``, so they are never parsed as HTML.

Long sequences: a page shows a window of at most ``max_tokens`` consecutive tokens (the last
ones by default) and as many layers as fit ``max_cells`` attention weights; the page says
which.  Inside a window each row shows only the attention paid to tokens in that window.
"""

from __future__ import annotations

import html
import importlib.util
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

TEMPLATE = "attention_page.html"
MAX_TOKENS = 128
MAX_CELLS = 1_500_000  # attention weights per page: keeps the page a few MB and responsive
DECIMALS = 4
PARAMS_MARKER = "PYTHON_PARAMS"


@dataclass(frozen=True)
class AttentionPage:
    path: Path
    start: int  # first token shown
    end: int  # one past the last token shown
    layers: list[int]  # layers shown
    notes: list[str]


def library_files() -> dict[str, Path]:
    """Local copies of every script the page needs, keyed by the name the page uses."""
    import xstatic.pkg.jquery
    import xstatic.pkg.requirejs

    found = {
        "head_view.js": _package_dir("bertviz", "bertviz") / "head_view.js",
        "model_view.js": _package_dir("bertviz", "bertviz") / "model_view.js",
        "neuron_view.js": _package_dir("bertviz", "bertviz") / "neuron_view.js",
        "require.min.js": Path(xstatic.pkg.requirejs.BASE_DIR) / "require.min.js",
        "jquery.min.js": Path(xstatic.pkg.jquery.BASE_DIR) / "jquery.min.js",
        "d3.v5.min.js": _package_dir("mpld3", "mpld3") / "js" / "d3.v5.min.js",
    }
    for name, path in found.items():
        if not path.is_file():
            raise JobError(f"{name} is missing from the installed packages ({path}); reinstall the app.")
    return found


def _package_dir(module: str, dist: str) -> Path:
    """Where an installed package lives, found without importing it."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise JobError(f"The package '{dist}' is not installed; the attention page needs it (pip install {dist}).")
    return Path(list(spec.submodule_search_locations)[0])


def choose_view(
    n_layers: int,
    n_heads: int,
    n_tokens: int,
    *,
    max_tokens: int = MAX_TOKENS,
    max_cells: int = MAX_CELLS,
    start: Optional[int] = None,
    layers: Optional[Sequence[int]] = None,
) -> tuple[int, int, list[int]]:
    """(start, end, layers) of what a page can show; explicit choices are checked, not changed."""
    width = min(n_tokens, max_tokens)
    if start is None:
        start = n_tokens - width
    if not 0 <= start < n_tokens:
        raise JobError(f"The window must start inside the {n_tokens} tokens, not at {start}.")
    end = min(n_tokens, start + width)
    if layers is None:
        fit = max(1, min(n_layers, max_cells // max(1, n_heads * (end - start) ** 2)))
        layers = (
            sorted({round(i * (n_layers - 1) / max(1, fit - 1)) for i in range(fit)})
            if fit < n_layers
            else range(n_layers)
        )
    layers = list(layers)
    bad = [layer for layer in layers if not 0 <= layer < n_layers]
    if bad or not layers:
        raise JobError(f"The model has layers 0..{n_layers - 1}; cannot show {bad or 'no layers'}.")
    return start, end, layers


def head_view_params(attention: np.ndarray, tokens: list[str], layers: list[int], root_id: str) -> dict:
    """What bertviz.head_view() passes to head_view.js for a self-attention model."""
    return {
        "attention": [{"name": None, "attn": _nested(attention), "left_text": tokens, "right_text": tokens}],
        "default_filter": "0",
        "root_div_id": root_id,
        "layer": layers[0],
        "heads": None,
        "include_layers": layers,
    }


def model_view_params(attention: np.ndarray, tokens: list[str], layers: list[int], root_id: str) -> dict:
    """What bertviz.model_view() passes to model_view.js for a self-attention model."""
    heads = list(range(attention.shape[1]))
    return {
        "attention": [{"name": None, "attn": _nested(attention), "left_text": tokens, "right_text": tokens}],
        "default_filter": "0",
        "display_mode": "light",
        "root_div_id": root_id,
        "include_layers": layers,
        "include_heads": heads,
        "total_heads": len(heads),
    }


def write_attention_page(
    path: Path,
    tokens: Sequence[str],
    attention: np.ndarray,
    *,
    title: str = "Attention",
    notes: Sequence[str] = (),
    start: Optional[int] = None,
    layers: Optional[Sequence[int]] = None,
    max_tokens: int = MAX_TOKENS,
    max_cells: int = MAX_CELLS,
) -> AttentionPage:
    """Write ``path`` (an .html file) and its ``<stem>_files/`` folder of scripts.

    ``attention`` is ``[layers, heads, T, T]`` and ``tokens`` its T labels (tokens or items).
    """
    attention = np.asarray(attention)
    if attention.ndim != 4 or attention.shape[2] != attention.shape[3] or attention.shape[2] != len(tokens):
        raise JobError(f"Attention of shape {attention.shape} does not match {len(tokens)} tokens.")
    n_layers, n_heads, n_tokens, _ = attention.shape
    start, end, layers = choose_view(
        n_layers, n_heads, n_tokens, max_tokens=max_tokens, max_cells=max_cells, start=start, layers=layers
    )
    shown = attention[layers][:, :, start:end, start:end]
    labels = [str(t) for t in tokens[start:end]]
    page_notes = list(notes) + _view_notes(n_layers, n_tokens, start, end, layers)

    path = Path(path)
    assets = path.with_name(f"{path.stem}_files")
    assets.mkdir(parents=True, exist_ok=True)
    sources = library_files()
    for name in ("require.min.js", "jquery.min.js", "d3.v5.min.js"):
        shutil.copyfile(sources[name], assets / name)
    head_id, model_id = f"bertviz-{uuid.uuid4().hex}", f"bertviz-{uuid.uuid4().hex}"
    _write_view(sources["head_view.js"], assets / "head_view.js", head_view_params(shown, labels, layers, head_id))
    _write_view(sources["model_view.js"], assets / "model_view.js", model_view_params(shown, labels, layers, model_id))
    page = string.Template(_template()).substitute(
        title=html.escape(title),
        notes="".join(f"<li>{html.escape(n)}</li>" for n in page_notes),
        assets=html.escape(assets.name, quote=True),
        head_id=head_id,
        model_id=model_id,
    )
    path.write_text(page, encoding="utf-8")
    return AttentionPage(path, start, end, layers, page_notes)


def _view_notes(n_layers: int, n_tokens: int, start: int, end: int, layers: list[int]) -> list[str]:
    notes = []
    if end - start < n_tokens:
        notes.append(
            f"Showing positions {start}-{end - 1} of {n_tokens}: "
            "each row shows only the attention paid inside this window."
        )
    if len(layers) < n_layers:
        notes.append(
            f"Showing layers {', '.join(map(str, layers))} of {n_layers} (the page would be too large with all)."
        )
    return notes


def _write_view(source: Path, target: Path, params: dict) -> None:
    """BertViz's script with its PYTHON_PARAMS marker replaced, as bertviz's Python does."""
    script = source.read_text(encoding="utf-8")
    if PARAMS_MARKER not in script:
        raise JobError(f"{source} has no {PARAMS_MARKER} marker; this BertViz version is not supported.")
    target.write_text(script.replace(PARAMS_MARKER, _js_json(params), 1), encoding="utf-8")


def _js_json(value: object) -> str:
    """JSON that is also safe inside HTML (no '<', '>' or '&' survive unescaped)."""
    text = json.dumps(value, ensure_ascii=True, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _nested(attention: np.ndarray) -> list:
    return np.round(attention.astype(np.float64), DECIMALS).tolist()


def _template() -> str:
    """Our page template from musicgpt_gui.resources (pyproject maps top-level resources/ to it)."""
    return (files("musicgpt_gui.resources") / TEMPLATE).read_text(encoding="utf-8")
