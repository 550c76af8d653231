"""A checkpoint kept loaded between calls: the shared base of generation and attention.

The TensorFlow graph and session are created lazily by the first call that needs them,
i.e. on the thread that uses them, and every later call reuses them.  :meth:`load` may be
called freely (for instance whenever the GUI's run picker changes): it rebuilds only when
the run or its checkpoint file actually changed.  Calls are serialised by a lock.
"""
from __future__ import annotations

import threading
from typing import Any, Optional

from musicgpt_gui.core.model.store import tf_runtime
from musicgpt_gui.core.model.store import vocab
from musicgpt_gui.core.model.store.checkpoints import CheckpointRef, restore, trained_context
from musicgpt_gui.core.jobs import JobError, Progress, ProgressFn


class WarmModel:
    """Subclasses say what to build in :meth:`_build_graph`; this class owns its lifetime."""

    session_options: dict[str, Any] = {}  # keyword arguments for tf_runtime.new_session

    def __init__(self, ref: Optional[CheckpointRef] = None) -> None:
        self._lock = threading.Lock()
        self._ref: Optional[CheckpointRef] = None
        self._stamp: Optional[tuple[str, float]] = None
        self._session = None
        self._model: Any = None  # what _bind made of the built graph
        self.loads = 0  # graphs built so far: warmth is observable by the GUI and tests
        if ref is not None:
            self.load(ref)

    @property
    def checkpoint(self) -> Optional[CheckpointRef]:
        return self._ref

    def load(self, ref: CheckpointRef) -> None:
        """Use ``ref``; the current graph is dropped only if the checkpoint changed."""
        with self._lock:
            if self._ref is not None and ref.stamp() == self._stamp:
                return
            self._close()
            raw = tf_runtime.read_hparams(ref.run_dir)
            self.hparams = tf_runtime.hparams_object(raw)
            self.context = trained_context(ref.run_dir, raw)  # what inference may use of n_ctx
            self.encoder = vocab.load_encoder(ref.run_dir)
            self._ref, self._stamp = ref, ref.stamp()

    def close(self) -> None:
        with self._lock:
            self._close()

    def _close(self) -> None:
        if self._session is not None:
            self._session.close()
        self._session = self._model = None

    def _ready(self, on_progress: ProgressFn) -> Any:
        """The bound model, building graph and session on first use (lock held)."""
        if self._ref is None:
            raise JobError("No checkpoint is loaded: choose a trained run first.")
        if self._model is None:
            on_progress(Progress(0.0, "loading the model"))
            graph = tf_runtime.tf().Graph()
            with graph.as_default():
                built = self._build_graph()
            self._session = tf_runtime.new_session(graph, **self.session_options)
            restore(self._session, self._ref)
            self._model = self._bind(built)
            self.loads += 1
        return self._model

    def _build_graph(self) -> Any:
        """Build into the default graph (creating the ``model/`` variables); return what _bind needs."""
        raise NotImplementedError

    def _bind(self, built: Any) -> Any:
        """What calls use, once the checkpoint is restored: by default a callable over (fetches, feeds)."""
        fetches, feeds = built
        return self._session.make_callable(fetches, feeds)
