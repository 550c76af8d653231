"""The devices a run can use and the memory each has free: what the plan compares its estimate with.

GPUs come from TensorFlow (``tf.config.list_physical_devices``, ``get_device_details`` for the name,
``get_memory_info`` for what TensorFlow already holds) and the memory TensorFlow may use per device
(``device_lib``'s ``memory_limit``: a GPU's total less the CUDA context); the CPU's is the available
RAM in /proc/meminfo.  Logical devices (``tf.config.set_logical_device_configuration``) are listed
one by one, so two logical CPUs stand in for two GPUs in the tests.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional

from musicgpt_gui.core.jobs import JobError
from musicgpt_gui.core.model.plan.memory import Device
from musicgpt_gui.core.model.store import tf_runtime

MEMINFO = Path("/proc/meminfo")


def available_ram() -> int:
    """Bytes of RAM available to a new allocation (MemAvailable), or total RAM where there is no /proc."""
    try:
        for line in MEMINFO.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def cpu_device() -> Device:
    """The CPU with its available RAM, known without loading TensorFlow."""
    return Device("CPU", "CPU", "CPU RAM", available_ram())


def tensorflow_loaded() -> bool:
    return "tensorflow" in sys.modules


def list_devices() -> list[Device]:
    """Every device TensorFlow will place training on: the logical GPUs, else the logical CPUs.

    Loads TensorFlow (call it from a job's thread).
    """
    tf = tf_runtime.tf()
    gpus = tf.config.list_logical_devices("GPU")
    if gpus:
        limits = _memory_limits()
        found = []
        for logical in gpus:
            name = _short(logical.name)
            used = _in_use(tf, name)
            label = f"{name} ({_gpu_model(tf, int(name.split(':')[1]))})"
            found.append(Device(name, "GPU", label, max(0, limits.get(name, 0) - used)))
        return found
    cpus = tf.config.list_logical_devices("CPU")
    ram = available_ram()
    if len(cpus) <= 1:
        return [Device("CPU", "CPU", "CPU RAM", ram)]
    return [Device(_short(c.name), "CPU", f"{_short(c.name)} (logical, shares RAM)", ram) for c in cpus]


def pick(devices: list[Device], names: Optional[list[str]]) -> list[Device]:
    """The devices named (all when ``names`` is empty), in the order given; a clear message for unknown names."""
    if not names:
        return devices
    by_name = {d.name.upper(): d for d in devices}
    unknown = [n for n in names if n.upper() not in by_name]
    if unknown:
        raise JobError(
            f"No device {', '.join(unknown)} here; TensorFlow sees: {', '.join(d.name for d in devices)}."
        )
    return [by_name[n.upper()] for n in names]


def _short(name: str) -> str:
    """'/device:GPU:0' -> 'GPU:0'."""
    return name.split("device:")[-1]


def _gpu_model(tf, index: int) -> str:
    physical = tf.config.list_physical_devices("GPU")
    if index >= len(physical):  # a logical device past the physical ones (split GPU)
        index = 0
    return tf.config.experimental.get_device_details(physical[index]).get("device_name", "GPU")


def _in_use(tf, name: str) -> int:
    """Bytes TensorFlow's allocator already holds on the device (0 where it cannot say)."""
    try:
        return int(tf.config.experimental.get_memory_info(name)["current"])
    except (ValueError, RuntimeError):
        return 0


def _memory_limits() -> dict[str, int]:
    """Bytes TensorFlow may allocate per GPU (the device's memory less the CUDA context)."""
    from tensorflow.python.client import device_lib

    return {_short(d.name): int(d.memory_limit) for d in device_lib.list_local_devices() if d.device_type == "GPU"}
