"""Running sections: ``run`` measures the named sections and returns the JSON-able result
(machine, versions, when and under what load each section ran, every figure); ``merged``
keeps the sections of an earlier result that a new one did not run (``--update``)."""

from __future__ import annotations

import datetime
import os
import time
from collections.abc import Sequence

import torch

from benchmark.allocator import keep_freed_memory
from benchmark.perf.load import others_meter
from benchmark.perf.machine import machine, versions
from benchmark.perf.registry import default_sections, get_section, section_names
from benchmark.perf.section import CONFIGS, Context

__all__ = ["run", "merged"]


def run(config: str = "full", *, sections: Sequence[str] | None = None, progress: bool = True, threads: int = 1,
        suite_wall_records: str | os.PathLike | None = None, records: Sequence[str | os.PathLike] = ("results/runs",),
        suite_wall_fast: Sequence[str] = ()) -> dict:
    """Run the benchmark sections (default: ``default_sections()``) at the sizes of ``config``
    ("full" or "quick"); returns the JSON-able result (see ``readme.readme_text``).
    ``suite_wall_records``: where the ``suite_wall`` section keeps its suite's records;
    ``records``: the folders of run records the ``agreement`` section reads; ``suite_wall_fast``: the
    settings (``KEY=VALUE``) of ``suite_wall``'s second timing."""
    from benchmark.arithmetic import pick_device

    folders = (records,) if isinstance(records, (str, os.PathLike)) else tuple(records)
    if config not in CONFIGS:
        raise ValueError(f"unknown configuration {config!r}; valid: {', '.join(CONFIGS)}")
    chosen = [get_section(name) for name in (default_sections() if sections is None else sections)]
    default_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    keep_freed_memory()  # as the trainer does: both sides of every ratio allocate alike
    device = pick_device()
    result = {
        "config": config,
        "created": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": machine(),
        "versions": versions(),
        "device": str(device),
        "torch_threads": {"default": default_threads, "used": threads},
        "sections": {},
        "figures": {},
    }
    try:
        for section in chosen:
            context = Context(config, section.sizes[config], device, progress, suite_wall_records, folders, tuple(suite_wall_fast))
            load_before = os.getloadavg()
            stamp = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
            started = time.perf_counter()
            others = others_meter()
            figures = section.measure(context)
            others_cores = others()
            result["sections"][section.name] = {
                "started": stamp,
                "commit": result["versions"].get("git_commit"),  # with --update, each section keeps its own
                "seconds": time.perf_counter() - started,
                "load_before": [round(x, 2) for x in load_before],
                "load_after": [round(x, 2) for x in os.getloadavg()],
                "other_processes_cores": None if others_cores is None else round(others_cores, 2),
            }
            for fig in figures:
                result["figures"][f"{fig.section}.{fig.key}"] = fig.to_dict()
    finally:
        torch.set_num_threads(default_threads)
    return result


def merged(previous: dict, new: dict) -> dict:
    """``new`` with the sections of ``previous`` that it did not run, in the usual order."""
    sections = {**previous["sections"], **new["sections"]}
    figures = {k: f for k, f in previous["figures"].items() if f["section"] not in new["sections"]}
    figures.update(new["figures"])
    order = {name: i for i, name in enumerate(section_names())}
    out = dict(new)
    out["sections"] = {k: sections[k] for k in sorted(sections, key=order.__getitem__)}
    out["figures"] = {k: figures[k] for k in sorted(figures, key=lambda k: order[figures[k]["section"]])}
    return out
