"""The arithmetic of a run: which device it trains on and in what floating-point precision.

``Settings.precision`` is a protocol choice (it enters the run id) and means the same on every
device:

* ``fp32``: float32 throughout; on CUDA TF32 is turned off for matrix products and cuDNN
  convolutions (torch leaves it on for convolutions by default), so fp32 is fp32;
* ``tf32``: float32 storage with TF32 matrix products and convolutions (CUDA only);
* ``bf16``: the training step's forward under ``torch.autocast`` in bfloat16, on a CPU or CUDA;
* ``fp16``: the forward under autocast in float16 with a dynamic loss scaler (CUDA only: a CPU
  has no fp16 kernels worth the name, and the scaler is CUDA's).

Evaluation runs in float32 in every precision (TF32 under ``tf32`` alone), as it always has.

The loss scaler skips an optimiser step whose unscaled gradient is not finite (the scale is
then halved). The learning-rate schedule counts iterations, skipped or not, as torch's AMP
recipe does, so a run's schedule and its data order are those of every other precision; the
record says how many steps were skipped (``rounding.skipped_steps``).
"""

from __future__ import annotations

from contextlib import contextmanager, nullcontext

import torch

__all__ = ["PRECISIONS", "CUDA_ONLY", "DEVICE_CHOICES", "pick_device", "check_precision", "autocast_for", "uses_loss_scaler",
           "precision_flags", "deterministic_on", "ResumeMismatch", "checkpoint_arithmetic", "check_resume"]  # fmt: skip

#: Values of ``Settings.precision``; fp32 is the default and the only one of the committed runs.
PRECISIONS = ("fp32", "tf32", "bf16", "fp16")
#: Precisions only CUDA runs.
CUDA_ONLY = ("tf32", "fp16")
#: What ``--device`` takes (besides ``cuda:K``).
DEVICE_CHOICES = ("auto", "cpu", "cuda")


def pick_device(choice: str = "auto") -> torch.device:
    """The device ``choice`` names: ``auto`` (CUDA where torch sees a GPU, else the CPU),
    ``cpu``, ``cuda`` or ``cuda:K``. ``ValueError`` (one line) for a device this machine lacks
    or a name that is none of these."""
    choice = (choice or "auto").strip().lower()
    if choice == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if choice == "cpu":
        return torch.device("cpu")
    if choice == "cuda" or choice.startswith("cuda:"):
        index = choice.partition(":")[2]
        if index and not index.isdigit():
            raise ValueError(f"--device {choice}: expected cuda:K with K a GPU index, e.g. cuda:0")
        if not torch.cuda.is_available():
            raise ValueError(f"--device {choice}: torch sees no CUDA GPU here; use --device cpu (or auto)")
        if index and int(index) >= torch.cuda.device_count():
            raise ValueError(f"--device {choice}: this machine has {torch.cuda.device_count()} CUDA GPU(s), cuda:0 to "
                             f"cuda:{torch.cuda.device_count() - 1}")  # fmt: skip
        return torch.device(choice)
    raise ValueError(f"--device {choice!r}: expected one of {', '.join(DEVICE_CHOICES)}, or cuda:K")


def check_precision(precision: str, device_type: str) -> None:
    """``ValueError`` (one line) when ``precision`` cannot run on a device of ``device_type``."""
    if precision not in PRECISIONS:
        raise ValueError(f"setting precision must be {' or '.join(PRECISIONS)}, got {precision!r}")
    if precision in CUDA_ONLY and device_type != "cuda":
        raise ValueError(f"precision {precision} runs on CUDA only, and this run is on the {device_type}; "
                         f"use --set precision=fp32 or bf16 here, or --device cuda on a machine with a GPU")  # fmt: skip


def autocast_for(device: torch.device, precision: str = "fp32"):
    """The autocast context of a training step's forward: bfloat16 under ``bf16`` (CPU or
    CUDA), float16 under ``fp16`` (CUDA), none under ``fp32`` and ``tf32``."""
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    if precision == "fp16":
        check_precision(precision, device.type)
        return torch.autocast("cuda", dtype=torch.float16)
    return nullcontext()


def uses_loss_scaler(device: torch.device, precision: str) -> bool:
    """Whether the step scales its loss (``torch.amp.GradScaler``): fp16 on CUDA only."""
    return device.type == "cuda" and precision == "fp16"


def deterministic_on(device: torch.device) -> bool:
    """Whether a run on ``device`` gives the same bits every time (same machine, same threads).
    True on a CPU; False on CUDA, where torch has no deterministic kernel for the backward of
    the cross-entropy's gather or of the bilinear up-sampling (atomic adds), whatever flags say."""
    return device.type != "cuda"


@contextmanager
def precision_flags(device: torch.device, precision: str):
    """Set, for the block, the global flags of ``precision``: TF32 for matrix products and cuDNN
    convolutions on under ``tf32`` only, off otherwise (torch's own default leaves it on for
    convolutions); on CUDA, cuDNN's deterministic algorithms, no autotuning. Restored after.
    On a CPU this keeps float32 matrix products at torch's default, highest precision, so its
    arithmetic is what it always was."""
    tf32 = precision == "tf32"
    before = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32, torch.backends.cudnn.deterministic,
              torch.backends.cudnn.benchmark)  # fmt: skip
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    if device.type == "cuda":
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    try:
        yield
    finally:
        (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32, torch.backends.cudnn.deterministic,
         torch.backends.cudnn.benchmark) = before  # fmt: skip


class ResumeMismatch(ValueError):
    """A training state made under another device type or precision than the run resuming it."""


def checkpoint_arithmetic(state: dict) -> tuple[str, str | None]:
    """(device type, precision) a training state was made under. A state saved before these
    were kept tells its device by its loss scaler's state: non-empty on CUDA, where the step
    then always ran fp16 autocast; empty on a CPU, whose precision was the spec's (None)."""
    made = state.get("arithmetic")
    if made:
        return made["device"], made["precision"]
    return ("cuda", "fp16") if state.get("scaler") else ("cpu", None)


def check_resume(state: dict, device: torch.device, precision: str, where: str = "") -> None:
    """``ResumeMismatch`` (one line, saying how to continue) when ``state`` was made under
    another device type or precision than a run on ``device`` in ``precision``: its optimiser
    and loss-scaler state, and the floats it holds, belong to that arithmetic."""
    made_device, made_precision = checkpoint_arithmetic(state)
    if made_device == device.type and made_precision in (None, precision):
        return
    made = f"on {made_device}" + (f" in {made_precision}" if made_precision else "")
    raise ResumeMismatch(f"checkpoint{' ' + where if where else ''} of run {state.get('run_id')} at step {state.get('step')} was made {made}; "
                         f"this run is on {device.type} in {precision}: continue it with --device {made_device}, or re-run it from "
                         "step 0 with --force")  # fmt: skip
