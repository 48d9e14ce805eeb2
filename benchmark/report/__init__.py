"""Run records -> tidy table -> the paper's tables and figures, with seeds and intervals.

    python -m benchmark.report [--suite table1|table2|trimap|sensitivity|multiverse|leaderboard|all] [--records runs]
                               [--out runs/report | --check results/report] [--from-predictions]

Reads records only; never trains (``--from-predictions`` computes a newer evaluator's counts
from the predictions a run kept, and stores them in its record). What it writes in ``--out``:

- ``tidy.parquet``, ``tidy.csv``: one row per run (failed runs included, as rows).
  Columns: ``run_id``; the row identity ``method`` and ``params`` (every parameter, as
  canonical JSON), ``lambdas`` as text; ``dataset``, ``backbone``, ``scale``, ``init``,
  ``seed``; ``overrides`` (settings that differ from the scale's defaults, ``"steps=200"``,
  or ``""``); ``label``, ``status``, ``diverged`` (the divergence rule), ``reason``,
  ``failed_step``; every evaluator's metrics (``miou``, ``boundary_miou_w<w>``,
  ``interior_miou_w<w>``, ``biou_d<d>``, ``bf_t<t>``: fractions, NaN where a record has no
  counts for them); ``wall_s``, ``train_s``, ``eval_s``, ``device``, ``threads``,
  ``edge_f1``, the gradient-norm statistics, ``version``, ``data_version``; ``split``
  (``val``, or ``tune`` for a weight search's trial), ``step`` (the step the run reached),
  ``schedule_steps`` and ``multiplier`` (its lambdas over the method's defaults).
  Every table and figure of the paper reads whole runs on the reported split only.
- ``table1.{md,csv,tex}``: the paper's Table 1 rows (and a user's own losses) per context,
  i.e. per (dataset, backbone, scale, init, overrides); ``claims.{md,csv}``: the paper's
  claims as verdicts with intervals.
- ``table2.{md,csv,tex}``: Table 2, dataset x initialisation x method.
- ``sensitivity.{md,csv,tex}``: each protocol choice the paper leaves open, varied alone.
- ``multiverse.{md,csv,tex}``: every combination of those choices (the ``multiverse`` suite),
  each method's paired difference to PPCE per protocol with the verdict of its claim and the
  share per verdict; ``multiverse.png``: the specification curve per method. ``claims.md``
  adds the share of protocols per verdict once the records hold a run only the multiverse makes.
- ``trimap.{png,svg,csv}``: Figure 5; ``boundary.{png,csv}``: Boundary IoU and boundary F
  against width and tolerance; ``curves_<suite>.png``: every run's loss curves.
- ``qualitative_<dataset>_<scale>.png``: Figures 6/7, stored predictions as overlays.
- ``leaderboard.{md,csv,tex}``: every loss at the weight its search selected, against the
  default PPCE and the tuned PPCE (its learning rate searched by the same rule), on seeds no
  search trial trained, a loss equal to another in one row, each row at the common budget;
  ``leaderboard_trials.csv``, ``leaderboard_budget.png`` (best tuning mIoU against the
  training steps spent), ``leaderboard_weights.png`` (tuning mIoU against the weight).

Statistics, in %: mean and sample standard deviation (ddof 1) over seeds; the paired
difference to PPCE is taken seed by seed within the same context, and its mean gets a 95%
Student-t interval (none for a single pair) and a paired t-test for the Holm correction.
Missing, failed and diverged runs are shown as such. Tables are byte-for-byte reproducible
from the same records: rows are sorted and floats formatted with fixed decimals.

Every table is a list of ``render.Section``s that one renderer writes as Markdown and LaTeX
(``render``); its cells' text is written once (``cells``). The files are written by the
report's *parts*, registered in one place (``parts``): a part is a function
``write(inputs, out)`` (``output``), and adding one is a new module and one
``register_part`` line. ``python -m benchmark.report --check DIR`` rebuilds into a temporary
folder and names the files that differ from the report in ``DIR``.

The package, one job per module, lowest first: ``render`` (sections -> Markdown, LaTeX, CSV),
``output`` (what a part reads and writes), ``tidy`` (records -> tidy table, the context's
vocabulary), ``stats`` (seeds, intervals, paired differences, Holm), ``cells`` (a cell's
text), ``claims`` (the claims' rules and verdicts), ``sensitivity``, ``multiverse`` (every
protocol, the specification curve), ``tables`` (Tables 1 and 2, with the claims),
``figures`` (Figure 5, the boundary metrics, Figures 6/7), ``curves`` (loss curves),
``leaderboard`` (the weight searches and the tuned losses), ``parts`` (the registry),
``build`` (the command), ``readme_tables`` (the README files' tables).
"""

import warnings as _warnings

with _warnings.catch_warnings():
    # The report draws no progress bar, but the methods' registry imports smp, whose hub
    # client imports ``tqdm.auto``: in a notebook kernel without ipywidgets that import warns
    # "IProgress not found" (and falls back to the console bar). Imported once here, silenced.
    _warnings.filterwarnings("ignore", message="IProgress not found")
    import tqdm.auto  # noqa: F401

from benchmark.report.build import Report, build_parser, build_report, check_report, main
from benchmark.report.cells import diff_text, metric_text, ours_text
from benchmark.report.claims import claims_document, claims_markdown, claims_table, multiverse_claims
from benchmark.report.curves import curves_figure, suite_records
from benchmark.report.figures import (
    boundary_figure,
    boundary_points,
    boundary_figures,
    class_palette,
    qualitative_choices,
    qualitative_figures,
    trimap_figure,
    trimap_figures,
    trimap_points,
    trimap_summary,
)
from benchmark.report.leaderboard import leaderboard_document, leaderboard_latex, leaderboard_markdown, leaderboard_table
from benchmark.report.leaderboard_figures import budget_figure, forest_figure, weight_figure
from benchmark.report.multiverse import (
    curve_points,
    dot_matrix,
    multiverse_document,
    multiverse_figure,
    multiverse_figures,
    multiverse_latex,
    multiverse_markdown,
    multiverse_table,
)
from benchmark.report.output import PartInput, PartOutput
from benchmark.report.parts import PARTS, Part, register_part, suite_names
from benchmark.report.page import page_html
from benchmark.report.render import Document, Section, frame_csv, latex, latex_text, markdown
from benchmark.report.sensitivity import sensitivity_document, sensitivity_latex, sensitivity_markdown, sensitivity_table
from benchmark.report.stats import paired_differences, t_interval
from benchmark.report.tables import table1, table2, table_document, table_latex, table_markdown
from benchmark.report.tidy import CONTEXT, load_folder, load_tidy, tidy_records
from benchmark.search_definition import load_definitions

__all__ = [
    "CONTEXT",
    "Document",
    "PARTS",
    "Part",
    "PartInput",
    "PartOutput",
    "Report",
    "Section",
    "boundary_figure",
    "boundary_figures",
    "boundary_points",
    "budget_figure",
    "build_parser",
    "build_report",
    "check_report",
    "claims_document",
    "claims_markdown",
    "claims_table",
    "class_palette",
    "curve_points",
    "curves_figure",
    "diff_text",
    "dot_matrix",
    "forest_figure",
    "frame_csv",
    "latex",
    "latex_text",
    "leaderboard_document",
    "leaderboard_latex",
    "leaderboard_markdown",
    "leaderboard_table",
    "load_definitions",
    "load_folder",
    "load_tidy",
    "main",
    "markdown",
    "metric_text",
    "multiverse_claims",
    "multiverse_document",
    "multiverse_figure",
    "multiverse_figures",
    "multiverse_latex",
    "multiverse_markdown",
    "multiverse_table",
    "ours_text",
    "page_html",
    "paired_differences",
    "qualitative_choices",
    "qualitative_figures",
    "register_part",
    "sensitivity_document",
    "sensitivity_latex",
    "sensitivity_markdown",
    "sensitivity_table",
    "suite_names",
    "suite_records",
    "t_interval",
    "table1",
    "table2",
    "table_document",
    "table_latex",
    "table_markdown",
    "tidy_records",
    "trimap_figure",
    "trimap_figures",
    "trimap_points",
    "trimap_summary",
    "weight_figure",
]
