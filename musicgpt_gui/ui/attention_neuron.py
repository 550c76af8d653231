"""The Attention tab's neuron view: pages around the chosen token, written by a job, and the page and Qt kept in
step (layer, head, token).  A part of :class:`AttentionTab`, kept apart to keep that file small."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from musicgpt_gui.core.viz import neuron_page
from musicgpt_gui.ui.neuron_controls import PAGE_STATE, first_token, neuron_job


class NeuronViewMixin:
    """AttentionTab's methods (on its widgets and job slot) for the neuron view."""

    def _request_neuron_page(self) -> None:
        """Write a neuron page around the chosen token in a job (fetching queries and keys if still missing)."""
        if self.busy():
            self._neuron_wanted = True
            return
        self._neuron_wanted = False
        pages, position = self.pages, self.neuron.token.value()
        self.info.setText(f"Writing the neuron view around token {position}…")
        folder = Path(tempfile.mkdtemp(dir=self.page_dir))
        self.start_job(
            neuron_job, self.model, pages.ref, pages.result, position, folder,
            on_finished=lambda out: self._neuron_ready(pages, *out),
        )

    def _neuron_ready(self, pages: Any, queries, keys, page: neuron_page.NeuronPage) -> None:
        pages.result.queries, pages.result.keys, pages.neuron_page = queries, keys, page
        if pages is self.pages:
            self.info.setText(" ".join(page.notes))
            self._load_page()

    def _token_chosen(self, position: int) -> None:
        self._qt_choices += 1
        page = self._shown_page
        if self.neuron_mode() and isinstance(page, neuron_page.NeuronPage) and page.shows(position):
            self._select_page_token(position)
        else:
            self._load_page()

    def _select_page_token(self, position: int) -> None:
        page = self._shown_page
        if isinstance(page, neuron_page.NeuronPage) and page.shows(position):
            self.run_js(f"window.neuron && window.neuron.select({position - page.start});")

    def _note_selected(self, element: int) -> None:
        """A note clicked on the roll: its first token is the neuron view's token."""
        if self.pages is not None and 0 <= element < len(self.pages.pooled.items):
            self.neuron.select_token(first_token(self.pages.pooled, element))

    def _set_page_head(self) -> None:
        self._qt_choices += 1
        head = self.neuron.head.currentData()
        if head is not None:
            self.run_js(f"(function(s){{ if (s) {{ jQuery(s).val({int(head)}).change(); }} }})"
                        "(document.querySelector('select#att_head'));")

    def _neuron_page_loaded(self) -> None:
        """A neuron page opens on Qt's layer, head and token."""
        self._set_page_layer()
        self._set_page_head()
        self._select_page_token(self.neuron.token.value())

    def _read_neuron_state(self) -> None:
        choices = self._qt_choices
        self.run_js(PAGE_STATE, lambda value: self._neuron_state_is(value, choices))

    def _neuron_state_is(self, value: object, choices: int) -> None:
        """The neuron page's layer, head and token, unless Qt chose since or another page is on its way."""
        if choices != self._qt_choices or self.busy() or not self._page_ready:
            return
        if self._shown_page is not self.pages.neuron_page or self.views.currentWidget() is not self.bertviz:
            return
        state = self.neuron.page_state(value)
        if state is not None:
            self._page_layer_is(str(state["layer"]))
