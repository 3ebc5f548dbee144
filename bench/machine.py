"""The machine a benchmark ran on, in one line: CPU model, cores, Python version."""

import os
import platform


def machine():
    """'<CPU model>, <n> cores, Python <x.y.z>' (the model from /proc/cpuinfo where there is one)."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"
