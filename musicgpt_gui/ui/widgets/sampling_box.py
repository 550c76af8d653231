"""The Generate tab's Sampling box: temperature, top-k, top-p, length, variations and seed, with the core's
defaults, so the GUI starts where the CLI does."""
from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QDoubleSpinBox, QFormLayout, QGroupBox, QHBoxLayout, QSpinBox

from musicgpt_gui.core.model.sample import generation

FIELDS = ("temperature", "top_k", "top_p", "length", "variations", "seed", "random_seed")  # remembered


class SamplingBox(QGroupBox):
    """The sampling settings a take is drawn with (steering and learned controls have boxes of their own)."""

    def __init__(self) -> None:
        super().__init__("Sampling")
        lay = QFormLayout(self)
        defaults = generation.GenerationSettings()
        self.temperature = QDoubleSpinBox(
            decimals=2, minimum=0.0, maximum=5.0, singleStep=0.05, value=defaults.temperature
        )
        self.temperature.setToolTip("0 = greedy (always the most likely token)")
        self.top_k = QSpinBox(minimum=0, maximum=100_000, value=defaults.top_k)
        self.top_k.setToolTip("0 = no top-k cut")
        self.top_p = QDoubleSpinBox(decimals=2, minimum=0.0, maximum=1.0, singleStep=0.05, value=defaults.top_p)
        self.top_p.setToolTip("0 = no nucleus cut")
        self.length = QSpinBox(minimum=1, maximum=4096, value=defaults.length)
        self.variations = QSpinBox(minimum=1, maximum=generation.MAX_VARIATIONS, value=defaults.variations)
        seed_row = QHBoxLayout()
        self.seed = QSpinBox(minimum=0, maximum=2**31 - 1, value=0)
        self.random_seed = QCheckBox("random")
        self.random_seed.setChecked(True)
        self.seed.setEnabled(False)
        self.random_seed.toggled.connect(lambda on: self.seed.setEnabled(not on))
        seed_row.addWidget(self.seed, 1)
        seed_row.addWidget(self.random_seed)
        lay.addRow("Temperature", self.temperature)
        lay.addRow("Top-k", self.top_k)
        lay.addRow("Top-p", self.top_p)
        lay.addRow("Length (tokens)", self.length)
        lay.addRow("Variations", self.variations)
        lay.addRow("Seed", seed_row)

    def settings(self, **rest) -> generation.GenerationSettings:
        """The settings this box holds, with ``rest`` (steering, controls) added."""
        return generation.GenerationSettings(
            length=self.length.value(),
            temperature=self.temperature.value(),
            top_k=self.top_k.value(),
            top_p=self.top_p.value(),
            variations=self.variations.value(),
            seed=None if self.random_seed.isChecked() else self.seed.value(),
            **rest,
        )
