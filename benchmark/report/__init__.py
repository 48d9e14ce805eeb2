"""Run records -> tidy table -> the paper's tables and figures, with seeds and intervals.

    python -m benchmark.report [--suite table1|table2|trimap|sensitivity|multiverse|leaderboard|all] [--records runs] [--out runs/report]
                               [--from-predictions]

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
- ``table1.{md,csv,tex}``: the paper's Table 1 rows (and any further method) per context,
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
- ``leaderboard.{md,csv,tex}``: every loss at the weight its search selected, against PPCE;
  ``leaderboard_trials.csv``, ``leaderboard_budget.png`` (best tuning mIoU against the
  training steps spent), ``leaderboard_weights.png`` (tuning mIoU against the weight).

Statistics, in %: mean and sample standard deviation (ddof 1) over seeds; the paired
difference to PPCE is taken seed by seed within the same context, and its mean gets a 95%
Student-t interval (none for a single pair) and a paired t-test for the Holm correction.
Missing, failed and diverged runs are shown as such. Tables are byte-for-byte reproducible
from the same records: rows are sorted and floats formatted with fixed decimals.

The package, one job per module: ``tidy`` (records -> tidy table), ``stats`` (seeds,
intervals, paired differences, Holm), ``tables`` (Tables 1 and 2), ``sensitivity``,
``multiverse`` (every protocol, the specification curve), ``claims``, ``figures`` (Figure 5,
the boundary metrics, Figures 6/7), ``curves`` (loss curves), ``leaderboard`` (the weight
searches and the tuned losses), ``build`` (the command).
"""

from benchmark.report.build import SUITE_PARTS, Report, build_parser, build_report, main
from benchmark.report.claims import claims_markdown, claims_table, multiverse_claims
from benchmark.report.curves import curves_figure
from benchmark.report.figures import (
    boundary_figure,
    boundary_points,
    class_palette,
    qualitative_figures,
    trimap_figure,
    trimap_points,
    trimap_summary,
)
from benchmark.report.leaderboard import budget_figure, leaderboard_markdown, leaderboard_table, weight_figure
from benchmark.report.multiverse import curve_points, dot_matrix, multiverse_figure, multiverse_latex, multiverse_markdown, multiverse_table
from benchmark.report.sensitivity import sensitivity_markdown, sensitivity_table
from benchmark.report.stats import paired_differences, t_interval
from benchmark.report.tables import table1, table2, table_csv, table_latex, table_markdown
from benchmark.report.tidy import CONTEXT, load_tidy, tidy_records

__all__ = [
    "CONTEXT",
    "boundary_figure",
    "boundary_points",
    "claims_markdown",
    "claims_table",
    "curve_points",
    "dot_matrix",
    "multiverse_claims",
    "multiverse_figure",
    "multiverse_latex",
    "multiverse_markdown",
    "multiverse_table",
    "curves_figure",
    "budget_figure",
    "leaderboard_markdown",
    "leaderboard_table",
    "weight_figure",
    "sensitivity_markdown",
    "sensitivity_table",
    "SUITE_PARTS",
    "Report",
    "build_parser",
    "build_report",
    "class_palette",
    "load_tidy",
    "main",
    "paired_differences",
    "qualitative_figures",
    "t_interval",
    "table1",
    "table2",
    "table_csv",
    "table_latex",
    "table_markdown",
    "tidy_records",
    "trimap_figure",
    "trimap_points",
    "trimap_summary",
]
