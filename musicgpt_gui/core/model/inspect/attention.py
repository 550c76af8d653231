"""GPT-2's real self-attention weights, per layer and head, and pooled per musical item.

**Exact weights.**  :class:`AttentionModel` builds gpt-2-simple's own ``model.model`` (same
variable names, so every checkpoint loads) and fetches, for each layer ``i``, the output of
the ``softmax()`` inside ``model/h{i}/attn/`` -- the tensor that multiplies the values, i.e.
``softmax(Q Kᵀ / √d + causal mask)``.  Nothing is re-implemented; the result has shape
``[layers, heads, T, T]`` (rows: the attending token, columns: the attended one), each row
sums to 1 and everything above the diagonal is 0.  (The seed's ``past · presentᵀ`` is not
attention: ``present`` holds keys and values.)

**Pooling per musical element** (:func:`pool_items`).  The text is split into elements: the
``<|startoftext|>``/``<|endoftext|>`` markers, and the items between ``,`` separators (a note,
chord, rest or control).  A token belongs to the element holding its first character that
is not a separator; a token made only of separators (``,`` and spaces) belongs to the
element before it.  For elements I and J, pooled[I, J] is the attention from I's tokens to
J's tokens **summed over J's tokens (columns) and averaged over I's tokens (rows)**.  So
each pooled row still sums to 1 and the pooled matrix stays causal (lower triangular).

**Queries and keys** (``compute(..., queries_keys=True)``, for BertViz's neuron view): the two
inputs of ``matmul(q, k, transpose_b=True)`` in each layer's attn(), ``[layers, heads, T, head
size]`` each, fetched in the same run as the weights, so ``softmax(q·kᵀ/√d + causal mask)`` of
them is the attention.  They are off by default: the plain weights fetch nothing more.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

from musicgpt_gui.core.model.store import checkpoints, tf_runtime
from musicgpt_gui.core.model.store import gpt2_backend
from musicgpt_gui.core.jobs import CancelToken, JobError, Progress, ProgressFn, no_progress
from musicgpt_gui.core.model.store.warm_model import WarmModel
from musicgpt_gui.core.model.train import recovery

MARKS = ("<|startoftext|>", "<|endoftext|>")
MIN_TOKENS = 16  # out of memory below this many tokens: a message instead of a still shorter view
_MARK_RE = re.compile("|".join(re.escape(m) for m in MARKS))


@dataclass
class AttentionResult:
    text: str
    token_ids: list[int]
    tokens: list[str]  # each token decoded to text
    attention: np.ndarray  # [layers, heads, T, T] float32
    checkpoint: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    queries: Optional[np.ndarray] = None  # [layers, heads, T, head size] float32, when asked for
    keys: Optional[np.ndarray] = None  # [layers, heads, T, head size] float32, when asked for


@dataclass
class PooledAttention:
    items: list[str]  # one label per musical element
    token_items: list[int]  # for each token, the index of its element
    attention: np.ndarray  # [layers, heads, N, N]


class AttentionModel(WarmModel):
    """Attention extraction from one warm checkpoint (see :class:`WarmModel`)."""

    def _build_graph(self):
        tf = tf_runtime.tf()
        tokens = tf.compat.v1.placeholder(tf.int32, [1, None], name="tokens")
        gpt2_backend.model().model(hparams=self.hparams, X=tokens)
        graph = tf.compat.v1.get_default_graph()
        layers = range(self.hparams.n_layer)
        weights = tf.concat([gpt2_backend.softmax_tensor(graph, i) for i in layers], axis=0)
        qk = [gpt2_backend.query_key_tensors(graph, i) for i in layers]
        queries = tf.concat([q for q, _ in qk], axis=0)
        keys = tf.concat([k for _, k in qk], axis=0)
        return (weights, queries, keys), [tokens]

    def _bind(self, built):
        """Two callables on one graph: the weights alone, and the weights with queries and keys."""
        (weights, queries, keys), feeds = built
        return {
            False: self._session.make_callable([weights], feeds),
            True: self._session.make_callable([weights, queries, keys], feeds),
        }

    def compute(
        self,
        text: str,
        *,
        start: bool = True,
        queries_keys: bool = False,
        on_progress: ProgressFn = no_progress,
        cancel: Optional[CancelToken] = None,
    ) -> AttentionResult:
        """Attention of every layer and head over ``text`` (its last n_ctx tokens if longer).

        With ``start`` the text is read after ``<|endoftext|>``, as in training and generation;
        with ``queries_keys`` the result also holds every layer's queries and keys.
        """
        cancel = cancel or CancelToken()
        if not text.strip():
            raise JobError("There is no text to compute attention for.")
        with self._lock:
            fetch = self._ready(on_progress)[queries_keys]
            cancel.check()
            ids = self.encoder.encode(text)
            if start and ids[0] != self.encoder.eot:
                ids = [self.encoder.eot] + ids
            warnings = []
            n_ctx = self.context
            if len(ids) > n_ctx:
                warnings.append(
                    f"The text has {len(ids)} tokens; attention covers its last {n_ctx} "
                    f"({checkpoints.context_reason(n_ctx, self.hparams.n_ctx)})."
                )
                ids = ids[-n_ctx:]
            return self._run(fetch, ids, warnings, queries_keys, on_progress)

    def compute_ids(
        self,
        ids: list[int],
        *,
        queries_keys: bool = False,
        on_progress: ProgressFn = no_progress,
        cancel: Optional[CancelToken] = None,
    ) -> AttentionResult:
        """Attention over token ids as they are (a result's own, to fetch its queries and keys later)."""
        if not 0 < len(ids) <= self.context:
            raise JobError(f"Attention needs 1 to {self.context} tokens, not {len(ids)}.")
        with self._lock:
            fetch = self._ready(on_progress)[queries_keys]
            (cancel or CancelToken()).check()
            return self._run(fetch, list(ids), [], queries_keys, on_progress)

    def _run(self, fetch, ids: list[int], warnings: list[str], queries_keys: bool, on_progress) -> AttentionResult:
        on_progress(Progress(0.5, f"attention over {len(ids)} tokens"))
        fetched, ids = self._fitting(fetch, ids, warnings)
        tokens = self.encoder.token_strings(ids)
        on_progress(Progress(1.0, "attention ready"))
        result = AttentionResult("".join(tokens), ids, tokens, fetched[0], self._ref.identity(), warnings)
        if queries_keys:
            result.queries, result.keys = fetched[1], fetched[2]
        return result


    def _fitting(self, fetch, ids: list[int], warnings: list[str]) -> tuple[list[np.ndarray], list[int]]:
        """The attention over ``ids``, or over their last half (then quarter...) when the device runs out of memory."""
        tf, asked = tf_runtime.tf(), len(ids)
        while True:
            try:
                recovery.maybe_inject_rows(tf, len(ids), recovery.INJECT_TOKENS_ENV)
                fetched = [np.asarray(a, dtype=np.float32) for a in fetch(np.array([ids], dtype=np.int32))]
            except tf.errors.ResourceExhaustedError:
                if len(ids) // 2 < MIN_TOKENS:
                    raise JobError(f"Out of memory computing attention even over {len(ids)} tokens.") from None
                ids = ids[-(len(ids) // 2) :]
                continue
            if len(ids) < asked:
                warnings.append(f"Out of memory for attention over {asked} tokens: it covers the last {len(ids)}.")
            return fetched, ids


def item_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the musical elements of ``text`` (see the module docstring)."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for mark in list(_MARK_RE.finditer(text)) + [None]:
        end = mark.start() if mark else len(text)
        for m in re.finditer(r"[^,]+", text[pos:end]):
            if m.group().strip():
                lead = len(m.group()) - len(m.group().lstrip())
                spans.append((pos + m.start() + lead, pos + m.start() + len(m.group().rstrip())))
        if mark:
            spans.append(mark.span())
            pos = mark.end()
    return spans


def token_items(tokens: list[str]) -> tuple[list[str], list[int]]:
    """Element labels and, for each token, the index of the element it belongs to."""
    text = "".join(tokens)
    spans = item_spans(text)
    owner = np.full(len(text), -1)
    for k, (a, b) in enumerate(spans):
        owner[a:b] = k
    assignment: list[int] = []
    pos = 0
    for tok in tokens:
        inside = owner[pos : pos + len(tok)]
        inside = inside[inside >= 0]
        assignment.append(int(inside[0]) if inside.size else (assignment[-1] if assignment else -1))
        pos += len(tok)
    first = next((a for a in assignment if a >= 0), 0)
    assignment = [first if a < 0 else a for a in assignment]
    return [text[a:b] for a, b in spans] or [text], assignment


def pool_items(tokens: list[str], attention: np.ndarray) -> PooledAttention:
    """One row and column per musical element: columns summed, rows averaged."""
    labels, owner = token_items(tokens)
    member = np.zeros((len(tokens), len(labels)), dtype=np.float64)
    member[np.arange(len(tokens)), owner] = 1.0
    used = member.sum(axis=0) > 0
    member = member[:, used]
    labels = [label for label, u in zip(labels, used) if u]
    remap = np.cumsum(used) - 1
    summed = attention.astype(np.float64) @ member  # [L, H, T, N]
    pooled = np.einsum("tn,lhtm->lhnm", member, summed) / member.sum(axis=0)[:, None]
    return PooledAttention(labels, [int(remap[o]) for o in owner], pooled.astype(np.float32))


def save_npz(
    path: Path,
    result: AttentionResult,
    pooled: Optional[PooledAttention] = None,
    extra: Optional[dict[str, np.ndarray]] = None,
) -> Path:
    """Write tokens, weights and the model/checkpoint identity (JSON) to a ``.npz`` file, plus ``extra`` arrays.

    Queries and keys, when the result has them, go in as ``queries`` and ``keys`` [layers, heads, T, head size].
    """
    arrays: dict[str, Any] = {
        "text": np.array(result.text),
        "token_ids": np.array(result.token_ids, dtype=np.int32),
        "tokens": np.array(result.tokens, dtype=str),
        "attention": result.attention,
        "checkpoint": np.array(json.dumps(result.checkpoint, sort_keys=True)),
    }
    if result.queries is not None and result.keys is not None:
        arrays.update(queries=result.queries, keys=result.keys)
    if pooled is not None:
        arrays.update(
            items=np.array(pooled.items, dtype=str),
            token_items=np.array(pooled.token_items, dtype=np.int32),
            item_attention=pooled.attention,
        )
    arrays.update(extra or {})
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        np.savez_compressed(fh, **arrays)
    return path
