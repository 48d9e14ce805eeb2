"""Run records -> tidy table -> the paper's tables and figures, with seeds and intervals.

    python -m benchmark.report [--suite table1|table2|trimap|all] [--records runs] [--out runs/report]

Reads records only; never trains. What it writes in ``--out``:

- ``tidy.parquet``, ``tidy.csv``: one row per run (failed runs included, as rows).
  Columns: ``run_id``, spec (``method``, ``lambdas`` as text such as ``"0,1,0"`` or
  ``""``, ``relu``, ``dataset``, ``backbone``, ``scale``, ``init``, ``seed``),
  ``overrides`` (settings that differ from the scale's defaults, ``"steps=200"``, or
  ``""``), ``label``, ``status``, ``reason``, ``failed_step``, ``miou`` (fraction 0..1),
  the trimap in wide form, ``boundary_miou_w<w>`` and ``interior_miou_w<w>`` per band
  width ``w`` (fractions; NaN where a run has no such width), ``wall_s``, ``train_s``,
  ``eval_s``, ``device``, ``threads``, ``edge_f1`` (the frozen edge net's F1, where the
  method uses one), ``version``, ``data_version``.
- ``table1.{md,csv,tex}``: the paper's Table 1 rows (and any further method) per
  context, i.e. per (dataset, backbone, scale, init, overrides).
- ``table2.{md,csv,tex}``: Table 2, dataset x initialisation x method.
- ``trimap.{png,svg,csv}``: Figure 5, mIoU against trimap band width.
- ``qualitative_<dataset>_<scale>.png``: Figures 6/7, stored predictions as overlays.

Statistics, in % mIoU: mean and sample standard deviation (ddof 1) over seeds; the
paired difference to PPCE is taken seed by seed within the same context, and its mean
gets a 95% Student-t interval (none for a single pair). Missing and failed runs are
shown as such, never as numbers. Tables are byte-for-byte reproducible from the same
records: rows are sorted and floats formatted with fixed decimals.

The package, one job per module: ``tidy`` (records -> tidy table), ``stats`` (seeds,
intervals, paired differences), ``tables`` (Tables 1 and 2 and their renderings),
``figures`` (Figure 5 and Figures 6/7), ``build`` (the command).
"""

from benchmark.report.build import SUITE_PARTS, Report, build_parser, build_report, main
from benchmark.report.figures import class_palette, qualitative_figures, trimap_figure, trimap_points, trimap_summary
from benchmark.report.stats import paired_differences, t_interval
from benchmark.report.tables import table1, table2, table_csv, table_latex, table_markdown
from benchmark.report.tidy import CONTEXT, load_tidy, tidy_records

__all__ = [
    "CONTEXT",
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
