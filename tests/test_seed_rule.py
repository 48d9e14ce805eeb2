"""Table 1's seed rule: seeds 3, then 5, then 10 for a row whose paired interval contains its
verdict's bound, PPCE with it, read from the records present."""

from __future__ import annotations

import types

from benchmark.records import write_record
from benchmark.seed_rule import SEED_STEPS, bounds_of, hinges, row_seeds, widen
from benchmark.suites import SUITES, expand


def test_bounds_follow_the_claims():
    assert SEED_STEPS == (3, 5, 10) and SUITES["table1"].seed_steps == SEED_STEPS and SUITES["table1"].seeds == 3
    assert bounds_of("semeda") == (0.0,) and bounds_of("ubernet") == (-1.0, 1.0) and bounds_of("ppce_edges") == (-1.0, 1.0)
    assert bounds_of("ppce") == () and bounds_of("dice") == ()


def test_hinges_by_hand():
    # (1, 2, 3): mean 2, sd 1, half-width t(0.975, 2) = 4.303 / sqrt(3) = 2.484: [-0.48, 4.48]
    assert hinges([1, 2, 3], (0.0,)) and hinges([1, 2, 3], (-1.0, 1.0))
    # (1.9, 2, 2.1): half-width 4.303 * 0.1 / sqrt(3) = 0.248: [1.75, 2.25], neither 0 nor +-1
    assert not hinges([1.9, 2.0, 2.1], (0.0,)) and not hinges([1.9, 2.0, 2.1], (-1.0, 1.0))
    # (-0.1, 0, 0.1): [-0.25, 0.25] holds 0 (a sign verdict hinges) but lies inside +-1 (about equal)
    assert hinges([-0.1, 0.0, 0.1], (0.0,)) and not hinges([-0.1, 0.0, 0.1], (-1.0, 1.0))
    assert not hinges([1.0], (0.0,))  # no interval: nothing to read


def test_row_seeds_steps_and_stops():
    base = lambda s: 60.0  # noqa: E731
    wide = {0: 61.0, 1: 62.0, 2: 63.0}  # [-0.48, 4.48] above PPCE: holds 0
    # 5 seeds: (1, 2, 3, 2, 2): mean 2, sd 0.707, half 2.776 * 0.707 / sqrt(5) = 0.878: [1.12, 2.88]
    settled = {**wide, 3: 62.0, 4: 62.0}
    assert row_seeds(settled.get, base, (0.0,)) == 5
    assert row_seeds(wide.get, base, (0.0,)) == 5  # seeds 3 and 4 missing: the row stops at 5, its runs to do
    chaotic = {s: 60.0 + (3 if s % 2 else -3) for s in range(10)}
    assert row_seeds(chaotic.get, base, (0.0,)) == 10  # the cap
    assert row_seeds({0: 70.0, 1: 70.5, 2: 71.0}.get, base, (0.0,)) == 3  # clear at 3
    assert row_seeds(wide.get, base, ()) == 3  # no verdict, no bound
    assert row_seeds({0: 61.0, 1: None, 2: 63.0}.get, base, (0.0,)) == 3  # a failed run stops the rule


def test_widen_adds_the_hinging_rows_and_ppce():
    specs = expand("table1", scale="smoke")
    assert len(specs) == 42
    semeda = next(s for s in specs if s.method == "semeda" and dict(s.params)["lambdas"] == (0, 1, 0) and not dict(s.params)["relu"])
    ubernet = next(s for s in specs if s.method == "ubernet" and dict(s.params)["lambdas"] == (1,))
    values = {semeda.params: {0: 60.0, 1: 55.0, 2: 63.0}, ubernet.params: {0: 59.0, 1: 60.0, 2: 61.0}}

    def miou(spec):
        if spec.method == "ppce":
            return 60.0
        if spec.params in values and spec.method in ("semeda", "ubernet"):
            return values[spec.params].get(spec.seed)
        return 70.0 + spec.seed / 10 if spec.method == "semeda" else 60.0 + spec.seed / 100  # clear: above, about equal

    added = [s for s in widen(specs, miou) if s.seed >= 3]
    assert sorted((s.method, s.seed) for s in added) == [("ppce", 3), ("ppce", 4), ("semeda", 3), ("semeda", 4), ("ubernet", 3),
                                                         ("ubernet", 4)]  # fmt: skip
    assert widen(specs, miou) == widen(widen(specs, miou), miou)  # widening its own output adds nothing more
    no_ppce = [s for s in specs if s.method != "ppce"]
    assert widen(no_ppce, miou) == no_ppce  # nothing to pair with


def test_table1_dry_run_lists_the_added_seeds(capsys, tmp_path):
    from benchmark.run import _data_versions, main

    out = tmp_path / "runs"
    specs = expand("table1", scale="smoke", methods=["ppce", "ubernet"])
    versions = _data_versions(specs, types.SimpleNamespace(data_root=None))
    ours = {(): 0.60, (("lambdas", (1,)),): 0.60, (("lambdas", (0.5,)),): 0.50, (("lambdas", (5,)),): 0.50}
    for s in specs:  # ubernet(1): s-dependent, so that its interval holds +-1; the others clear
        value = ours[s.params] + (0.02 * (s.seed - 1) if s.params == (("lambdas", (1,)),) else 0.001 * s.seed)
        write_record(out, {"run_id": s.run_id(versions[s.dataset]), "spec": s.to_dict(), "status": "ok", "metrics": {"miou": value}})
    args = ["--suite", "table1", "--dry-run", "--out", str(out), "--scale", "smoke", "--methods", "ppce,ubernet"]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "16 runs, 4 to do" in text and "ubernet(1) s4" in text and "ppce s3" in text
    assert "ubernet(0.5) s3" not in text and "ubernet(5) s3" not in text
    assert main([*args, "--seeds", "3"]) == 0 and "12 runs, 0 to do" in capsys.readouterr().out  # --seeds overrides the rule


def test_report_expects_the_added_seeds_only_of_the_rows_they_were_added_to(tmp_path):
    from test_report import fake_record  # tests/ is on sys.path under pytest

    from benchmark import report
    from benchmark.report.seed_strip import seed_points, seed_strip_figure

    folder = tmp_path / "runs"
    runs = {
        ("ppce", None, False): [0.60] * 5,
        ("semeda", (0, 1, 0), False): [0.60, 0.55, 0.63, 0.62, 0.56],  # [-8.5, +7.8] at 3 seeds: holds 0, extended
        ("semeda", (1, 0, 0), False): [0.63, 0.63, 0.635],  # +3.0 to +3.5: clear at 3 seeds
        ("semeda", (0, 0.5, 0), True): [0.58, 0.62, 0.60],  # holds 0 at 3 seeds; seeds 3 and 4 not run yet
    }
    for (method, lambdas, relu), values in runs.items():
        for seed, m in enumerate(values):
            write_record(folder, fake_record(method, lambdas, relu, seed, m))
    tidy, _ = report.load_tidy(folder)
    t = report.table1(tidy)
    row = lambda label: t[t["label"] == label].iloc[0]  # noqa: E731
    assert row("ppce")["n"] == 5 and row("ppce")["missing_seeds"] == ""
    assert row("semeda(0,1,0) before ReLU")["n"] == 5 and row("semeda(0,1,0) before ReLU")["diff_n"] == 5
    assert row("semeda(1,0,0) before ReLU")["n"] == 3 and row("semeda(1,0,0) before ReLU")["missing_seeds"] == ""
    assert row("semeda(0,0.5,0) after ReLU")["missing_seeds"] == "3 4"
    text = report.table_markdown("table1", t)
    assert text.count("seeds 3, 4 missing") == 1 and "seed 3" not in text  # that cell alone
    assert "gets seeds 3-4, then" in text and "table1_seeds.png" in text
    points = seed_points(tidy, [tuple(c) for c in t[report.CONTEXT].drop_duplicates().itertuples(index=False)])
    assert len(points) == 5 + 5 + 3 + 3 and list(points["label"][:5]) == ["ppce"] * 5
    fig = seed_strip_figure(points)
    assert len(fig.axes) == 1 and len(fig.axes[0].get_yticklabels()) == 4
