"""How a sweep runs, built once from the command line and handed to every stage."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from benchmark.arithmetic import DEVICE_CHOICES

#: The executors a sweep can run on: Ray Tune (local or a cluster), or this process.
EXECUTORS = ("ray", "inline")

#: Runs of these scales share a GPU by default, ``SMALL_RUNS_PER_GPU`` to a GPU. A small-scale
#: step is about 1.7 GFLOP spread over 200-700 kernel launches: the time goes to launching
#: kernels from the host, not to the GPU's arithmetic, so one run alone leaves a GPU mostly
#: idle while several runs' launches interleave on it (Ray gives each trial its share and
#: the same ``CUDA_VISIBLE_DEVICES``; CUDA time-slices the processes). Four keeps each run's
#: memory (a CUDA context of about 0.5 GB, its network and batches tens of MB) far below any
#: GPU's and needs four host cores per GPU, one per trial; paper-scale runs (2.7 TFLOP a
#: step) take a whole GPU. ``--gpus-per-trial`` overrides it.
SHARED_GPU_SCALES = ("smoke", "small")
SMALL_RUNS_PER_GPU = 4


def default_gpus_per_trial(scale: str, cluster_gpus: float) -> float:
    """GPUs a trial of ``scale`` asks for when ``--gpus-per-trial`` is not given, on a cluster
    of ``cluster_gpus`` GPUs: none without GPUs, ``1 / SMALL_RUNS_PER_GPU`` at the scales of
    ``SHARED_GPU_SCALES``, else one."""
    if not cluster_gpus:
        return 0
    return 1 / SMALL_RUNS_PER_GPU if scale in SHARED_GPU_SCALES else 1


@dataclass(frozen=True)
class SweepOptions:
    """Where records go and how runs are executed; the same for every stage of a suite.

    ``executor``: ``ray`` (trials through Ray Tune, locally or on ``address``) or ``inline``
    (one run at a time in this process, Ray never imported: for a debugger, the smallest
    machines and a GPU box without Ray). Both give the same records: each run trains with
    ``int(cpus_per_trial)`` torch threads either way.
    ``verbose``: Ray Tune's own console reporting (0: off, None: Ray's default).
    ``console``: the sweep's own lines; ``progress``: a live progress line (and preparation
    progress bars) where the output is a terminal.
    ``device``: where trials train (``arithmetic.pick_device``'s names): ``auto`` puts a trial
    given GPUs on CUDA and one given none on the CPU (``gpus_per_trial`` 0, or none in the
    cluster), which never sees a GPU; ``cpu`` gives no trial a GPU; ``cuda:K`` (inline only)
    names the GPU of this process.
    ``force``: re-run every run from step 0, its record and checkpoints notwithstanding.
    """

    out: str | os.PathLike = "runs"
    data_root: str | None = None
    executor: str = "ray"
    address: str | None = None
    cpus_per_trial: float = 1
    gpus_per_trial: float | None = None
    max_concurrent: int | None = None
    retries: int = 2
    storage_path: str | None = None
    checkpoint_every: int | None = None
    retry_failed: bool = False
    redo_outdated: bool = False
    verbose: int | None = 0
    progress: bool = False
    console: bool = True
    keep_predictions: bool = False
    device: str = "auto"
    force: bool = False

    def __post_init__(self):
        if self.executor not in EXECUTORS:
            raise ValueError(f"unknown executor {self.executor!r}; valid: {', '.join(EXECUTORS)}")
        if self.executor == "inline" and self.address:
            raise ValueError("--address names a Ray cluster; the inline executor runs in this process (drop one of them)")
        # Each would otherwise fail late, or never: a negative retry count is "forever" to Ray
        # Tune and a traceback inline; 0 or fewer CPUs a trial Ray never places.
        for flag, value, ok, expected in (
            ("--cpus-per-trial", self.cpus_per_trial, lambda v: math.isfinite(v) and v > 0, "a finite number > 0"),
            ("--gpus-per-trial", self.gpus_per_trial, lambda v: v is None or (math.isfinite(v) and v >= 0), "a finite number >= 0"),
            ("--max-concurrent", self.max_concurrent, lambda v: v is None or v >= 1, "an integer >= 1"),
            ("--retries", self.retries, lambda v: v >= 0, "an integer >= 0"),
            ("checkpoint_every", self.checkpoint_every, lambda v: v is None or v >= 0, "an integer >= 0"),
        ):  # fmt: skip
            if not ok(value):
                raise ValueError(f"{flag} must be {expected}, got {value:g}")
        device = (self.device or "auto").strip().lower()
        if device not in DEVICE_CHOICES and not device.startswith("cuda:"):
            raise ValueError(f"--device {self.device!r}: expected one of {', '.join(DEVICE_CHOICES)}, or cuda:K")
        if device == "cpu" and self.gpus_per_trial:
            raise ValueError(f"--device cpu gives trials no GPU; drop --gpus-per-trial {self.gpus_per_trial:g}")
        if device != "cpu" and device != "auto" and self.gpus_per_trial == 0:
            raise ValueError(f"--device {device} with --gpus-per-trial 0: a trial given no GPU runs on the CPU; drop one of them")
        if device.startswith("cuda:") and self.executor == "ray":
            raise ValueError(f"--device {device}: Ray gives each trial its own GPUs (seen as cuda:0); use --device cuda, or "
                             "--executor inline for one GPU of this machine")  # fmt: skip

    @classmethod
    def from_args(cls, args) -> "SweepOptions":
        """The options of ``python -m benchmark.run --suite ...`` (its parsed arguments)."""
        return cls(
            out=args.out, data_root=args.data_root, executor=args.executor, address=args.address or os.environ.get("RAY_ADDRESS")
            if args.executor == "ray" else args.address, cpus_per_trial=args.cpus_per_trial, gpus_per_trial=args.gpus_per_trial,
            max_concurrent=args.max_concurrent, retries=args.retries, storage_path=args.storage_path, retry_failed=args.retry_failed,
            redo_outdated=args.redo_outdated, verbose=None if args.verbose else 0, progress=not args.no_progress,
            keep_predictions=args.keep_predictions, device=args.device, force=args.force,
        )  # fmt: skip

    def threads(self) -> int:
        """Torch threads of each run."""
        return max(1, int(self.cpus_per_trial))

    def expected_device_type(self) -> str:
        """``cpu`` or ``cuda``: where the runs will train, as far as the driver can tell before an
        executor starts (under ``auto`` with no ``gpus_per_trial``, whether this process sees a
        GPU; a Ray executor decides from the cluster's resources once it has joined it)."""
        import torch

        device = (self.device or "auto").strip().lower()
        if device == "cpu" or self.gpus_per_trial == 0:
            return "cpu"
        if device.startswith("cuda") or self.gpus_per_trial:
            return "cuda"
        return "cuda" if torch.cuda.is_available() else "cpu"
