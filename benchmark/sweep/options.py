"""How a sweep runs, built once from the command line and handed to every stage."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

#: The executors a sweep can run on: Ray Tune (local or a cluster), or this process.
EXECUTORS = ("ray", "inline")


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

    @classmethod
    def from_args(cls, args) -> "SweepOptions":
        """The options of ``python -m benchmark.run --suite ...`` (its parsed arguments)."""
        return cls(
            out=args.out, data_root=args.data_root, executor=args.executor, address=args.address or os.environ.get("RAY_ADDRESS")
            if args.executor == "ray" else args.address, cpus_per_trial=args.cpus_per_trial, gpus_per_trial=args.gpus_per_trial,
            max_concurrent=args.max_concurrent, retries=args.retries, storage_path=args.storage_path, retry_failed=args.retry_failed,
            redo_outdated=args.redo_outdated, verbose=None if args.verbose else 0, progress=not args.no_progress,
            keep_predictions=args.keep_predictions,
        )  # fmt: skip

    def threads(self) -> int:
        """Torch threads of each run."""
        return max(1, int(self.cpus_per_trial))
