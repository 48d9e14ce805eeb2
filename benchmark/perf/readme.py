"""The README of a result (``results/perf/README.md``): machine, versions, and per section its
note, when and under what load it ran, and one table row per figure."""

from __future__ import annotations

import math
from pathlib import Path

from benchmark.perf.load import BUSY_CORES
from benchmark.perf.registry import get_section

__all__ = ["fmt", "readme_text", "target_bound", "write_readme"]


def fmt(x: float, near: float | None = None) -> str:
    """A figure's number as the README and the console print it: 3 significant digits below
    100, more (up to 6) where those would print it as its target's bound ``near`` that it is
    not (1.0306 against a bound of 1.03 prints ``1.031``, not ``1.03``)."""
    if not math.isfinite(x):
        return str(x)
    if abs(x) >= 100:
        return f"{x:.0f}"
    digits = 3
    while near is not None and x != near and digits < 6 and f"{x:.{digits}g}" == f"{near:.{digits}g}":
        digits += 1
    return f"{x:.{digits}g}"


def target_bound(figure: dict) -> float | None:
    """The bound of a figure's target (``perf.json``'s form), or None without one."""
    return figure["target"]["value"] if figure.get("target") else None


def readme_text(result: dict) -> str:
    """Markdown summary of a result: machine, versions, and one table row per figure."""
    m, v = result["machine"], result["versions"]
    lines = [
        "# Performance figures",
        "",
        "Written by `python -m benchmark.perf"
        + (" --quick" if result["config"] == "quick" else "")
        + "`; every ratio compares two things measured side by side in one run, interleaved over the repeats.",
        "Median over repeats, spread = (min, max); a target is met when the median meets it.",
        "",
        f"- created: {result['created']}, configuration: {result['config']}",
        f"- machine: {m['cpu']}, {m['cores']} cores" + (f", GPU {m['gpu']}" if "gpu" in m else "") + f"; {m['platform']}",
        f"- device measured: {result['device']}; torch threads: {result['torch_threads']['used']} "
        f"(default {result['torch_threads']['default']}); Ray trials use 1 thread each",
        "- versions: " + ", ".join(f"{k} {v[k]}" for k in ("python", "torch", "torchvision", "numpy", "scipy", "ray", "benchmark") if k in v)
        + (f"; git {v['git_commit'][:10]}" if v.get("git_commit") else ""),
        "",
    ]
    noisy = [n for n, s in result["sections"].items() if (s.get("other_processes_cores") or 0) >= BUSY_CORES]
    for name, sec in result["sections"].items():
        figs = [(k, f) for k, f in result["figures"].items() if f["section"] == name]
        lines += [f"## {name}", "", get_section(name).note, ""]
        lines.append(
            f"Run at {sec.get('started', result['created'])}" + (f" (commit {sec['commit'][:10]})" if sec.get("commit") else "")
            + f", {sec['seconds']:.0f} s; load average (1/5/15 min) "
            f"before {sec['load_before']}, after {sec['load_after']}; other processes kept "
            f"{sec.get('other_processes_cores', 'an unknown number of')} cores busy on average"
            + (" - the machine was busy: these figures may be disturbed." if name in noisy else ".")
        )
        lines += ["", "| figure | median | spread (min, max) | repeats | target | met |", "|---|---|---|---|---|---|"]
        for _, f in figs:
            target = f"{f['target']['op']} {f['target']['value']:g}" if f["target"] else ""
            met = {True: "yes", False: "**no**", None: ""}[f["met"]]
            bound = target_bound(f)
            lines.append(
                f"| {f['label']} | {fmt(f['median'], bound)} {f['unit']} | ({fmt(f['min'], bound)}, {fmt(f['max'], bound)}) "
                f"| {f['repeats']} | {target} | {met} |"
            )
        lines.append("")
    return "\n".join(lines)


def write_readme(result: dict, path: Path) -> None:
    """Write ``readme_text(result)`` to ``path``."""
    path.write_text(readme_text(result))
