"""Performance benchmark: ``python -m benchmark.perf [--quick] [--out results/perf]``.

Every figure is a ratio (or a rate beside its reference) of things measured side by side
in one run, interleaved across repeats, so that the drift of a shared machine hits both
sides alike; each is reported as the median over repeats with its spread (min, max).

Sections, one file each, are registered in ``registry``, in the order of the output; each
can be run alone with ``--only``, and an optional one runs only when asked for: ``suite_wall``
(``--suite-wall``; tens of minutes), ``paper_scale``, ``levers`` (it compiles: minutes),
``agreement`` (it reads the run records of ``--records`` instead of timing anything) and ``gpu``
(the device check: small-scale runs end to end and a paper-scale step in each precision). A section's file holds
its README note (its docstring), its sizes in the full and the ``--quick`` configuration
(``SIZES``) and ``measure(context) -> list[Figure]``; a new section is one such file and one
line in ``registry``.

Shared machinery, one job per module: ``figure`` (a reported figure, per-repeat ratios),
``timing`` (timed and interleaved calls), ``load`` (the CPU other processes used meanwhile),
``machine`` (machine facts, versions), ``inputs`` (synthetic street label maps), ``steps``
(the trainer's step on a fixed batch), ``section`` (what a section is), ``runner`` (running
sections, merging results), ``readme`` (the README of a result), ``cli`` (the command line).

``--update`` re-runs the sections named by ``--only`` and keeps the others of an
existing ``perf.json``; every section records when it ran and the load average around
it, and the README flags the sections measured on a busy machine.

CPU comparisons run with one torch thread (``torch.set_num_threads(1)``), Ray trials with
one thread each. On a machine with CUDA the sections that time a step or a run measure the
GPU, in the precision the trainer runs (fp32 with TF32 off unless a section names another,
``benchmark.arithmetic``), the device synchronised around each timing.
"""

from benchmark.perf.cli import build_parser, main, selected_sections
from benchmark.perf.edge_maps import edges_numpy_shift, edges_scipy
from benchmark.perf.figure import Figure
from benchmark.perf.floor import floor_seconds, step_flops, training_flops
from benchmark.perf.limits import native_bf16
from benchmark.perf.loss_overhead import LOSS_METHODS, loss_methods
from benchmark.perf.readme import readme_text, write_readme
from benchmark.perf.registry import SECTIONS, default_sections, get_section, register_section, section_names
from benchmark.perf.runner import merged, run
from benchmark.perf.section import CONFIGS, Context, Section
from benchmark.perf.suite_wall import suite_wall
from benchmark.perf.trimap import disk, trimap_by_dilation

__all__ = [
    "CONFIGS",
    "Context",
    "Figure",
    "LOSS_METHODS",
    "SECTIONS",
    "Section",
    "build_parser",
    "default_sections",
    "disk",
    "edges_numpy_shift",
    "edges_scipy",
    "floor_seconds",
    "get_section",
    "loss_methods",
    "main",
    "merged",
    "native_bf16",
    "readme_text",
    "register_section",
    "run",
    "section_names",
    "selected_sections",
    "step_flops",
    "suite_wall",
    "training_flops",
    "trimap_by_dilation",
    "write_readme",
]
