"""Incremental GPT-2 decoding with the keys and values kept in the session: the Generator's inner loop.

Why not gpt-2-simple's ``model.model`` with a ``past`` input (our first Generator, and what its own
``sample_sequence`` loop does): every step concatenates the whole past again in every layer and the
caller feeds it back in, which cost ~12 ms per token on the small music model here.  This decoder
keeps each layer's keys and values in two resource variables laid out position-first
(``[capacity, batch, heads, depth]``); a step writes its own row in place and gathers rows
``0..pos`` back (~4 ms per token).  Measured: bench/results/generate*.txt.

The layers are gpt-2-simple's own functions (``norm``, ``conv1d``, ``mlp``, ``softmax``) under the
same variable scopes, so the same checkpoints load unchanged.  Only the attention against the cache
is written here: gpt-2-simple's ``attn`` derives its causal mask from tensor shapes, and a step that
reads exactly the rows ``0..pos`` needs no mask at all (the masked terms are exact zeros there too).

Every model variable is read through :func:`dense_reads`.  A gather straight from a resource
variable (gpt-2-simple's ``tf.gather(wte, X)``) switches it to copy-on-read, after which every
plain read of it copies it whole; gathering from the read value keeps the weights' reads
zero-copy.  The cache, written row by row, is only ever read by gathers.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np

from musicgpt_gui.core.model.store import gpt2_backend, tf_runtime

# A context is read by the step itself, token by token, while that costs less than building and
# running gpt-2-simple's full forward pass once (~2 s on first need); the cost of a step grows with
# the weights it reads.  Budget in tokens x weights: ~128 tokens on the small music model (4 x 256),
# ~4 on GPT-2 124M.
STEPPED_PROMPT_BUDGET = 4e8
# Once that pass is built (see :meth:`CachedDecoder.prepare`) it reads a whole context in about the time of
# a few steps, growing with the context's length: measured on the small music model, one pass over 25-40
# tokens took 12-68 ms where stepping them took 380-580 ms (a loaded 2-core machine).  So a warm pass
# reads the context when at least WARM_PASS_MIN_NEW + length / WARM_PASS_RATIO of its tokens are new.
WARM_PASS_MIN_NEW = 4
WARM_PASS_RATIO = 8


def dense_reads(getter: Callable[..., Any], name: str, *args: Any, **kwargs: Any):
    """Variable-scope custom getter: the variable's current value instead of the variable.

    A variable it creates starts at zeros, which builds faster than gpt-2-simple's random
    initialisers; the checkpoint's values replace them before any use.
    """
    kwargs["initializer"] = tf_runtime.tf().compat.v1.zeros_initializer()
    return getter(name, *args, **kwargs).read_value()


class CachedDecoder:
    """Decodes ``batch`` sequences of equal length, one token a step, from a restored checkpoint.

    Construct it inside the session's graph (it reuses or creates the ``model/`` variables), then
    :meth:`bind` it to the session once the checkpoint is restored.
    """

    def __init__(self, hparams: Any, batch: int) -> None:
        tf = tf_runtime.tf()
        self.hparams, self.batch = hparams, batch
        self.length = 0  # tokens in the cache
        self.capacity = 0  # rows the cache holds
        self.reused = 0  # context tokens the last start found in the cache
        self._held = np.zeros((batch, 0), dtype=np.int32)  # the tokens of rows 0..length-1
        self._session: Any = None
        self._prompt: Optional[Callable[..., Any]] = None
        heads, depth = hparams.n_head, hparams.n_embd // hparams.n_head
        with tf.compat.v1.variable_scope(f"kv_cache_batch{batch}"):
            rows = [None, batch, heads, depth]
            self._cache = [
                tuple(
                    tf.Variable(tf.zeros([0] + rows[1:]), shape=rows, trainable=False, name=f"h{layer}_{part}")
                    for part in "kv"
                )
                for layer in range(hparams.n_layer)
            ]
        self._rows = tf.compat.v1.placeholder(tf.int32, [], name=f"capacity{batch}")
        empty = tf.zeros(tf.stack([self._rows, batch, heads, depth]))
        self._reset = tf.group(*[var.assign(empty) for pair in self._cache for var in pair])
        self._token = tf.compat.v1.placeholder(tf.int32, [batch, 1], name=f"token{batch}")
        self._pos = tf.compat.v1.placeholder(tf.int32, [], name=f"position{batch}")
        self._logits = self._step_logits()

    def bind(self, session: Any) -> "CachedDecoder":
        """Initialise the cache in ``session`` (after the model's variables were restored)."""
        tf = tf_runtime.tf()
        self._session = session
        with session.graph.as_default():
            session.run(tf.compat.v1.variables_initializer([var for pair in self._cache for var in pair]))
        self._step = tf_runtime.fast_callable(session, [self._logits], [self._token, self._pos])
        self._clear = session.make_callable(self._reset, [self._rows])
        return self

    def start(self, contexts: np.ndarray, capacity: int) -> np.ndarray:
        """Read ``contexts`` [batch, T] into a cache of at least ``capacity`` rows; next-token logits [batch, n_vocab].

        Rows still holding the same leading tokens are kept (``reused`` says how many): generating
        again from the same prefix, or from a longer one, reads only the tokens that are new.
        """
        contexts = np.asarray(contexts, dtype=np.int32)
        length = contexts.shape[1]
        if not 0 < length <= capacity <= self.hparams.n_ctx:
            raise ValueError(
                f"A context of {length} tokens needs 0 < {length} <= capacity {capacity} <= {self.hparams.n_ctx}."
            )
        if capacity > self.capacity:
            self._clear(capacity)
            self.capacity, self.length = capacity, 0
            self._held = np.zeros((self.batch, capacity), dtype=np.int32)
        self.length = self.reused = self._reusable(contexts)
        if self._one_pass_cheaper(length, length - self.reused):
            (logits,) = self._prompt_pass()(contexts)
            self._held[:, :length] = contexts
            self.length, self.reused = length, 0
            return logits
        for column in contexts[:, self.reused :].T:
            logits = self.step(column)
        return logits

    def prepare(self) -> "CachedDecoder":
        """Build the one-pass context reader now and run it once (~2-3 s), so that a later context of many new
        tokens is read in one pass instead of token by token: what a live answer's first note waits for."""
        if self._prompt is None:
            self._prompt_pass()
            rows = max(self.capacity, 2 * WARM_PASS_MIN_NEW)
            self.start(np.zeros((self.batch, WARM_PASS_MIN_NEW), dtype=np.int32), rows)  # the pass's first run
            self.step(np.zeros(self.batch, dtype=np.int32))  # and the step's
        return self

    def _one_pass_cheaper(self, length: int, new: int) -> bool:
        """Whether to read a context of ``length`` tokens, ``new`` of them not in the cache, in one pass."""
        if self._prompt is not None:
            return new >= WARM_PASS_MIN_NEW + length // WARM_PASS_RATIO
        return new * self._weights_per_token() > STEPPED_PROMPT_BUDGET

    def _reusable(self, contexts: np.ndarray) -> int:
        """How many leading tokens of ``contexts`` the cache holds already (leaving at least one to read)."""
        limit = min(self.length, contexts.shape[1] - 1)
        same = np.all(self._held[:, :limit] == contexts[:, :limit], axis=0)
        return limit if same.all() else int(np.argmin(same))

    def _weights_per_token(self) -> int:
        """Weights a step multiplies with: 12 n_embd^2 per layer (attention 4, MLP 8)."""
        return 12 * self.hparams.n_layer * self.hparams.n_embd**2

    def step(self, tokens: np.ndarray) -> np.ndarray:
        """Append one token per sequence ([batch]); next-token logits [batch, n_vocab]."""
        if self.length >= self.capacity:
            raise ValueError(f"The cache is full ({self.capacity} tokens); start again with a shorter context.")
        column = np.asarray(tokens, dtype=np.int32).reshape(self.batch, 1)
        (logits,) = self._step(column, np.int32(self.length))
        self._held[:, self.length] = column[:, 0]
        self.length += 1
        return logits

    def _step_logits(self):
        model = gpt2_backend.model()
        tf = tf_runtime.tf()
        hp = self.hparams
        with tf.compat.v1.variable_scope("model", reuse=tf.compat.v1.AUTO_REUSE, custom_getter=dense_reads):
            wpe = tf.compat.v1.get_variable("wpe", [hp.n_ctx, hp.n_embd])
            wte = tf.compat.v1.get_variable("wte", [hp.n_vocab, hp.n_embd])
            h = tf.gather(wte, self._token) + tf.gather(wpe, self._pos)
            for layer in range(hp.n_layer):
                with tf.compat.v1.variable_scope(f"h{layer}"):
                    h = h + self._attend(model.norm(h, "ln_1"), layer)
                    h = h + model.mlp(model.norm(h, "ln_2"), "mlp", hp.n_embd * 4, hparams=hp)
            h = model.norm(h, "ln_f")
            return tf.matmul(h[:, 0], wte, transpose_b=True)

    def _attend(self, x, layer: int):
        """One layer's attention for the new token at ``pos``, after writing its key and value to the cache."""
        model = gpt2_backend.model()
        tf = tf_runtime.tf()
        hp, batch, pos = self.hparams, self.batch, self._pos
        depth = hp.n_embd // hp.n_head
        with tf.compat.v1.variable_scope("attn"):
            c = model.conv1d(x, "c_attn", hp.n_embd * 3)
            q, k, v = (tf.reshape(part, [batch, hp.n_head, depth]) for part in tf.split(c, 3, axis=2))
            keys, values = self._cache[layer]
            writes = [keys[pos : pos + 1].assign(k[None]).op, values[pos : pos + 1].assign(v[None]).op]
            with tf.control_dependencies(writes):
                rows = tf.range(pos + 1)
                past_k, past_v = keys.sparse_read(rows), values.sparse_read(rows)  # [pos+1, batch, heads, depth]
            scores = tf.reduce_sum(q[None] * past_k, axis=-1) * (1.0 / np.sqrt(depth))  # [pos+1, batch, heads]
            weights = model.softmax(scores, axis=0)
            mixed = tf.reduce_sum(weights[..., None] * past_v, axis=0)
            return model.conv1d(tf.reshape(mixed, [batch, 1, hp.n_embd]), "c_proj", hp.n_embd)

    def _prompt_pass(self) -> Callable[..., Any]:
        """gpt-2-simple's full forward pass over a context, writing its keys/values to the cache (built once)."""
        if self._prompt is None:
            model = gpt2_backend.model()
            tf = tf_runtime.tf()
            with self._session.graph.as_default():
                tokens = tf.compat.v1.placeholder(tf.int32, [self.batch, None], name=f"context{self.batch}")
                with tf.compat.v1.variable_scope("", custom_getter=dense_reads):
                    out = model.model(hparams=self.hparams, X=tokens, reuse=True)
                present, length = out["present"], tf.shape(tokens)[1]  # [batch, layers, 2, heads, T, depth]
                writes = [
                    var[:length].assign(tf.transpose(present[:, layer, part], [2, 0, 1, 3])).op
                    for layer, pair in enumerate(self._cache)
                    for part, var in enumerate(pair)
                ]
                with tf.control_dependencies(writes):
                    logits = tf.identity(out["logits"][:, -1, : self.hparams.n_vocab])
            self._prompt = tf_runtime.fast_callable(self._session, [logits], [tokens])
        return self._prompt
