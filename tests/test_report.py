"""Report: hand-made records in, hand-computed numbers out."""

from __future__ import annotations

import math

import numpy as np
import pytest

from benchmark import report
from benchmark.report import figures
from benchmark.records import encode_mask, write_record

T_975_2 = 4.302652729911275  # Student t, 97.5% quantile, 2 degrees of freedom (printed tables)


def fake_record(
    method="ppce", lambdas=None, relu=False, seed=0, miou=0.5, status="ok", dataset="streets", scale="small",
    init="scratch", backbone="deeplabv2_small", boundary=(0.3, 0.4), interior=(0.6, 0.7), widths=(1, 2),
    images=True, settings=None, classes=19,
) -> dict:  # fmt: skip
    """A run record with only what the report reads; mIoUs are fractions."""
    params = {}
    if lambdas is not None:
        params["lambdas"] = list(lambdas)
    if method == "semeda":
        params["relu"] = relu
    lam = ",".join(f"{v:g}" for v in lambdas or ())
    run_id = f"{method}-{lam}-{int(relu)}-{dataset}-{init}-s{seed}"
    spec = dict(method=method, params=params, dataset=dataset, backbone=backbone, scale=scale, seed=seed,
                init=init, weights=None, settings=settings or {})  # fmt: skip
    record = {"run_id": run_id, "status": status, "spec": spec, "label": "", "class_names": [f"c{i}" for i in range(classes)]}
    if status != "ok":
        record.update(reason="loss is NaN", failed_step=3)
        return record
    rng = np.random.default_rng(seed)
    target = rng.integers(0, 3, (8, 16)).astype(np.uint8)
    target[0, 0] = 255
    preds = {}
    for idx in ("0", "5"):
        p = {"id": f"val{idx}", "pred": encode_mask(rng.integers(0, 3, (8, 16)))}
        if images:
            p["image"] = encode_mask(rng.integers(0, 255, (8, 16, 3)))
            p["target"] = encode_mask(target)
        preds[idx] = p
    record.update(
        metrics={"miou": miou, "per_class_iou": [miou] * classes, "biou_d1": miou / 2, "biou_d3": miou - 0.1,
                 "bf_t1": miou - 0.05, "bf_t2": miou,
                 "trimap": {"widths": list(widths), "boundary_miou": list(boundary), "interior_miou": list(interior)}},
        predictions=preds, timing={"wall_s": 10.0 + seed, "train_s": 9.0, "eval_s": 1.0}, device="cpu",
        loss_curve={"step": [5, 10], "ppce": [3.0, 1.0 + seed / 10], "total": [3.5, 1.5]},
        versions={"benchmark": "0.1.0"},
    )  # fmt: skip
    return record


def write_fake_suite(folder) -> None:
    """A small set of records covering both tables, the trimap and the qualitative figure."""
    mious = {
        ("ppce", None, False): (0.60, 0.61, 0.62),
        ("semeda", (0, 1, 0), False): (0.61, 0.63, 0.65),  # differences to PPCE: 1, 2, 3 points
        ("semeda", (1, 0, 0), True): (0.58, 0.58, 0.61),
    }
    for (method, lambdas, relu), values in mious.items():
        for seed, m in enumerate(values):
            b = (0.30 + seed * 0.02, 0.40) if method == "ppce" else (0.34 + seed * 0.02, 0.44)
            write_record(folder, fake_record(method, lambdas, relu, seed, m, boundary=b))
            if not relu:  # Table 2's rows on the VOC-like set
                write_record(folder, fake_record(method, lambdas, relu, seed, m - 0.1, dataset="shapes", classes=21))
    for seed in range(3):  # every seed of ubernet(0.5) failed
        write_record(folder, fake_record("ubernet", (0.5,), seed=seed, status="failed"))
    # ppce_edges(1): seed 0 ok, seed 1 failed, seed 2 never ran
    write_record(folder, fake_record("ppce_edges", (1,), seed=0, miou=0.615))
    write_record(folder, fake_record("ppce_edges", (1,), seed=1, status="failed"))
    # Table 2's pre-trained group: PPCE and SEMEDA on streets, seed 0 only
    write_record(folder, fake_record("ppce", seed=0, miou=0.70, init="synthetic-pretrained"))
    write_record(folder, fake_record("semeda", (0, 1, 0), seed=0, miou=0.72, init="synthetic-pretrained"))


@pytest.fixture
def records(tmp_path):
    folder = tmp_path / "runs"
    write_fake_suite(folder)
    return folder


def _row(table, **match):
    sel = table
    for k, v in match.items():
        sel = sel[sel[k] == v]
    assert len(sel) == 1, (match, len(sel))
    return sel.iloc[0]


def test_t_interval_by_hand():
    mean, half = report.t_interval([1.0, 2.0, 3.0])
    assert mean == pytest.approx(2.0)
    assert half == pytest.approx(T_975_2 * 1.0 / math.sqrt(3))  # 2.4841
    mean, half = report.t_interval([4.0])
    assert mean == 4.0 and math.isnan(half)
    assert report.paired_differences({0: 5.0, 1: 6.0, 2: 1.0}, {0: 4.0, 2: 3.0}) == {0: 1.0, 2: -2.0}


def test_tidy_table(records):
    tidy, warnings = report.load_tidy(records)
    assert warnings == []
    assert len(tidy) == 3 * 3 + 2 * 3 + 3 + 2 + 2
    row = _row(tidy, method="semeda", lambdas="0,1,0", dataset="streets", init="scratch", seed=1)
    assert row["params"] == '{"channels": "sum", "lambdas": [0.0, 1.0, 0.0], "relu": false}'
    assert row["miou"] == pytest.approx(0.63)
    assert row["boundary_miou_w1"] == pytest.approx(0.36) and row["interior_miou_w2"] == pytest.approx(0.7)
    assert row["wall_s"] == 11.0 and row["label"] == "semeda(0,1,0) before ReLU"
    failed = _row(tidy, method="ppce_edges", seed=1)
    assert failed["status"] == "failed" and failed["reason"] == "loss is NaN" and math.isnan(failed["miou"])
    assert failed["failed_step"] == 3


def test_table1_numbers(records):
    tidy, _ = report.load_tidy(records)
    t = report.table1(tidy)
    assert set(t["dataset"]) == {"streets"} and set(t["init"]) == {"scratch"}  # shapes has no Table-1-only row
    assert len(t) == 14  # the paper's rows, in its order
    assert list(t["paper"][:2]) == [64.1, 64.6] and t["paper"].iloc[10] == 66.6
    ppce = _row(t, method="ppce")
    assert ppce["ours_mean"] == pytest.approx(61.0) and ppce["ours_std"] == pytest.approx(1.0) and ppce["n"] == 3
    semeda = _row(t, method="semeda", label="semeda(0,1,0) before ReLU")
    assert semeda["ours_mean"] == pytest.approx(63.0) and semeda["ours_std"] == pytest.approx(2.0)
    assert semeda["diff_mean"] == pytest.approx(2.0) and semeda["diff_n"] == 3
    half = T_975_2 / math.sqrt(3)
    assert semeda["diff_ci_low"] == pytest.approx(2.0 - half) and semeda["diff_ci_high"] == pytest.approx(2.0 + half)

    text = report.table_markdown("table1", t)
    lines = {line.split(" | ")[0].strip("| "): line for line in text.splitlines() if line.startswith("| ")}
    assert "| PPCE | - | - | - | 64.1 | 61.0 ± 1.0 | 3 | - | baseline |" in text
    assert "| 0 | 1 | 0 | 66.6 | 63.0 ± 2.0 | 3 | s0 +1.0, s1 +2.0, s2 +3.0 | +2.0 [-0.5, +4.5] |" in text
    assert "| 1 | 0 | 0 | 65.5 | 59.0 ± 1.7 | 3 | s0 -2.0, s1 -3.0, s2 -1.0 | -2.0 [-4.5, +0.5] |" in text
    assert lines["Ubernet-style multi-task"].split(" | ")[5] == "missing"
    assert "|  | 0.5 | - | - | 64.3 | failed (3) | 0 | - | - |" in text
    assert "| PPCE on edges | 1 | - | - | 64.1 | 61.5; failed (1); seed 2 missing | 1 | s0 +1.5 | +1.5 (n=1, no interval) |" in text
    assert "streets (synthetic, Cityscapes-like), small scale, deeplabv2_small, trained from scratch" in text


def test_table2_layout_and_analogues(records):
    tidy, _ = report.load_tidy(records)
    t = report.table2(tidy)
    assert len(t) == 2 * 2 * 3  # pre-training x dataset x method
    cell = _row(t, pretraining="ImageNet", column="VOC", method="semeda")
    assert cell["dataset"] == "shapes" and cell["init"] == "scratch"
    assert cell["paper"] == pytest.approx(74.2) and cell["ours_mean"] == pytest.approx(53.0)
    assert cell["diff_mean"] == pytest.approx(2.0)
    coco = _row(t, pretraining="ImageNet+MsCoco", column="Cityscapes", method="semeda")
    assert coco["paper"] == pytest.approx(67.8) and coco["ours_mean"] == pytest.approx(72.0) and coco["diff_n"] == 1
    text = report.table_markdown("table2", t)
    assert "| ImageNet+MsCoco (ours: synthetic-pretrained) | VOC (ours: shapes) | deepLab v2 | 75.3 | missing | 0 | - | baseline |" in text
    assert "|  |  | deepLab v2 + SEMEDA | 67.8 | 72.0 | 1 | s0 +2.0 | +2.0 (n=1, no interval) |" in text
    assert "analogues" in text and "pre-trained on a larger, separate synthetic set" in text
    assert r"$\pm$" in report.table_latex("table2", t)


def test_trimap_points(records):
    tidy, _ = report.load_tidy(records)
    points = report.trimap_points(tidy)
    assert set(points["label"]) == {"ppce", "semeda(0,1,0) before ReLU"}  # Figure 5's methods only
    s = report.trimap_summary(points)
    ppce_b1 = _row(s, dataset="streets", init="scratch", label="ppce", region="boundary", width=1.0)
    assert ppce_b1["mean"] == pytest.approx(32.0) and ppce_b1["std"] == pytest.approx(2.0) and ppce_b1["n"] == 3
    inner = _row(s, dataset="streets", init="scratch", label="ppce", region="non-boundary", width=2.0)
    assert inner["mean"] == pytest.approx(70.0)


def test_report_files_rebuild_byte_identical(records, tmp_path):
    a = report.build_report(records, tmp_path / "a")
    b = report.build_report(records, tmp_path / "b")
    names = sorted(p.name for p in a.files)
    for name in ("tidy.csv", "tidy.parquet", "table1.md", "table1.csv", "table1.tex", "table2.md", "table2.csv",
                 "table2.tex", "trimap.png", "trimap.svg", "trimap.csv", "boundary.png", "boundary.svg", "boundary.csv",
                 "sensitivity.md", "curves_table1.png", "curves_table1.pdf", "qualitative_streets_small.png",
                 "qualitative_streets_small.svg", "qualitative_shapes_small.png", "index.html"):  # fmt: skip
        assert name in names
    for name in names:  # every figure has its vector twin
        if name.endswith(".png"):
            assert {name[:-4] + ".svg", name[:-4] + ".pdf"} & set(names), name
    for name in ("table1.md", "table1.csv", "table1.tex", "table2.md", "table2.csv", "table2.tex", "trimap.csv", "tidy.csv",
                 "boundary.csv", "sensitivity.md", "trimap.svg", "qualitative_streets_small.svg", "curves_table1.pdf"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert a.warnings == []
    assert report.build_report(records).out == records / "report"


def test_corrupt_record_is_a_warning(records, tmp_path, capsys):
    (records / "broken.json").write_text('{"run_id": "x", "sta')
    assert report.main(["--records", str(records), "--out", str(tmp_path / "out"), "--suite", "table1"]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("warning: ") and "broken.json" in err[0]
    assert (tmp_path / "out" / "table1.md").exists() and not (tmp_path / "out" / "table2.md").exists()


def test_cli_missing_or_empty_folder(tmp_path, capsys):
    assert report.main(["--records", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "does not exist" in err[0]
    (tmp_path / "empty").mkdir()
    assert report.main(["--records", str(tmp_path / "empty")]) == 2
    assert capsys.readouterr().err.startswith("error: no readable run record")


def test_qualitative_needs_stored_images(tmp_path):
    folder = tmp_path / "old"
    for method, lambdas in (("ppce", None), ("semeda", (0, 1, 0))):
        write_record(folder, fake_record(method, lambdas, seed=0, images=False))
    figures, warnings = report.qualitative_figures(folder)
    assert figures == {} and len(warnings) == 1 and "skipped" in warnings[0]


def test_palette_and_overlay():
    pal = report.class_palette("streets", 19)
    assert tuple(pal[0]) == (128, 64, 128) and tuple(pal[255]) == (0, 0, 0)  # Cityscapes road, void black
    voc = report.class_palette("shapes", 21)
    assert tuple(voc[1]) == (128, 0, 0) and tuple(voc[255]) == (0, 0, 0)
    image = np.full((1, 2, 3), 100, np.uint8)
    out = figures.overlay(image, np.array([[0, 255]], np.uint8), pal, alpha=0.5)
    assert out[0, 0].tolist() == [114, 82, 114] and out[0, 1].tolist() == [255, 255, 255]  # void white, as in the paper


def test_overrides_column(tmp_path):
    from dataclasses import asdict

    from benchmark.spec import scale_settings

    full = asdict(scale_settings("small", "streets"))
    write_record(tmp_path, fake_record(settings={**full, "steps": 987654}))
    # a record of an earlier version, without the settings added since: it ran unclipped
    old = {k: v for k, v in full.items() if k not in ("grad_clip", "precision", "edge_net_peak")}
    write_record(tmp_path, fake_record(seed=1, settings=old))
    tidy, _ = report.load_tidy(tmp_path)
    assert list(tidy["overrides"]) == ["grad_clip=None", "steps=987654"]


def test_paper_rows_match_the_suites():
    from benchmark import paper
    from benchmark.suites import TABLE1_ROWS, TABLE2_ROWS

    from benchmark.spec import row_key

    assert list(paper.TABLE1) == [r.key() for r in TABLE1_ROWS]
    assert list(paper.TABLE2_METHODS) == [r.key() for r in TABLE2_ROWS]
    assert len(paper.TABLE2) == 2 * 2 * 3 and paper.TABLE2[("VOC", "ImageNet", row_key("ppce"))] == 0.729
    # one identity for every spelling of a run: defaults filled in, numbers as floats
    assert row_key("semeda", {"lambdas": [0, 1, 0]}) == row_key("semeda", {"lambdas": (0.0, 1.0, 0.0), "relu": False, "channels": "sum"})
    assert row_key("semeda", {"lambdas": [0, 1, 0], "relu": True}) != row_key("semeda", {"lambdas": [0, 1, 0]})


def test_duplicate_seed_is_a_warning(tmp_path):
    first = fake_record(seed=0, miou=0.5)
    second = dict(fake_record(seed=0, miou=0.7), run_id="ppce-zz-newer")
    write_record(tmp_path, first)
    write_record(tmp_path, second)
    tidy, _ = report.load_tidy(tmp_path)
    warnings = []
    t = report.table1(tidy, warnings)
    assert len(warnings) == 1 and "2 records for ppce seed 0" in warnings[0] and "ppce-zz-newer" in warnings[0]
    assert _row(t, method="ppce")["ours_mean"] == pytest.approx(70.0)


def test_a_run_made_again_by_a_later_version_supersedes_the_earlier_record(tmp_path):
    # the newer version's run id sorts first, so neither file order nor id order picks it
    newer = dict(fake_record(seed=0, miou=0.62), run_id="ppce-aa", versions={"benchmark": "0.10.0"})
    older = dict(fake_record(seed=0, miou=0.50), run_id="ppce-zz", versions={"benchmark": "0.9.1"})
    other_seed = dict(fake_record(seed=1, miou=0.60), run_id="ppce-s1", versions={"benchmark": "0.9.1"})
    for r in (newer, older, other_seed):
        write_record(tmp_path, r)
    tidy, _ = report.load_tidy(tmp_path)
    assert len(tidy) == 3  # every record stays in the tidy table
    assert dict(zip(tidy["run_id"], tidy["superseded"])) == {"ppce-aa": False, "ppce-zz": True, "ppce-s1": False}
    warnings = []
    t = report.table1(tidy, warnings)
    assert warnings == []
    row = _row(t, method="ppce")
    assert row["n"] == 2 and row["ours_mean"] == pytest.approx((62.0 + 60.0) / 2)


def test_a_new_method_gets_its_own_row(tmp_path):
    for seed, (base, new) in enumerate(((0.50, 0.52), (0.55, 0.56))):
        write_record(tmp_path, fake_record("ppce", seed=seed, miou=base))
        write_record(tmp_path, fake_record("lovasz", (1,), seed=seed, miou=new))
    tidy, _ = report.load_tidy(tmp_path)
    # Table 1 leaves the package's other losses to their own tables (the leaderboard's) ...
    assert len(report.table1(tidy)) == 14
    # ... and shows a user's own loss, whose records carry its code's hash
    tidy.loc[tidy["method"] == "lovasz", "code"] = "0" * 64
    t1, t2 = report.table1(tidy), report.table2(tidy)
    assert len(t1) == 15 and t1.iloc[-1]["loss"] == "lovasz(1)" and math.isnan(t1.iloc[-1]["paper"])
    assert t1.iloc[-1]["diff_mean"] == pytest.approx(1.5)
    assert "| lovasz(1) | 1 | - | - | - | 54.0 ± 2.8 | 2 | s0 +2.0, s1 +1.0 | +1.5 [-4.9, +7.9] |" in report.table_markdown("table1", t1)
    assert "lovasz(1)" in set(t2["method_name"])  # Table 2 lists it after the paper's three rows, where it ran
    assert set(t2.loc[t2["method_name"] == "lovasz(1)", "dataset"]) == {"streets"} and len(t2) == 2 * 2 * 3 + 1
    # Figure 5 is the paper's figure: PPCE and Table 2's SEMEDA row, never a further method
    assert set(report.trimap_points(tidy)["label"]) == {"ppce"}


def test_claims_verdicts(tmp_path):
    """Hand-made seeds: SEMEDA (1,0,0) +3, +4, +5 over PPCE; after ReLU +1, +1, +2; Ubernet
    +0.1, +0.2, +0.0 (about equal); PPCE on edges -20 (different)."""
    from benchmark.report.claims import claims_table

    base = (0.60, 0.61, 0.62)
    rows = {
        ("ppce", None, False): (0.0, 0.0, 0.0),
        ("semeda", (1, 0, 0), False): (0.03, 0.04, 0.05),
        ("semeda", (1, 0, 0), True): (0.01, 0.01, 0.02),
        ("ubernet", (1,), False): (0.001, 0.002, 0.0),
        ("ppce_edges", (1,), False): (-0.20, -0.21, -0.19),
    }
    for (method, lambdas, relu), gains in rows.items():
        for seed, (b, g) in enumerate(zip(base, gains)):
            # boundary band w=1 gains twice the mIoU gain, w=2 the same, non-boundary none
            write_record(tmp_path, fake_record(method, lambdas, relu, seed, b + g, boundary=(0.3 + 2 * g, 0.4 + g),
                                               interior=(0.6, 0.7)))  # fmt: skip
    tidy, _ = report.load_tidy(tmp_path)
    t = claims_table(tidy)

    def one(claim, start):
        return t[(t["claim"].str.startswith(claim)) & (t["row"].str.startswith(start))].iloc[0]

    c1 = one("C1", "semeda(1,0,0) before ReLU")
    assert c1["mean"] == pytest.approx(4.0) and c1["verdict"] == "above"
    lo = 4.0 - T_975_2 * 1.0 / math.sqrt(3)  # sd of (3, 4, 5) is 1
    assert c1["ci_low"] == pytest.approx(lo)
    c2 = one("C2", "semeda(1,0,0) before ReLU")
    assert c2["mean"] == pytest.approx((2 + 3 + 3) / 3) and c2["verdict"] == "above"
    assert one("C3", "ubernet(1)")["verdict"] == "about equal"
    assert one("C4", "ppce_edges(1)")["verdict"] == "different"
    c5 = t[(t["claim"].str.startswith("C5")) & t["row"].str.contains("before ReLU: gain at w=1 minus gain at w=2")].iloc[0]
    assert c5["mean"] == pytest.approx(4.0) and c5["verdict"] == "larger"  # 8 - 4 points on average


def _with_biou(record: dict, biou_d3: float, definition: int | None) -> dict:
    """``record`` with Boundary IoU counts (2 classes) giving ``biou_d3`` at d = 3 (and 1 at
    d = 1), made under ``definition`` (None: a record from before definitions were kept)."""
    counts = {"widths": [1, 3], "intersection": [[1, 1], [round(100 * biou_d3)] * 2], "union": [[1, 1], [100, 100]]}
    if definition is not None:
        counts["definition"] = definition
    return {**record, "counts": {"boundary_iou": counts}}


def test_boundary_cells_never_mix_definitions(tmp_path):
    # streets: PPCE under definition 2 (50, 60); SEMEDA (1,0,0) seed 0 under definition 1
    # (90, left out), seed 1 under definition 2 (70): the cell is 70 from seed 1 alone, Δ +10.
    # shapes: everything under definition 1: the cells say so, Δ against PPCE's (def. 1) cells.
    # voc-like 'shapes' with synthetic-pretrained init: SEMEDA under 2, PPCE under 1: no Δ.
    semeda = dict(method="semeda", lambdas=(1, 0, 0))
    runs = [
        (fake_record(seed=0), 0.5, 2), (fake_record(seed=1), 0.6, 2),
        (fake_record(**semeda, seed=0), 0.9, None), (fake_record(**semeda, seed=1), 0.7, 2),
        (fake_record(seed=0, dataset="shapes"), 0.4, None), (fake_record(seed=1, dataset="shapes"), 0.5, None),
        (fake_record(**semeda, seed=0, dataset="shapes"), 0.45, None), (fake_record(**semeda, seed=1, dataset="shapes"), 0.65, None),
        (fake_record(seed=0, init="synthetic-pretrained"), 0.4, None),
        (fake_record(**semeda, seed=0, init="synthetic-pretrained"), 0.6, 2),
    ]  # fmt: skip
    for record, value, definition in runs:
        write_record(tmp_path, _with_biou(record, value, definition))
    tidy, _ = report.load_tidy(tmp_path)
    assert sorted(tidy["boundary_iou_definition"].tolist()) == [1] * 6 + [2] * 4
    t = report.table1(tidy, [])
    row = _row(t, label="semeda(1,0,0) before ReLU", dataset="streets", init="scratch")
    assert row["biou_n"] == 1 and row["biou_ours_mean"] == pytest.approx(70.0)
    assert row["biou_definition"] == 2 and not row["biou_outdated"]
    assert row["biou_diff_mean"] == pytest.approx(10.0)
    row = _row(t, label="semeda(1,0,0) before ReLU", dataset="shapes")
    assert row["biou_definition"] == 1 and row["biou_outdated"]
    assert row["biou_diff_mean"] == pytest.approx(((45 - 40) + (65 - 50)) / 2)
    row = _row(t, label="semeda(1,0,0) before ReLU", init="synthetic-pretrained")
    assert row["biou_diff_n"] == 0 and math.isnan(row["biou_diff_mean"])
    text = report.table_markdown("table1", t)
    shapes = text[text.index("shapes"):]
    assert "55.0 ± 14.1 (def. 1)" in shapes and "(def. 1)" not in text[: text.index("shapes")].split("## ")[-1]


def test_a_run_made_again_under_a_later_definition_supersedes_the_earlier_record(tmp_path):
    # The same version and run, re-made (with new pre-trained weights: another run id) under
    # the amended boundary definition: the tables read the re-made record.
    old = dict(_with_biou(fake_record(seed=0, miou=0.50), 0.3, None), run_id="ppce-zz", versions={"benchmark": "0.3.0"})
    new = dict(_with_biou(fake_record(seed=0, miou=0.52), 0.4, 2), run_id="ppce-aa", versions={"benchmark": "0.3.0"})
    for r in (old, new):
        write_record(tmp_path, r)
    tidy, _ = report.load_tidy(tmp_path)
    assert dict(zip(tidy["run_id"], tidy["superseded"])) == {"ppce-aa": False, "ppce-zz": True}
    warnings = []
    row = _row(report.table1(tidy, warnings), method="ppce")
    assert warnings == [] and row["ours_mean"] == pytest.approx(52.0) and row["biou_ours_mean"] == pytest.approx(40.0)
