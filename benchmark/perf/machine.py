"""Facts of the machine a result was measured on (CPU, cores, GPU, platform) and the versions
of what it ran (the run record's environment, with scipy and Ray)."""

from __future__ import annotations

import importlib.metadata
import os
import platform

import torch

from benchmark.records import environment

__all__ = ["machine", "versions"]


def machine() -> dict:
    """{"platform", "cpu" (the model name of /proc/cpuinfo where there is one), "cores"}, and
    "gpu" (the first CUDA device's name) where CUDA is available."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    out = {"platform": platform.platform(), "cpu": cpu, "cores": os.cpu_count()}
    if torch.cuda.is_available():
        out["gpu"] = torch.cuda.get_device_name(0)
    return out


def versions() -> dict:
    """``records.environment()`` (python, torch, numpy, the benchmark, its git commit, ...)
    with scipy's version, and Ray's where Ray is installed."""
    import scipy

    v = environment()
    v["scipy"] = scipy.__version__
    try:  # read from its metadata: importing Ray here would fix its choice of interfaces too early
        v["ray"] = importlib.metadata.version("ray")
    except importlib.metadata.PackageNotFoundError:
        pass
    return v
