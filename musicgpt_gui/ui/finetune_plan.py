"""The Finetune tab's memory plan and device choice: does the run fit before Start, and the fix in one click.

The plan is arithmetic (core/model/plan), recomputed whenever the model, batch, window, accumulation or
devices change.  Until TensorFlow is loaded the tab knows only the CPU's RAM; "Find devices" loads it
in a job and lists the GPUs (or logical devices), which the device choice then offers.
"""

from __future__ import annotations

from typing import Optional

from PySide6.QtWidgets import QCheckBox, QComboBox, QGridLayout, QGroupBox, QLabel, QPushButton

from musicgpt_gui.core.jobs import JobError
from musicgpt_gui.core.model import workflows
from musicgpt_gui.core.model.plan import devices as plan_devices
from musicgpt_gui.core.model.plan import memory
from musicgpt_gui.core.model.train import training
from musicgpt_gui.ui.finetune_form import GPT2, NEW, STORE

PLAN_KEYS = ("batch_size", "accumulate", "window")


class FinetunePlan:
    """Builds ``plan_label``, ``fit_button``, ``device_choice`` and ``find_devices_button`` on the tab."""

    plan: Optional[memory.Plan] = None

    def _plan_box(self) -> QGroupBox:
        box = QGroupBox("Memory and devices")
        lay = QGridLayout(box)
        self.device_choice = QComboBox()
        self.device_choice.setToolTip("Where to train; several devices train data-parallel (the batch is split)")
        self.find_devices_button = QPushButton("Find devices")
        self.find_devices_button.setToolTip("Load TensorFlow and list the GPUs it sees")
        self.mixed_precision = QCheckBox("Mixed precision")
        self.mixed_precision.setToolTip("float16 maths with a dynamic loss scale: less memory and faster on a GPU")
        self.plan_label = QLabel()
        self.plan_label.setWordWrap(True)
        self.fit_button = QPushButton()
        self.fit_button.setToolTip("Keep the examples per step; train them in smaller pieces")
        self.fit_button.setVisible(False)
        self.recovery_label = QLabel()
        self.recovery_label.setProperty("role", "hint")
        self.recovery_label.setWordWrap(True)
        lay.addWidget(QLabel("Devices"), 0, 0)
        lay.addWidget(self.device_choice, 0, 1)
        lay.addWidget(self.find_devices_button, 0, 2)
        lay.addWidget(self.mixed_precision, 1, 0, 1, 3)
        lay.addWidget(self.plan_label, 2, 0, 1, 3)
        lay.addWidget(self.fit_button, 3, 0, 1, 2)
        lay.addWidget(self.recovery_label, 4, 0, 1, 3)
        self.devices_found = plan_devices.tensorflow_loaded()
        self.set_devices(plan_devices.list_devices() if self.devices_found else [plan_devices.cpu_device()])
        self.find_devices_button.clicked.connect(self._find_devices)
        self.fit_button.clicked.connect(self.apply_fit)
        self.device_choice.currentIndexChanged.connect(self.update_plan)
        self.mixed_precision.toggled.connect(self.update_plan)
        for key in PLAN_KEYS:
            self.hyper[key].valueChanged.connect(self.update_plan)
        self.model_kind.buttonToggled.connect(lambda _button, on: on and self.update_plan())
        for combo in (self.size, self.store_model, self.gpt2_size):
            combo.currentIndexChanged.connect(self.update_plan)
        return box

    def set_devices(self, found: list[memory.Device]) -> None:
        """Offer each device alone and, when there are several, all of them together."""
        self.known_devices = found
        current = self.device_choice.currentData()
        self.device_choice.blockSignals(True)
        self.device_choice.clear()
        for device in found:
            self.device_choice.addItem(f"{device.label}, {memory.gb(device.free_bytes)} free", (device.name,))
        if len(found) > 1:
            self.device_choice.addItem(f"All {len(found)} devices (data-parallel)", tuple(d.name for d in found))
        index = self.device_choice.findData(current)
        self.device_choice.setCurrentIndex(max(0, index))
        self.device_choice.blockSignals(False)
        gpu = any(d.kind == "GPU" for d in found)
        self.mixed_precision.setEnabled(gpu)
        self.mixed_precision.setToolTip(
            self.mixed_precision.toolTip() if gpu else "Off on the CPU: mixed precision needs a GPU"
        )
        self.update_plan()

    def choose_devices(self, names: str) -> None:
        """Select the remembered choice ("GPU:0,GPU:1") if these devices are here."""
        index = self.device_choice.findData(tuple(n for n in names.split(",") if n))
        if index >= 0:
            self.device_choice.setCurrentIndex(index)

    def chosen_devices(self) -> tuple[str, ...]:
        """The devices to train on; one device is TensorFlow's own placement (no towers)."""
        chosen = self.device_choice.currentData() or ()
        return tuple(chosen) if len(chosen) > 1 else ()

    def update_plan(self, *_args) -> None:
        kind = self.model_kind.checkedButton().property("kind")
        try:
            cfg = self.config(resume=False)
            label, hparams = workflows.planned_model(
                self.context.workspace,
                self._base_name(),
                self.size.currentText() if kind == NEW else None,
            )
            if kind not in (NEW, STORE, GPT2):
                raise JobError(f"unknown base {kind}")
            chosen = self.device_choice.currentData() or (self.known_devices[0].name,)
            devices = [d for d in self.known_devices if d.name in chosen]
            self.plan = memory.plan(
                label,
                hparams,
                cfg.batch_size,
                cfg.window,
                cfg.accumulate,
                devices[0],
                max(1, len(chosen)),
                mixed=cfg.mixed_precision,
            )
        except JobError as exc:
            self.plan = None
            self.plan_label.setText(f"Memory plan: {exc}")
            self.fit_button.setVisible(False)
            return
        hint = "" if self.devices_found else " (Find devices to look for a GPU.)"
        self.plan_label.setText(self.plan.line + hint)
        fix = self._fix_text()
        self.fit_button.setVisible(bool(fix))
        self.fit_button.setText(fix)

    def _fix_text(self) -> str:
        plan = self.plan
        if plan is None or plan.fits:
            return ""
        if plan.fit_batch:
            return f"Use micro-batch {plan.fit_batch} × {plan.fit_accumulate} accumulated"
        if plan.fit_window:
            return f"Use {plan.fit_window}-token windows, {plan.devices} at a time"
        return ""

    def apply_fit(self) -> None:
        """Set the form to the plan's proposal (the effective batch stays)."""
        if self.plan is None:
            return
        fitted = workflows.apply_plan(self.config(resume=False), self.plan)
        for key in PLAN_KEYS:
            self.hyper[key].blockSignals(True)
            self.hyper[key].setValue(getattr(fitted, key))
            self.hyper[key].blockSignals(False)
        self.update_plan()

    def _find_devices(self) -> None:
        self.plan_label.setText("Looking for devices (TensorFlow loads on the first search)…")
        self.start_job(lambda *, on_progress, cancel: plan_devices.list_devices(), on_finished=self._devices_listed)

    def _devices_listed(self, found: list[memory.Device]) -> None:
        self.devices_found = True
        self.set_devices(found)

    def show_recovery(self, info: training.TrainProgress) -> None:
        """An out-of-memory recovery during the run: say it where it stays visible, and show the new batch."""
        message = info.recovered or ""
        self.recovery_label.setText(message[:1].upper() + message[1:] + ".")
        for key, value in (("batch_size", info.batch_size), ("accumulate", info.accumulate)):
            self.hyper[key].blockSignals(True)
            self.hyper[key].setValue(value)
            self.hyper[key].blockSignals(False)
