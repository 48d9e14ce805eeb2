"""The results page, ``index.html``: every table and figure of the report on one page.

Written after every part (``build.build_report``), from what they wrote: each table from the
``Document`` its Markdown file was written from (``PartOutput.documents``), so the page cannot
disagree with the Markdown, LaTeX and CSV files; each figure as the PNG beside the page, with
its caption and a link to its vector twin; the stamp of the records (versions, commits,
devices, the definitions their counts were made under); and a row per run linking its record,
its loss curve (drawn small in the row, and the figure holding its panel) and the overlay of its
kept predictions where a qualitative figure shows them.

The page is self-contained: nothing is fetched from the network (no script, style sheet or
font from elsewhere); the figures and files it shows or links sit beside it in the report
folder, and only a run's record is linked where the records lie (``..`` from the default
report folder). A table sorts by a column when its header is clicked: the few lines of inline
script in ``SORT_SCRIPT``, no framework.
"""

from __future__ import annotations

import html
import math
import re
import struct
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd

from benchmark.divergence import RULE_TEXT
from benchmark.records import record_path
from benchmark.report.output import PartInput, PartOutput
from benchmark.report.render import Document, Section
from benchmark.report.scope import plumbing_banner

__all__ = ["PAGE", "SORT_SCRIPT", "page_html", "section_html", "write_page"]

#: The page's file name in the report folder.
PAGE = "index.html"

#: Sorts a table's body rows by the clicked column: numbers by value (a cell's leading number,
#: after an optional "Δ"), other cells as text, empty ones last; a second click reverses. Each
#: <tbody> sorts on its own, so rows set apart stay below their rule line. Written by hand: a
#: dozen lines need no library.
SORT_SCRIPT = """
function cellKey(td) {
  const t = (td.dataset.sort ?? td.textContent).trim();
  const m = t.match(/^(?:Δ\\s*)?([+\\-−]?\\d+(?:\\.\\d+)?)/);
  return m ? [0, parseFloat(m[1].replace("−", "-"))] : [t ? 1 : 2, t.toLowerCase()];
}
document.querySelectorAll("table.sortable").forEach(table => {
  table.querySelectorAll("thead th").forEach((th, col) => th.addEventListener("click", () => {
    const dir = th.dataset.dir === "asc" ? -1 : 1;
    table.querySelectorAll("thead th").forEach(h => delete h.dataset.dir);
    th.dataset.dir = dir === 1 ? "asc" : "desc";
    table.querySelectorAll("tbody").forEach(body => {
      const rows = [...body.querySelectorAll("tr:not(.label)")];
      rows.sort((a, b) => {
        const x = cellKey(a.cells[col]), y = cellKey(b.cells[col]);
        if (x[0] !== y[0]) return x[0] - y[0];
        return (x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : 0) * dir;
      });
      rows.forEach(r => body.appendChild(r));
    });
  }));
});
"""

_STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 0 auto; padding: 0 1.5em 3em; max-width: 1400px; color: #222; }
h1 { font-size: 1.6em; margin-top: 1em; } h2 { border-bottom: 1px solid #ccc; padding-top: 0.6em; }
nav a { margin-right: 1em; white-space: nowrap; }
.banner { background: #fff3cd; border: 1px solid #e0c36a; padding: 0.6em 1em; font-weight: 600; }
.scroll { overflow-x: auto; margin: 0.5em 0 1em; }
table { border-collapse: collapse; font-size: 12px; }
th, td { border: 1px solid #ddd; padding: 2px 6px; text-align: left; vertical-align: top; }
thead th { background: #f0f0f0; cursor: pointer; position: sticky; top: 0; }
thead th[data-dir=asc]::after { content: " ▲"; } thead th[data-dir=desc]::after { content: " ▼"; }
tbody tr:nth-child(even) { background: #fafafa; }
tbody.apart { border-top: 3px double #888; } tr.label th { background: #fff; font-style: italic; text-align: left; }
details { margin: 0.3em 0 1em; font-size: 12px; color: #444; } summary { cursor: pointer; }
figure { margin: 1em 0 2em; } figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 13px; color: #444; max-width: 60em; }
svg.spark { vertical-align: middle; }
.files a { margin-right: 0.8em; }
"""

#: The page's parts, in order: (anchor, heading, the document stems shown, the figure stems'
#: patterns shown). A document or figure none of them names is shown under "Other tables and
#: figures" (a part from outside the package).
LAYOUT: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("claims", "The paper's claims", ("claims",), ()),
    ("table1", "Table 1", ("table1",), (r"table1_seeds",)),
    ("table2", "Table 2", ("table2",), ()),
    ("trimap", "Figure 5: the trimap", (), (r"trimap(_.*)?", r"boundary(_.*)?")),
    ("leaderboard", "Leaderboard", ("leaderboard",), (r"leaderboard_.*",)),
    ("multiverse", "Multiverse", ("multiverse",), (r"multiverse(_.*)?",)),
    ("sensitivity", "Sensitivity", ("sensitivity",), ()),
    ("qualitative", "Figures 6/7: qualitative", (), (r"qualitative_.*",)),
    ("curves", "Loss curves", (), (r"curves_.*",)),
)


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _inline(text: str) -> str:
    """Text as HTML: escaped, with ``code`` and `code` spans as <code>."""
    return re.sub(r"``?([^`]+)``?", r"<code>\1</code>", _e(text))


def _paragraph(text: str) -> str:
    """Markdown paragraphs as HTML: a <ul> for a block whose lines are "- " items (a line that
    does not start one continues the item above), else a <p>."""
    out = []
    for block in text.split("\n\n"):
        lines = block.splitlines()
        if not lines or not lines[0].startswith("- "):
            out.append(f"<p>{_inline(block)}</p>")
            continue
        items: list[str] = []
        for line in lines:
            if line.startswith("- "):
                items.append(line[2:])
            else:
                items[-1] += " " + line.strip()
        out.append("<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in items) + "</ul>")
    return "\n".join(out)


def _row(cells: Sequence[str], tag: str = "td") -> str:
    return "<tr>" + "".join(f"<{tag}>{_e(c)}</{tag}>" for c in cells) + "</tr>"


def section_html(s: Section) -> str:
    """One ``Section`` as HTML: its title, intro, a sortable table (the rows set apart in a
    <tbody> of their own below a rule line, under their label) and its notes, folded."""
    level = min(6, s.level + 1)
    out = [f"<h{level}>{_e(s.title)}</h{level}>"] + [_paragraph(p) for p in s.intro]
    out += ['<div class="scroll"><table class="sortable">', "<thead>" + _row(s.header, "th") + "</thead>", "<tbody>"]
    out += [_row(r) for r in s.rows] + ["</tbody>"]
    if s.apart:
        out += ['<tbody class="apart">', f'<tr class="label"><th colspan="{len(s.header)}">{_e(s.apart_label)}</th></tr>']
        out += [_row(r) for r in s.apart] + ["</tbody>"]
    out += ["</table></div>"]
    if s.notes:
        out += ["<details><summary>Notes</summary>"] + [_paragraph(n) for n in s.notes] + ["</details>"]
    return "\n".join(out)


def document_html(doc: Document, stem: str, files: Iterable[str]) -> str:
    """A report file's ``Document`` as HTML: banner, intro, sections, and links to its files."""
    out = [f'<p class="banner">{_e(doc.banner)}</p>'] if doc.banner else []
    links = [f'<a href="{_e(f)}">{_e(f)}</a>' for f in files]
    out += [f'<p class="files">{_e(doc.heading)}: {" ".join(links)}</p>'] + [_paragraph(p) for p in doc.intro]
    if not doc.sections and doc.empty:
        out.append(_paragraph(doc.empty))
    out += [section_html(s) for s in doc.sections]
    return "\n".join(out)


def png_size(path: Path) -> tuple[int, int, float]:
    """(width, height, dpi) of a PNG, from its IHDR and pHYs chunks (96 dpi without one)."""
    blob = path.read_bytes()
    width, height = struct.unpack(">II", blob[16:24])
    at = blob.find(b"pHYs")
    dpi = struct.unpack(">I", blob[at + 4 : at + 8])[0] * 0.0254 if at > 0 and blob[at + 12] == 1 else 96.0
    return width, height, dpi


def figure_html(folder: Path, stem: str, caption: str, twins: Sequence[str]) -> str:
    """A figure: its PNG at its printed size (capped by the page's width), its caption, links
    to its vector twins."""
    width, height, dpi = png_size(folder / f"{stem}.png")
    scale = 96.0 / dpi
    links = " ".join(f'<a href="{_e(t)}">{_e(t.rsplit(".", 1)[1].upper())}</a>' for t in twins)
    return (f'<figure id="fig-{_e(stem)}"><a href="{_e(stem)}.png"><img src="{_e(stem)}.png" width="{round(width * scale)}" '
            f'height="{round(height * scale)}" alt="{_e(caption or stem)}" loading="lazy"></a>'
            f"<figcaption><b>{_e(stem)}</b>. {_e(caption)} {links}</figcaption></figure>")  # fmt: skip


# --------------------------------------------------------------------------- stamp


def _counts(values: Iterable) -> str:
    """``a (3), b (1)``: each value with how many records hold it, most first."""
    counts = Counter("unknown" if v in (None, "") else str(v) for v in values)
    return ", ".join(f"{v} ({n})" for v, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _device(record: dict) -> str:
    versions = record.get("versions") or {}
    name = record.get("device_name") or versions.get("device_name") or (record.get("environment") or {}).get("device_name")
    cpu = versions.get("cpu_capability")
    return " ".join(str(x) for x in (record.get("device") or "unknown", name, f"({cpu})" if cpu else None) if x)


def stamp_section(inputs: PartInput) -> Section:
    """What the records rest on: how many, their status, the harness versions and commits that
    made them, their devices, the definitions of their metrics, the divergence rule."""
    records = inputs.records
    tidy = inputs.tidy
    rows = [
        ["records", f"{len(records)}: {_counts(r.get('status') for r in records)}"],
        ["whole runs on the reported split (what the tables read)", str(len(inputs.reported))],
        ["benchmark versions", _counts((r.get("versions") or {}).get("benchmark") for r in records)],
        ["git commits", _counts(((r.get("versions") or {}).get("git_commit") or "")[:7] for r in records)],
        ["devices (CPU capability)", _counts(_device(r) for r in records)],
        ["scales", _counts(r.get("spec", {}).get("scale") for r in records)],
        ["threads per run", _counts(r.get("threads") for r in records)],
    ]
    for column in sorted(c for c in tidy.columns if c.endswith("_definition")):
        name = column[: -len("_definition")]
        if tidy[column].notna().any():
            rows.append([f"definition of {name}'s counts", _counts(f"definition {int(v)}" for v in tidy[column].dropna())])
    rows.append(["divergence rule", f"a run diverged when {RULE_TEXT}"])
    return Section("What the records rest on", ["What", "The records"], rows)


# --------------------------------------------------------------------------- runs


def _sparkline(curve: dict, chance: float | None, diverged: bool) -> str:
    """A run's total loss against the step as a small inline SVG (log scale, at most 40
    points), the dashed line at log C; red where the run diverged."""
    steps, values = curve.get("step") or [], curve.get("total") or curve.get("ppce") or []
    points = [(s, math.log10(v)) for s, v in zip(steps, values) if isinstance(v, (int, float)) and v > 0 and math.isfinite(v)]
    if len(points) < 2:
        return ""
    points = points[:: max(1, math.ceil(len(points) / 40))] + ([points[-1]] if (len(points) - 1) % max(1, math.ceil(len(points) / 40)) else [])
    ys = [y for _, y in points] + ([math.log10(chance)] if chance else [])
    x0, x1, y0, y1 = points[0][0], points[-1][0], min(ys), max(ys)
    sx = 78 / max(x1 - x0, 1e-9)
    sy = 16 / max(y1 - y0, 1e-9)
    line = " ".join(f"{1 + (x - x0) * sx:.1f},{17 - (y - y0) * sy:.1f}" for x, y in points)
    colour = "#c0392b" if diverged else "#1f5f9f"
    out = [f'<svg class="spark" width="80" height="18" viewBox="0 0 80 18" role="img" aria-label="loss curve">']
    if chance:
        yc = 17 - (math.log10(chance) - y0) * sy
        out.append(f'<line x1="1" x2="79" y1="{yc:.1f}" y2="{yc:.1f}" stroke="#999" stroke-dasharray="2,2" stroke-width="0.6"/>')
    out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1" points="{line}"/></svg>')
    return "".join(out)


def _run_links(inputs: PartInput, out: PartOutput) -> tuple[dict[str, str], dict[str, str]]:
    """{run id: the loss-curve figure holding its panel}, {run id: the qualitative figure
    showing its kept predictions}, for the figures this build wrote."""
    from benchmark.report.curves import CURVE_SUITES, suite_records
    from benchmark.report.figures import qualitative_choices

    written = {p.name for p in out.files}
    curves: dict[str, str] = {}
    for suite in CURVE_SUITES:
        name = f"curves_{suite}.png"
        if name in written:
            for r in suite_records(inputs.reported_records, suite):
                if (r.get("loss_curve") or {}).get("step"):
                    curves.setdefault(r["run_id"], name)
    overlays: dict[str, str] = {}
    choices, _ = qualitative_choices(inputs.reported_records)
    for stem, choice in choices.items():
        if f"{stem}.png" in written:
            for r in (choice.base, choice.ours):
                overlays.setdefault(r["run_id"], f"{stem}.png")
    return curves, overlays


RUN_HEADER = ["Run", "Method", "Dataset", "Scale", "Initialisation", "Settings", "Seed", "Split", "Step", "Status", "Diverged",
              "mIoU (%)", "Wall (s)", "Version", "Superseded", "Loss curve", "Record", "Kept predictions"]  # fmt: skip


def runs_html(inputs: PartInput, out: PartOutput) -> str:
    """The table of runs: a row per record (weight-search trials and superseded records too)."""
    from benchmark.data import dataset_info

    tidy = inputs.tidy
    if tidy.empty:
        return "<p>No record.</p>"
    by_id = {r["run_id"]: r for r in inputs.records}
    curves, overlays = _run_links(inputs, out)
    rows = []
    for r in tidy.itertuples(index=False):
        record = by_id.get(r.run_id, {})
        try:
            chance = float(dataset_info(r.dataset).num_classes)
        except ValueError:
            chance = None
        diverged = bool(r.diverged) if r.diverged is not pd.NA and r.diverged is not None else False
        spark = _sparkline(record.get("loss_curve") or {}, chance, diverged)
        curve = f'<a href="{_e(curves[r.run_id])}">{spark or "figure"}</a>' if r.run_id in curves else spark or "-"
        record_cell = "-"
        if inputs.folder is not None and record_path(inputs.folder, r.run_id).is_file():
            record_cell = f'<a class="record" href="{_e(out.relative(record_path(inputs.folder, r.run_id)))}">json</a>'
        overlay = f'<a href="{_e(overlays[r.run_id])}">overlay</a>' if r.run_id in overlays else "-"
        miou = f"{100 * r.miou:.1f}" if r.miou == r.miou else ""
        wall = f"{r.wall_s:.0f}" if r.wall_s == r.wall_s else ""
        cells = [r.run_id, r.label, r.dataset, r.scale, r.init, r.overrides, r.seed, r.split, r.step, r.status,
                 "yes" if diverged else ("no" if r.diverged is not pd.NA and r.diverged is not None else "?"),
                 miou, wall, r.version or "", "yes" if r.superseded else ""]  # fmt: skip
        rows.append("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in cells) + f"<td>{curve}</td><td>{record_cell}</td><td>{overlay}</td></tr>")
    head = "<thead>" + _row(RUN_HEADER, "th") + "</thead>"
    intro = ("<p>Every record, weight-search trials and superseded records included (the tables read the newest record of each "
             "run). Loss curve: the total loss against the step, log scale, dashed at log C, red where the run diverged; it links "
             "the figure holding the run's panel. Record: the run's JSON where the records lie. Kept predictions: the qualitative "
             "figure showing them.</p>")  # fmt: skip
    return intro + f'<div class="scroll"><table class="sortable" id="runs-table">{head}<tbody>' + "\n".join(rows) + "</tbody></table></div>"


# --------------------------------------------------------------------------- the page


def page_html(inputs: PartInput, out: PartOutput) -> str:
    """The whole page (``write_page``)."""
    written = [p.name for p in out.files]
    figures = [n[: -len(".png")] for n in written if n.endswith(".png")]
    placed: set[str] = set()
    blocks, nav = [], []
    for anchor, heading, stems, patterns in LAYOUT:
        body = []
        for stem in stems:
            if stem in out.documents:
                files = [n for n in written if n.rsplit(".", 1)[0] == stem]
                body.append(document_html(out.documents[stem], stem, files))
                placed.add(stem)
        for stem in figures:
            if stem not in placed and any(re.fullmatch(p, stem) for p in patterns):
                body.append(_figure(out, stem, written))
                placed.add(stem)
        if body:
            nav.append(f'<a href="#{anchor}">{_e(heading)}</a>')
            blocks.append(f'<section id="{anchor}"><h2>{_e(heading)}</h2>\n' + "\n".join(body) + "</section>")
    other = [document_html(d, s, [n for n in written if n.rsplit(".", 1)[0] == s]) for s, d in out.documents.items() if s not in placed]
    other += [_figure(out, s, written) for s in figures if s not in placed]
    if other:
        nav.append('<a href="#other">Other tables and figures</a>')
        blocks.append('<section id="other"><h2>Other tables and figures</h2>\n' + "\n".join(other) + "</section>")
    nav.append('<a href="#runs">Runs</a>')
    blocks.append('<section id="runs"><h2>Runs</h2>\n' + runs_html(inputs, out) + "</section>")
    files = " ".join(f'<a href="{_e(n)}">{_e(n)}</a>' for n in sorted(written))
    blocks.append(f'<section id="files"><h2>Files</h2><p class="files">{files}</p></section>')
    banner = plumbing_banner(inputs.tidy["scale"]) if "scale" in inputs.tidy.columns else ""
    head = ['<!DOCTYPE html>', '<html lang="en">', "<head>", '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            # Nothing may be fetched: no network request, even for a favicon.
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'self'; script-src 'unsafe-inline'; "
            "style-src 'unsafe-inline'; img-src 'self' data:\">",
            '<link rel="icon" href="data:,">',
            "<title>semeda-bench results</title>", f"<style>{_STYLE}</style>", "</head>", "<body>",
            "<h1>semeda-bench results</h1>"]  # fmt: skip
    if banner:
        head.append(f'<p class="banner">{_e(banner)}</p>')
    head.append("<p>Every table and figure below was rebuilt from the run records by <code>python -m benchmark.report</code>; "
                 "the Markdown, LaTeX and CSV files beside this page hold the same tables. Click a column's header to sort "
                 "a table by it.</p>")  # fmt: skip
    head.append("<nav>" + " ".join(nav + ['<a href="#files">Files</a>']) + "</nav>")
    head.append('<section id="stamp"><h2>Records</h2>\n' + section_html(stamp_section(inputs)) + "</section>")
    tail = [f"<script>{SORT_SCRIPT}</script>", "</body>", "</html>", ""]
    return "\n".join(head + blocks + tail)


def _figure(out: PartOutput, stem: str, written: Sequence[str]) -> str:
    twins = [n for n in written if n.rsplit(".", 1)[0] == stem and n.rsplit(".", 1)[1] in ("svg", "pdf")]
    return figure_html(out.folder, stem, out.captions.get(stem, ""), twins)


def write_page(inputs: PartInput, out: PartOutput) -> None:
    """``index.html``: the results page of what the parts wrote (run after every part)."""
    out.text(PAGE, page_html(inputs, out))
