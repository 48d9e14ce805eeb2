"""Tables hold what their suite ran: Table 2 without a protocol study's contexts, rows whose
every seed diverged set apart, and the smoke scale stamped as a plumbing check with no verdict."""

from __future__ import annotations

from dataclasses import asdict

import pytest

from benchmark import report
from benchmark.records import write_record
from benchmark.report.scope import made_by_a_study, plumbing_banner
from benchmark.spec import row_key, scale_settings
from test_report import fake_record  # tests/ is on sys.path under pytest

TABLE2 = (("ppce", None), ("ubernet", (1,)), ("semeda", (0, 1, 0)))


def run(method, lambdas, seed, miou, scale="small", diverged=False, **overrides) -> dict:
    """A record of ``method`` at ``scale`` under the settings ``overrides``; ``diverged``: its
    PPCE term thrown past 10 log C."""
    record = fake_record(method, lambdas, seed=seed, miou=miou, scale=scale, settings={**asdict(scale_settings(scale, "streets")), **overrides})
    if diverged:
        record["loss_curve"]["ppce"] = [3.0, 40.0]
    record["run_id"] += f"-{scale}-" + "-".join(f"{k}{v}" for k, v in sorted(overrides.items()))
    return record


@pytest.fixture
def folder(tmp_path):
    for seed in range(3):
        for method, lambdas in TABLE2:  # the table2 suite at the scale's settings; Ubernet diverged at every seed
            write_record(tmp_path, run(method, lambdas, seed, 0.6 + seed / 100, diverged=method == "ubernet"))
            write_record(tmp_path, run(method, lambdas, seed, 0.5 + seed / 100, grad_clip=None))  # the suite run with --set
        for method, lambdas in (("ppce", None), ("semeda", (0, 1, 0))):  # the multiverse's protocol: clipping at 10
            write_record(tmp_path, run(method, lambdas, seed, 0.4 + seed / 100, grad_clip=10.0))
    return tmp_path


def test_a_context_is_a_studys_when_its_settings_and_every_run_are(folder):
    ppce, ubernet, semeda = (row_key(m, {"lambdas": lam} if lam else {}) for m, lam in TABLE2)
    tidy, _ = report.load_tidy(folder)
    assert set(tidy["overrides"]) == {"", "grad_clip=None", "grad_clip=10.0"}
    ctx = ("streets", "deeplabv2_small", "small", "scratch", "grad_clip=10.0")
    assert made_by_a_study(ctx, [ppce, semeda])  # the multiverse's runs under clipping at 10
    assert not made_by_a_study(ctx[:4] + ("grad_clip=None",), [ppce, semeda, ubernet])  # no study runs Ubernet unclipped
    assert not made_by_a_study(ctx[:4] + ("",), [ppce])  # the scale's own settings are every suite's
    assert not made_by_a_study(ctx[:4] + ("grad_clip=10.0 lr=0.1",), [ppce])  # no study's settings


def test_table2_shows_only_the_contexts_its_suite_made(folder):
    tidy, _ = report.load_tidy(folder)
    t = report.table2(tidy)
    assert set(t["overrides"]) == {"", "grad_clip=None"}
    text = report.table_markdown("table2", t)
    assert "## Table 2: small scale, deeplabv2_small, settings grad_clip=None" in text and "grad_clip=10.0" not in text
    points = report.trimap_points(tidy)  # Figure 5 likewise: one figure file per setting the suite ran
    assert set(points["overrides"]) == {"", "grad_clip=None"} and set(points["label"]) == {"ppce", "semeda(0,1,0) before ReLU"}
    assert list(report.trimap_figures(tidy)) == ["trimap", "trimap_small_deeplabv2-small-grad-clip-None"]


def test_rows_whose_every_seed_diverged_are_set_apart(folder):
    tidy, _ = report.load_tidy(folder)
    t = report.table2(tidy)
    section = report.table_document("table2", t).sections[0]
    assert len(section.rows) == 4 * 3 - 1  # (dataset, pre-training) x method, but Ubernet on streets from scratch
    assert section.apart_label.startswith("Every seed diverged")
    assert [r[:3] for r in section.apart] == [["ImageNet (ours: scratch)", "Cityscapes (ours: streets)", "deepLab v2 + Edge Ubernet-style"]]
    assert section.apart[0][4] == "61.0 ± 1.0; diverged 3/3"
    text = report.table_markdown("table2", t)
    lines = text.splitlines()
    label = lines.index("| **" + section.apart_label + "** |" + "  |" * (len(section.header) - 1))
    assert "deepLab v2 + Edge Ubernet-style" in lines[label + 1] and "diverged 3/3" in lines[label + 1]
    tex = report.table_latex("table2", t)
    assert r"\multicolumn{" + str(len(section.header)) + "}{l}{\\emph{Every seed diverged" in tex
    unclipped = report.table_document("table2", t).sections[1]  # no seed diverged there: nothing set apart
    assert unclipped.apart == [] and len(unclipped.rows) == 2 * 2 * 3


def test_the_smoke_scale_is_a_plumbing_check_without_verdicts(tmp_path):
    records = tmp_path / "runs"
    for seed in range(2):
        for method, lambdas in (("ppce", None), ("ubernet", (1,)), ("ppce_edges", (1,)), ("semeda", (0, 1, 0))):
            write_record(records, run(method, lambdas, seed, 0.2 + seed / 100 + (0.05 if method == "semeda" else 0), scale="smoke"))
    built = report.build_report(records, tmp_path / "out", "smoke")
    banner = plumbing_banner(["smoke"])
    assert banner.startswith("Plumbing check, not results") and "12 training steps" in banner
    for name in ("table1.md", "table2.md", "claims.md"):
        first = (tmp_path / "out" / name).read_text(encoding="utf-8").splitlines()[0]
        assert first == f"**{banner}**", name
    assert (tmp_path / "out" / "table1.tex").read_text(encoding="utf-8").splitlines()[0] == f"% {banner}"
    claims = (tmp_path / "out" / "claims.md").read_text(encoding="utf-8")
    assert "No verdict: Table 1's runs are a plumbing check." in claims and "| C1" not in claims
    assert (tmp_path / "out" / "claims.csv").read_text(encoding="utf-8").strip() == ""
    assert banner in (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    assert plumbing_banner(["small"]) == "" and plumbing_banner(["small", "smoke"]).startswith("Plumbing check in part")
    assert built.warnings == [] or all("qualitative" in w for w in built.warnings)
