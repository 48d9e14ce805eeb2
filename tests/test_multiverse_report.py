"""The multiverse's report: hand-made records in, hand-computed numbers out.

The records (streets, small scale, 3 seeds; mIoU in %, differences in points):

- PPCE: 60, 61, 62 at the default clipping (30); 50, 52, 51 clipped at 10; 60, 60, 60 unclipped.
- SEMEDA (1,0,0), against PPCE under the same protocol: +3, +4, +5 under the default protocol
  (1); +3, +4, +2 under (10, literal, sum) (11); -3, -4, -5 under (10, literal, mean) (12);
  +1, -1, 0 under (off, fixed peak, sum) (13); +1 at seed 0 alone under (30, fixed peak, mean) (2).
- SEMEDA (0,1,0): +1, +1, +1 under protocol 11, seed 2 diverged.
- PPCE on edges: -20, -21, -19 under the default protocol; +0.2, +0.4, +0.3 under (10, literal).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict

import pandas as pd
import pytest

from benchmark import report
from benchmark.records import write_record
from benchmark.report.claims import claims_markdown, claims_table, multiverse_claims
from benchmark.report.multiverse import curve_points, dot_matrix, multiverse_only_rows, multiverse_table
from benchmark.spec import scale_settings
from benchmark.suites import Row
from test_report import fake_record  # tests/ is on sys.path under pytest

T_975_2 = 4.302652729911275  # Student t, 97.5% quantile, 2 degrees of freedom
HALF = T_975_2 / math.sqrt(3)  # the interval's half-width for 3 differences of sample std 1
FULL = asdict(scale_settings("small", "streets"))
CLIP10_LITERAL = {"grad_clip": 10.0, "edge_net_peak": "literal"}
PPCE_DEFAULT, PPCE_CLIP10, PPCE_OFF = (0.60, 0.61, 0.62), (0.50, 0.52, 0.51), (0.60, 0.60, 0.60)


def run(method, lambdas, seed, miou, channels=None, diverged=False, **overrides) -> dict:
    """A record of ``method`` run under ``overrides`` (settings) and ``channels`` (SEMEDA's reading)."""
    record = fake_record(method, lambdas, seed=seed, miou=miou, settings={**FULL, **overrides})
    if channels is not None:
        record["spec"]["params"]["channels"] = channels
    if diverged:  # its PPCE term thrown past 10 log C
        record["loss_curve"]["ppce"] = [3.0, 40.0]
    record["run_id"] += "-" + "-".join(f"{k}{v}" for k, v in sorted(overrides.items())) + (channels or "")
    return record


def write_multiverse(folder, own_runs: bool = True) -> None:
    """The records of the module docstring; without ``own_runs``, only those of protocols other
    suites also run (the default, clipping off, the mean over channels)."""
    records = []
    for s in range(3):
        records += [run("ppce", None, s, PPCE_DEFAULT[s]), run("ppce", None, s, PPCE_OFF[s], grad_clip=None),
                    run("semeda", (1, 0, 0), s, PPCE_DEFAULT[s] + (0.03, 0.04, 0.05)[s]),
                    run("semeda", (1, 0, 0), s, PPCE_OFF[s] + (0.01, -0.01, 0.0)[s], grad_clip=None),
                    run("ppce_edges", (1,), s, PPCE_DEFAULT[s] + (-0.20, -0.21, -0.19)[s])]  # fmt: skip
        if own_runs:
            records += [run("ppce", None, s, PPCE_CLIP10[s], grad_clip=10.0),
                        run("semeda", (1, 0, 0), s, PPCE_CLIP10[s] + (0.03, 0.04, 0.02)[s], **CLIP10_LITERAL),
                        run("semeda", (1, 0, 0), s, PPCE_CLIP10[s] + (-0.03, -0.04, -0.05)[s], "mean", **CLIP10_LITERAL),
                        run("semeda", (0, 1, 0), s, PPCE_CLIP10[s] + 0.01, diverged=(s == 2), **CLIP10_LITERAL),
                        run("ppce_edges", (1,), s, PPCE_CLIP10[s] + (0.002, 0.004, 0.003)[s], **CLIP10_LITERAL)]  # fmt: skip
    records.append(run("semeda", (1, 0, 0), 0, 0.61, "mean"))
    for r in records:
        write_record(folder, r)


@pytest.fixture
def tidy(tmp_path):
    write_multiverse(tmp_path)
    return report.load_tidy(tmp_path)[0]


def _one(table, **match):
    sel = table
    for k, v in match.items():
        sel = sel[sel[k] == v]
    assert len(sel) == 1, (match, len(sel))
    return sel.iloc[0]


def test_paired_difference_to_ppce_under_the_same_protocol(tidy):
    t = multiverse_table(tidy)
    assert len(t) == 18 * 5 and list(t["protocol"].iloc[:5]) == [1] * 5 and t["default"].iloc[0]
    r = _one(t, protocol=11, column="semeda(1,0,0) before ReLU")
    assert (r["gradient clipping"], r["edge-net fitting input"], r["SEMEDA |.| of Eq. (6)"]) == ("10", "literal", "sum over channels")
    assert r["overrides"] == "edge_net_peak=literal grad_clip=10.0" and r["only_multiverse"]
    # against PPCE clipped at 10 (50, 52, 51), not PPCE at the default clipping
    assert r["ours_mean"] == pytest.approx(54.0) and r["ours_std"] == pytest.approx(math.sqrt(3)) and r["n"] == 3
    assert r["diff_mean"] == pytest.approx(3.0) and r["diff_n"] == 3
    assert r["diff_ci_low"] == pytest.approx(3.0 - HALF) and r["diff_ci_high"] == pytest.approx(3.0 + HALF)
    assert r["claim"] == "C1 SEMEDA above PPCE" and r["verdict"] == "above"
    mean = _one(t, protocol=12, column="semeda(1,0,0) before ReLU")
    assert mean["label"] == "semeda(1,0,0) before ReLU channels=mean" and mean["diff_mean"] == pytest.approx(-4.0)
    assert mean["verdict"] == "below"
    assert _one(t, protocol=13, column="semeda(1,0,0) before ReLU")["verdict"] == "not shown"
    assert _one(t, protocol=2, column="semeda(1,0,0) before ReLU")["verdict"] == "no interval"
    # PPCE on edges, about equal by C4's rule: [0.3 - 0.248, 0.3 + 0.248] inside +-1 (though it excludes 0)
    edges = _one(t, protocol=11, column="ppce_edges(1)")
    assert edges["diff_mean"] == pytest.approx(0.3) and edges["diff_ci_high"] == pytest.approx(0.3 + 0.1 * HALF)
    assert edges["verdict"] == "about equal" and edges["distinct"]
    twin = _one(t, protocol=12, column="ppce_edges(1)")  # the channel reading does not apply: the same run
    assert not twin["distinct"] and twin["diff_mean"] == pytest.approx(0.3) and twin["params"] == edges["params"]
    assert _one(t, protocol=1, column="ppce_edges(1)")["verdict"] == "different"
    assert _one(t, protocol=11, column="semeda(0,1,0) before ReLU")["n_diverged"] == 1
    ppce = _one(t, protocol=12, column="ppce")  # PPCE reads the clipping alone
    assert ppce["overrides"] == "grad_clip=10.0" and ppce["ours_mean"] == pytest.approx(51.0) and ppce["verdict"] == ""


def test_a_protocol_without_records_is_missing(tidy):
    t = multiverse_table(tidy)
    r = _one(t, protocol=18, column="semeda(1,0,0) before ReLU")  # (off, literal, mean)
    assert r["n"] == 0 and r["verdict"] == "missing" and math.isnan(r["diff_mean"])
    assert _one(t, protocol=18, column="ppce")["n"] == 3  # PPCE unclipped ran
    assert _one(t, protocol=7, column="ppce_edges(1)")["verdict"] == "missing"
    text = report.multiverse_markdown(t)
    lines = [line for line in text.splitlines() if line.startswith("| ")]
    assert lines[1] == "| 1 (default) | 30 (the rule) | fixed peak 0.9 | sum over channels | 61.0 ± 1.0 | Δ +4.0 [+1.5, +6.5] | missing | missing | Δ -20.0 [-22.5, -17.5] |"
    assert "| 11 | 10 | literal | sum over channels | 51.0 ± 1.0 | Δ +3.0 [+0.5, +5.5] | Δ +1.0 [+1.0, +1.0]; diverged 1/3 | missing | Δ +0.3 [+0.1, +0.5] |" in lines
    assert "| 18 | off | literal | mean over channels | 60.0 ± 0.0 | missing | missing | missing | missing |" in lines
    assert "not re-opened by what the multiverse shows" in text


def test_share_per_verdict(tidy):
    shares = multiverse_claims(multiverse_table(tidy))
    s = _one(shares, row="semeda(1,0,0) before ReLU")
    assert (s["holds"], s["not_shown"], s["contradicted"], s["measured"], s["missing"], s["protocols"]) == (2, 1, 1, 4, 14, 18)
    assert s["default_verdict"] == "above" and s["own_runs"] == 2  # protocols 11 and 12: clipping at 10
    e = _one(shares, row="ppce_edges(1)")  # 9 protocols: the channel reading does not apply
    assert (e["holds"], e["not_shown"], e["contradicted"], e["measured"], e["missing"], e["protocols"]) == (1, 0, 1, 2, 7, 9)
    assert list(shares["claim"].str[:2]) == ["C1", "C1", "C1", "C2", "C3", "C4"]
    assert set(shares.loc[shares["claim"].str[:2].isin(["C2", "C3"]), "note"].str[:21]) == {"not in the multiverse"}
    text = report.multiverse_markdown(multiverse_table(tidy))
    assert "| semeda(1,0,0) before ReLU | C1 SEMEDA above PPCE | 2 above | 1 not shown | 1 below | 4 of 18 | 14 |" in text
    assert "| ppce_edges(1) | C4 PPCE on edges about equal to PPCE | 1 about equal | 0 not shown | 1 different | 2 of 9 | 7 |" in text


def test_claims_md_gains_the_multiverse_only_with_its_own_runs(tidy, tmp_path):
    default = [c for c in claims_table(tidy)[["dataset", "backbone", "scale", "init", "overrides"]].itertuples(index=False, name=None)
               if not c[4]][:1]  # fmt: skip
    verdicts = claims_table(tidy, default)
    text = claims_markdown(verdicts, multiverse_claims(multiverse_table(tidy)))
    assert text.startswith(claims_markdown(verdicts)[:-1])
    assert "## Across the multiverse: streets, deeplabv2_small, small, scratch" in text
    assert "| C1 SEMEDA above PPCE | semeda(1,0,0) before ReLU | 2 above | 1 not shown | 1 below | 4 of 18 | 14 | above |" in text
    assert "| C2 before ReLU above after ReLU | - | not in the multiverse: it has no after-ReLU row | - | - | - | - | - |" in text
    # Records of the protocols other suites run alone (default, clipping off, mean over channels): unchanged,
    # and no multiverse table either (those protocols are the other suites' tables to show).
    folder = tmp_path / "others"
    write_multiverse(folder, own_runs=False)
    other = report.load_tidy(folder)[0]
    verdicts = claims_table(other, default)
    assert multiverse_table(other).empty and report.multiverse_figure(other) is None
    assert claims_markdown(verdicts, multiverse_claims(multiverse_table(other))) == claims_markdown(verdicts)


def test_claims_md_shares_only_where_the_multiverse_ran(tmp_path):
    """A second place (pre-trained) holding only the protocols other suites run gets no section
    of the multiverse's table, figure or shares beside the place the multiverse ran at."""
    runs, others = tmp_path / "runs", tmp_path / "others"
    write_multiverse(runs)
    write_multiverse(others, own_runs=False)
    for path in sorted(others.glob("*.json")):
        record = json.loads(path.read_text())
        record["spec"]["init"] = "synthetic-pretrained"
        record["run_id"] += "-pretrained"
        write_record(runs, record)
    tidy = report.load_tidy(runs)[0]
    table = multiverse_table(tidy)
    assert set(table["init"]) == {"scratch"} and len(table) == 18 * 5
    places = multiverse_claims(table)
    # scratch: SEMEDA (1,0,0) under protocols 1, 11, 12, 13, (0,1,0) under 11, PPCE on edges under 1 and 11
    # (pre-trained: SEMEDA (1,0,0) under 1 and 13, PPCE on edges under 1, other suites' runs alone)
    assert places.groupby("init")["measured"].sum().to_dict() == {"scratch": 7}
    assert list(report.multiverse_figures(tidy)) == ["multiverse"]
    assert "synthetic-pretrained" not in report.multiverse_markdown(table)
    text = claims_markdown(claims_table(tidy), multiverse_claims(multiverse_table(tidy)))
    assert "## Across the multiverse: streets, deeplabv2_small, small, scratch" in text
    assert "Across the multiverse: streets, deeplabv2_small, small, synthetic-pretrained" not in text


def test_specification_curve_order_and_dot_matrix(tidy):
    points = curve_points(multiverse_table(tidy))
    semeda = points[points["column"] == "semeda(1,0,0) before ReLU"]
    # estimates -4 (12), 0 (13), +1 (2, one seed), +3 (11), +4 (1, the default)
    assert list(semeda["protocol"]) == [12, 13, 2, 11, 1] and list(semeda["rank"]) == [0, 1, 2, 3, 4]
    assert list(semeda["diff_mean"]) == pytest.approx([-4.0, 0.0, 1.0, 3.0, 4.0])
    assert list(semeda["default"]) == [False] * 4 + [True] and math.isnan(semeda["diff_ci_low"].iloc[2])
    edges = points[points["column"] == "ppce_edges(1)"]
    assert list(edges["protocol"]) == [1, 11]  # protocol 12 is protocol 11's run
    assert edges["SEMEDA |.| of Eq. (6)"].isna().all()
    matrix = dot_matrix(points)
    m = matrix[matrix["column"] == "semeda(1,0,0) before ReLU"]
    assert len(m) == 8 * 5  # 3 + 3 + 2 values, 5 points
    filled = {rank: set(g.loc[g["filled"], "value"]) for rank, g in m.groupby("rank")}
    assert filled[0] == {"10", "literal", "mean over channels"}
    assert filled[1] == {"off", "fixed peak 0.9", "sum over channels"}
    assert filled[4] == {"30 (the rule)", "fixed peak 0.9", "sum over channels"}
    e = matrix[matrix["column"] == "ppce_edges(1)"]
    assert set(e["axis"]) == {"gradient clipping", "edge-net fitting input"} and len(e) == 6 * 2
    assert set(e.loc[e["filled"] & (e["rank"] == 1), "value"]) == {"10", "literal"}


def test_figure_and_build(tidy, tmp_path):
    assert report.multiverse_figure(tidy) is not None
    assert report.multiverse_figure(tidy[tidy["method"] == "ppce"]) is None  # no difference to draw
    assert report.multiverse_table(pd.DataFrame()).empty
    folder = tmp_path / "runs"
    write_multiverse(folder)
    built = report.build_report(folder, tmp_path / "out", suite="multiverse")
    names = {p.name for p in built.files}
    assert {"multiverse.md", "multiverse.csv", "multiverse.tex", "multiverse.png", "multiverse.svg"} <= names
    csv = pd.read_csv(tmp_path / "out" / "multiverse.csv")
    assert len(csv) == 90 and csv.loc[(csv["protocol"] == 11) & (csv["column"] == "ppce_edges(1)"), "diff_mean"].iloc[0] == 0.3
    assert r"$\Delta$ +3.0 [+0.5, +5.5]" in (tmp_path / "out" / "multiverse.tex").read_text()


def test_the_runs_only_the_multiverse_makes():
    only = multiverse_only_rows()
    assert Row.of("ppce", {"grad_clip": 10.0}) in only and Row.of("ppce", {"grad_clip": None}) not in only
    assert Row.of("semeda", {"edge_net_peak": "literal"}, lambdas=(1, 0, 0)) in only
    assert Row.of("semeda", lambdas=(1, 0, 0), channels="mean") not in only  # the sensitivity study's
