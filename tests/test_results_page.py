"""results/README.md prints the report's numbers only, and the claims' findings are the report's sentences."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from benchmark.report.findings import findings_sections
from benchmark.report.page_numbers import report_values, unmatched

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "results" / "report"
PAGE = ROOT / "results" / "README.md"


def test_every_number_of_the_results_page_is_the_reports():
    missing = unmatched(PAGE.read_text(encoding="utf-8"), report_values(REPORT))
    assert not missing, "numbers of results/README.md that results/report/*.csv does not hold:\n" + "\n".join(missing)


def test_an_altered_page_fails():
    text = PAGE.read_text(encoding="utf-8")
    values = report_values(REPORT)
    head, tail = text.rsplit("+1.3 [+1.2, +1.5]", 1)  # C2's interval, in the prose (its first is in a marked block)
    altered = head + "+1.3 [+1.2, +1.6]" + tail
    altered += "\nPPCE on `shapes` reads 67.7 +- 0.7, SEMEDA 99.9, a gain of +77.7.\n"
    missing = unmatched(altered, values)
    assert [m.split(" in: ")[0] for m in missing] == ["'+1.3 [+1.2, +1.6]'", "'67.7 +- 0.7'", "'99.9'", "'+77.7'"]


def _report(tmp_path) -> Path:
    pd.DataFrame({"label": ["a", "b"], "ours_mean": [62.34, 65.21], "ours_std": [0.61, 0.32], "diff_mean": [float("nan"), 2.87],
                  "diff_ci_low": [float("nan"), 1.86], "diff_ci_high": [float("nan"), 3.99],
                  "diff_seeds": ["", "s0:+2.800 s1:-0.040"]}).to_csv(tmp_path / "table1.csv", index=False)  # fmt: skip
    pd.DataFrame({"miou": [0.6278]}).to_csv(tmp_path / "tidy.csv", index=False)
    return tmp_path


def test_numbers_are_looked_up_as_the_report_prints_them(tmp_path):
    values = report_values(_report(tmp_path))
    page = (
        "PPCE 62.3 +- 0.6, seed 0 62.8; SEMEDA +2.9 [+1.9, +4.0], seeds +2.8 and -0.0, 2.9 points above.\n"
        "<!-- report:table1:begin -->\n| 12.3 |\n<!-- report:table1:end -->\n"  # a marked table: checked whole elsewhere
        "<!-- not-report: results/perf -->64 s, 1.7x, 33.3 GFLOP/s<!-- /not-report -->\n"
        "benchmark 0.3.0, (1,0.5,0.25), lambda_1 = 0.5, peaks in [0.3, 0.99], a p-value of 0.005.\n"
    )
    assert unmatched(page, values) == []
    assert unmatched("62.3 +- 0.7 and +2.9 [+1.9, +4.1] and -2.8 and 65.3", values) == [
        "'62.3 +- 0.7' in: 62.3 +- 0.7 and +2.9 [+1.9, +4.1] and -2.8 and 65.3",
        "'+2.9 [+1.9, +4.1]' in: 62.3 +- 0.7 and +2.9 [+1.9, +4.1] and -2.8 and 65.3",
        "'-2.8' in: 62.3 +- 0.7 and +2.9 [+1.9, +4.1] and -2.8 and 65.3",
        "'65.3' in: 62.3 +- 0.7 and +2.9 [+1.9, +4.1] and -2.8 and 65.3",
    ]


def test_a_value_the_csv_rounded_to_a_tie_is_either_neighbour(tmp_path):
    # 8.450 in the CSV (3 decimals) is 8.4496 or 8.4504, which the report printed 8.4 or 8.5;
    # 8.451 can only be 8.5
    pd.DataFrame({"ours_mean": [49.2], "ours_std": [0.352], "diff_mean": [9.208], "diff_ci_low": [8.450],
                  "diff_ci_high": [9.966]}).to_csv(tmp_path / "sensitivity.csv", index=False)  # fmt: skip
    values = report_values(tmp_path)
    assert unmatched("+9.2 [+8.5, +10.0] and +9.2 [+8.4, +10.0]", values) == []
    pd.DataFrame({"diff_mean": [9.208], "diff_ci_low": [8.451], "diff_ci_high": [9.966]}).to_csv(tmp_path / "sensitivity.csv", index=False)
    assert unmatched("+9.2 [+8.4, +10.0]", report_values(tmp_path)) == ["'+9.2 [+8.4, +10.0]' in: +9.2 [+8.4, +10.0]"]


def test_findings_say_nominally_where_holm_is_not_passed():
    ctx = dict(dataset="streets", backbone="deeplabv2_small", scale="small", init="scratch", overrides="")
    rows = [
        ("C1 SEMEDA above PPCE", "semeda(1,0,0) before ReLU (Holm: does not survive)", 2.946, 1.861, 4.030, 0.007, "above"),
        ("C1 SEMEDA above PPCE", "semeda(0,1,0) before ReLU (Holm: survives)", 3.0, 2.0, 4.0, 0.001, "above"),
        ("C1 SEMEDA above PPCE", "semeda(0,0,1) before ReLU (Holm: does not survive)", -3.6, -11.4, 4.2, 0.187, "not shown"),
        ("C3 Ubernet-style about equal to PPCE", "ubernet(1)", -0.2, -0.6, 0.3, 0.3, "about equal"),
    ]
    claims = pd.DataFrame([dict(ctx, claim=c, row=r, mean=m, ci_low=lo, ci_high=hi, n=3, p=p, verdict=v) for c, r, m, lo, hi, p, v in rows])
    [(title, lines)] = findings_sections(claims)
    assert title == "Findings: streets (synthetic, Cityscapes-like), small scale, deeplabv2_small, trained from scratch"
    assert lines[0] == (
        "**C1 SEMEDA above PPCE**: 1 of 3 SEMEDA rows above PPCE by the rule (interval above 0 and Holm); "
        "above, surviving Holm, for semeda(0,1,0) before ReLU +3.0 [+2.0, +4.0], p = 0.001; "
        "nominally above (the unadjusted interval alone) for semeda(1,0,0) before ReLU +2.9 [+1.9, +4.0], p = 0.007; "
        "not shown for semeda(0,0,1) before ReLU -3.6 [-11.4, +4.2]."
    )
    assert lines[1] == "**C3 Ubernet-style about equal to PPCE**: ubernet(1): about equal, -0.2 [-0.6, +0.3]."
