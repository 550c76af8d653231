"""The Finetune tab's left column: dataset and run name, the base model choice and the hyperparameters.

The tab itself runs jobs and shows progress; this mixin only builds the form it reads its settings
from, and keeps the recipe (the measured defaults per kind of model) in step with the model choice.
"""

from __future__ import annotations

from typing import Optional

from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSpinBox,
)

from musicgpt_gui.core.model.train import fim, recipe
from musicgpt_gui.core.model.store import models, vocab
from musicgpt_gui.core.model import workflows
from musicgpt_gui.ui.context import AppContext

NEW, STORE, GPT2 = "new", "store", "gpt2"
HYPER = (  # settings key, label, minimum, maximum; the defaults are core's (the default base is a new model)
    ("steps", "Steps", 1, 1_000_000),
    ("batch_size", "Batch size", 1, 512),
    ("accumulate", "Gradient accumulation", 1, 256),
    ("window", "Window (tokens)", 16, 1024),
    ("warmup_steps", "Warmup steps", 0, 100_000),
    ("transpose", "Transpose copies (± semitones)", 0, 12),
    ("validate_every", "Validate every (steps, 0 = off)", 0, 100_000),
    ("sample_every", "Sample every (steps, 0 = off)", 0, 100_000),
    ("save_every", "Save every (steps, 0 = end only)", 0, 100_000),
    ("patience", "Early-stop patience (0 = off)", 0, 1000),
    ("seed", "Seed", 0, 2**31 - 1),
)
DEFAULTS = workflows.train_defaults(new_model=True)


class FinetuneForm:
    """Builds the form's widgets as attributes of the tab (``tab.hyper``, ``tab.learning_rate``...)."""

    context: AppContext

    def _data_box(self) -> QGroupBox:
        box = QGroupBox("Data and run")
        lay = QFormLayout(box)
        self.dataset = QComboBox()
        self.dataset.setToolTip("A dataset folder from the Dataset tab")
        self.run_name = QLineEdit(DEFAULTS["run"])
        self.run_name.setToolTip("The run's folder under checkpoint/ in the workspace")
        lay.addRow("Dataset", self.dataset)
        lay.addRow("Run name", self.run_name)
        return box

    def _model_box(self) -> QGroupBox:
        box = QGroupBox("Base model")
        lay = QGridLayout(box)
        self.model_kind = QButtonGroup(self)
        self.new_radio = QRadioButton("New small music model")
        self.store_radio = QRadioButton("Model in the workspace")
        self.gpt2_radio = QRadioButton("Downloaded GPT-2")
        for i, (radio, kind) in enumerate(((self.new_radio, NEW), (self.store_radio, STORE), (self.gpt2_radio, GPT2))):
            radio.setProperty("kind", kind)
            self.model_kind.addButton(radio, i)
        self.new_radio.setChecked(True)
        self.size = QComboBox()
        self.size.addItems(list(models.PRESETS))
        self.size.setCurrentText(workflows.NEW_MODEL_SIZE)
        self.size.setToolTip(
            "\n".join(f"{k}: {v['n_layer']} layers, {v['n_embd']} wide" for k, v in models.PRESETS.items())
        )
        self.vocab = QComboBox()
        self.vocab.addItems(sorted(vocab.KINDS, key=lambda kind: kind != vocab.DEFAULT_KIND))
        self.vocab.setToolTip("atomic: one token per note, rest and duration; bpe: byte-pair pieces")
        self.store_model = QComboBox()
        self.import_button = QPushButton("Import folder…")
        self.gpt2_size = QComboBox()
        self.gpt2_size.addItems(list(models.GPT2_SIZES))
        self.download_button = QPushButton("Download")
        self.model_note = QLabel()
        self.model_note.setProperty("role", "hint")
        self.model_note.setWordWrap(True)
        lay.addWidget(self.new_radio, 0, 0, 1, 3)
        lay.addWidget(QLabel("Size"), 1, 0)
        lay.addWidget(self.size, 1, 1)
        lay.addWidget(self.vocab, 1, 2)
        lay.addWidget(self.store_radio, 2, 0, 1, 3)
        lay.addWidget(self.store_model, 3, 0, 1, 2)
        lay.addWidget(self.import_button, 3, 2)
        lay.addWidget(self.gpt2_radio, 4, 0, 1, 3)
        lay.addWidget(self.gpt2_size, 5, 0, 1, 2)
        lay.addWidget(self.download_button, 5, 2)
        lay.addWidget(self.model_note, 6, 0, 1, 3)
        self.import_button.clicked.connect(self._import_model)
        self.download_button.clicked.connect(self._download)
        return box

    def _hyper_box(self) -> QGroupBox:
        box = QGroupBox("Hyperparameters")
        lay = QFormLayout(box)
        self.hyper: dict[str, QSpinBox] = {}
        for key, label, low, high in HYPER:
            spin = QSpinBox()
            spin.setRange(low, high)
            spin.setValue(DEFAULTS[key])
            self.hyper[key] = spin
            lay.addRow(label, spin)
        self.learning_rate = QDoubleSpinBox()
        self.learning_rate.setDecimals(6)
        self.learning_rate.setRange(1e-6, 1.0)
        self.learning_rate.setSingleStep(1e-4)
        self.learning_rate.setValue(DEFAULTS["learning_rate"])
        lay.insertRow(3, "Peak learning rate", self.learning_rate)
        self.use_minutes = QCheckBox("Train for")
        self.use_minutes.setToolTip("A time budget instead of the steps; the learning rate decays over it")
        self.minutes = QDoubleSpinBox(suffix=" minutes", decimals=1, minimum=0.1, maximum=10_000.0, value=10.0)
        self.minutes.setEnabled(False)
        self.use_minutes.toggled.connect(self.minutes.setEnabled)
        self.use_minutes.toggled.connect(lambda on: self.hyper["steps"].setEnabled(not on))
        lay.insertRow(1, self.use_minutes, self.minutes)
        self.model_kind.buttonToggled.connect(lambda button, on: on and self.apply_recipe())
        self.fim = QCheckBox(f"Fill-in-the-middle examples ({fim.RATE:.0%} of windows)")
        self.fim.setChecked(fim.NEW_MODEL_RATE > 0)
        self.fim.setToolTip(
            "Teaches the model to regenerate a selection with the music on both sides as context "
            "(Generate tab); needs a new music model or an extended GPT-2"
        )
        lay.addRow(self.fim)
        self.learn_controls = QCheckBox("Learn controls (density, polyphony, pitch and key per bar)")
        self.learn_controls.setToolTip(
            "Writes each bar's measured attributes as control items, binned by the training split's quantiles, "
            "so Generate can ask for them; needs a new music model (its vocabulary gets the control tokens)"
        )
        lay.addRow(self.learn_controls)
        return box

    def _fim_follows_model(self, button, checked: bool) -> None:
        """New music models have the FIM tokens and train with them by default; other bases rarely have them."""
        if checked:
            self.fim.setChecked(button.property("kind") == NEW and fim.NEW_MODEL_RATE > 0)

    def apply_recipe(self) -> None:
        """The measured defaults for the chosen kind of model (new music model or GPT-2)."""
        chosen = self.recipe()
        for key in ("batch_size", "window", "warmup_steps", "transpose"):
            self.hyper[key].setValue(getattr(chosen, key))
        self.learning_rate.setValue(chosen.learning_rate)

    def recipe(self) -> recipe.Recipe:
        kind = self.model_kind.checkedButton().property("kind")
        if kind == STORE and self.store_model.currentData():
            return recipe.for_hparams(models.get_model(self.context.workspace, self.store_model.currentData()).hparams)
        return recipe.for_model(kind == NEW)

    def _base_name(self) -> Optional[str]:
        kind = self.model_kind.checkedButton().property("kind")
        if kind == STORE:
            return self.store_model.currentData()
        if kind == GPT2:
            return self.gpt2_size.currentText()
        return None
