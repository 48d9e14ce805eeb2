"""What a Ray trial starts from when Ray Tune reuses its worker process.

A sweep's trials all ask for the same resources, so Ray Tune runs them in a few worker
processes, trial after trial (``TuneConfig(reuse_actors=True)``): a process starts (and
imports torch, the package and the plugins) once per concurrent trial rather than once per
run, which is most of a short run's cost. A run's numbers must not depend on which runs a
process served before it, so each trial starts from the state the process's first trial
started from (``start_trial``):

- torch's global generators (CPU, and CUDA through ``torch.manual_seed``), numpy's and
  Python's: restored to the first trial's start (``train`` seeds torch itself before it
  builds the network; nothing else may draw from a generator left as an earlier run left it);
- torch's global numerics switches (float32 matmul precision, TF32, cuDNN's benchmark and
  deterministic modes, deterministic algorithms): restored likewise;
- torch's thread count: the trial's own, set every time;
- the working directory: Ray Tune moves every trial, on a reused process too, into its own
  trial folder (``RAY_CHDIR_TO_TRIAL_DIR``; ``_TrainSession.reset``); no trial reads a
  path relative to it (specs and preparations carry absolute paths);
- the plugins of ``--import``: imported by the first trial; Tune reuses a process only
  within one experiment (it drops its cached processes when the experiment ends), whose
  trials all import the same modules.

Written by hand: Ray Tune resets its own session on reuse, not the libraries' globals.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["ProcessState", "start_trial"]


def _switches() -> dict[str, object]:
    """torch's process-wide numerics switches, by name."""
    return {
        "float32_matmul_precision": torch.get_float32_matmul_precision(),
        "cuda_matmul_tf32": torch.backends.cuda.matmul.allow_tf32,
        "cudnn_tf32": torch.backends.cudnn.allow_tf32,
        "cudnn_benchmark": torch.backends.cudnn.benchmark,
        "cudnn_deterministic": torch.backends.cudnn.deterministic,
        "deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
    }


def _set_switches(switches: dict[str, object]) -> None:
    torch.set_float32_matmul_precision(switches["float32_matmul_precision"])
    torch.backends.cuda.matmul.allow_tf32 = switches["cuda_matmul_tf32"]
    torch.backends.cudnn.allow_tf32 = switches["cudnn_tf32"]
    torch.backends.cudnn.benchmark = switches["cudnn_benchmark"]
    torch.backends.cudnn.deterministic = switches["cudnn_deterministic"]
    torch.use_deterministic_algorithms(switches["deterministic_algorithms"])


@dataclass(frozen=True)
class ProcessState:
    """The global state of this process that a run could read: generators and switches."""

    torch_seed: int
    torch_rng: torch.Tensor
    numpy_rng: tuple
    python_rng: tuple
    switches: dict[str, object]

    @classmethod
    def capture(cls) -> "ProcessState":
        return cls(torch.initial_seed(), torch.random.get_rng_state(), np.random.get_state(), random.getstate(), _switches())

    def restore(self) -> None:
        # manual_seed first: it also re-seeds every CUDA generator (lazily, without starting
        # CUDA), which no trial draws from before ``train`` seeds them; then the CPU state itself.
        torch.manual_seed(self.torch_seed)
        torch.random.set_rng_state(self.torch_rng)
        np.random.set_state(self.numpy_rng)
        random.setstate(self.python_rng)
        _set_switches(self.switches)


#: The state this process's first trial started from (None before it).
_FIRST: ProcessState | None = None


def start_trial(threads: int) -> bool:
    """Put this process in the state its first trial started from, with ``threads`` torch
    threads. True when an earlier trial ran in this process (the state was restored)."""
    global _FIRST
    reused = _FIRST is not None
    if reused:
        _FIRST.restore()
    else:
        _FIRST = ProcessState.capture()
    torch.set_num_threads(threads)
    return reused
