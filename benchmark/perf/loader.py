"""Training samples per second and per core (one torch thread, in one process) at the paper
scale's Cityscapes settings (read at 1024x512, rescaled by 0.5-1.5, mirrored, 321x321 crops)
from the tests' realistic 2048x1024 Cityscapes files (`tests/realistic_data.py`): read from the
files preparation decoded them into (`benchmark.data.decoded`) against decoded from the PNGs
and resized at every draw; the two paths' samples are asserted identical before timing. Also
the read alone (no augmentation) on each path, and the loader cores a GPU's paper step needs
at the measured rate: 6 samples every 15 ms (the middle of the 10-25 ms that its 2.7 TFLOP
take on a current datacentre GPU).
"""

from __future__ import annotations

import importlib.util
import tempfile
from pathlib import Path

import torch

from benchmark.perf.figure import Figure, ratios
from benchmark.perf.section import Context
from benchmark.perf.timing import interleaved

__all__ = ["SIZES", "PAPER_STEP_S", "PAPER_BATCH", "measure"]

#: Configuration -> (training images written at 2048x1024, repeats).
SIZES = {"full": (6, 5), "quick": (3, 3)}
#: A paper-scale step on a current datacentre GPU (2.7 TFLOP: 10-25 ms) and its batch.
PAPER_STEP_S, PAPER_BATCH = 0.015, 6
#: The repository's root, whose tests/realistic_data.py writes the files.
ROOT = Path(__file__).resolve().parents[2]


def _realistic_data():
    """The tests' writer of realistic Cityscapes files (in a checkout, not in the package)."""
    path = ROOT / "tests" / "realistic_data.py"
    if not path.exists():
        raise FileNotFoundError(f"the loader section writes the tests' realistic Cityscapes files: {path} not found (run it from a checkout)")
    spec = importlib.util.spec_from_file_location("realistic_data", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def measure(ctx: Context) -> list[Figure]:
    """Samples per second per core of the paper scale's Cityscapes training samples from the
    decoded files and from the PNGs (2048x1024 files read at 1024x512), and of the read alone.
    Target: decoded >= 5x the PNGs."""
    from benchmark.data import Augmented, load_split
    from benchmark.prepare import prepare
    from benchmark.spec import RunSpec
    from benchmark.train import train_set

    n, repeats = ctx.sizes
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with tempfile.TemporaryDirectory(prefix="perf-loader-") as tmp:
            root = Path(tmp) / "cityscapes"
            _realistic_data().write_cityscapes(root, n_train=n, n_val=1)
            spec = RunSpec.create("ppce", scale="paper", dataset="cityscapes")
            s = spec.settings
            prepared = prepare(spec, data_root=root, cache_dir=Path(tmp) / "prepared", edge_net=False)
            decoded = train_set(spec, prepared)
            files = load_split("cityscapes", root, "train", resize=s.resize)
            from_png = Augmented(files, decoded.augment, seed=spec.seed)
            keys = [(0, i) for i in range(n)]
            for key in keys:
                (a, ta), (b, tb) = decoded[key], from_png[key]
                if not (torch.equal(a, b) and torch.equal(ta, tb)):
                    raise AssertionError(f"the decoded files' sample {key} differs from the PNGs'")
            fns = {
                "decoded": lambda: [decoded[k] for k in keys],
                "png": lambda: [from_png[k] for k in keys],
                "decoded_read": lambda: [decoded.base[i] for _, i in keys],
                "png_read": lambda: [files[i] for _, i in keys],
            }
            times = interleaved(fns, repeats, desc="loader", progress=ctx.progress)
    finally:
        torch.set_num_threads(threads)
    rate = {name: [n / t for t in values] for name, values in times.items()}
    h, w = s.resize
    what = f"{n} Cityscapes images 2048x1024 read at {w}x{h}, crops {s.crop[1]}x{s.crop[0]}, scales {s.scale_range[0]}-{s.scale_range[1]}"
    needed = PAPER_BATCH / PAPER_STEP_S
    return [
        Figure("loader", "decoded_samples_s", f"training samples from the decoded files, one core, {what}", "samples/s", rate["decoded"]),
        Figure("loader", "png_samples_s", f"training samples decoded from the PNGs, one core, {what}", "samples/s", rate["png"]),
        Figure("loader", "speedup", "decoded files over PNGs, training samples (read, rescale, mirror, crop) per core", "x",
               ratios(times["png"], times["decoded"]), (">=", 5.0)),
        Figure("loader", "read_speedup", f"decoded files over PNGs, the read alone (image and mask at {w}x{h}) per core", "x",
               ratios(times["png_read"], times["decoded_read"])),
        Figure("loader", "cores_for_a_paper_step", f"loader cores to feed a GPU's paper step ({PAPER_BATCH} samples every "
               f"{1000 * PAPER_STEP_S:.0f} ms: {needed:.0f} samples/s) from the decoded files", "cores",
               [needed / r for r in rate["decoded"]]),
        Figure("loader", "png_cores_for_a_paper_step", "the same from the PNGs", "cores", [needed / r for r in rate["png"]]),
    ]  # fmt: skip
