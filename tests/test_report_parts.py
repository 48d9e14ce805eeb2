"""The report's renderer and its parts registry: hand-made sections in, exact text out;
a part registered here is built by ``build_report``; ``--check`` names a file that differs."""

from __future__ import annotations

import pandas as pd
import pytest

from benchmark import report
from benchmark.records import write_record
from benchmark.report.parts import PARTS, parts_for
from test_report import fake_record  # tests/ is on sys.path under pytest

SECTION = report.Section(
    "A title", ["Loss", "λ1", "Δ"], [["a|b", "1", "+1.0 ± 0.5"], ["", "-", "50%"]], notes=("First note.", "Second note."),
)  # fmt: skip


def test_markdown_of_sections():
    text = report.markdown("Heading", [SECTION, report.Section("Sub", ["x"], [["1"]], intro=("Above.",), level=3)],
                           intro=("Intro.",))  # fmt: skip
    assert text == (
        "# Heading\n\nIntro.\n\n## A title\n\n| Loss | λ1 | Δ |\n|---|---|---|\n| a\\|b | 1 | +1.0 ± 0.5 |\n|  | - | 50% |\n\n"
        "First note.\n\nSecond note.\n\n### Sub\n\nAbove.\n\n| x |\n|---|\n| 1 |\n"
    )
    assert report.markdown("Heading", [], empty="Nothing yet.") == "# Heading\n\nNothing yet.\n"


def test_rows_set_apart_and_a_banner():
    apart = report.Section("T", ["a", "b"], [["1", "2"]], apart=[["3", "4"]], apart_label="Every seed diverged")
    doc = report.Document("Heading", [apart], banner="Plumbing check.")
    assert doc.markdown() == (
        "**Plumbing check.**\n\n# Heading\n\n## T\n\n| a | b |\n|---|---|\n| 1 | 2 |\n| **Every seed diverged** |  |\n| 3 | 4 |\n"
    )
    assert report.latex([apart], empty="x", banner="Plumbing check.").splitlines()[:12] == [
        "% Plumbing check.", "% T", r"\begin{table}[t]", r"\centering", r"\small", r"\begin{tabular}{ll}", r"\toprule",
        r"a & b \\", r"\midrule", r"1 & 2 \\", r"\midrule", r"\multicolumn{2}{l}{\emph{Every seed diverged}} \\",
    ]  # fmt: skip
    assert report.latex([], empty="nothing", banner="Plumbing check.") == "% Plumbing check.\n% nothing\n"


def test_latex_of_sections():
    text = report.latex([SECTION], empty="nothing")
    assert text.splitlines() == [
        "% A title", r"\begin{table}[t]", r"\centering", r"\small", r"\begin{tabular}{lll}", r"\toprule",
        r"Loss & $\lambda_1$ & $\Delta$ \\", r"\midrule", r"a|b & 1 & +1.0 $\pm$ 0.5 \\", r" & - & 50\% \\", r"\bottomrule",
        r"\end{tabular}", r"\caption{First note. Second note.}", r"\end{table}",
    ]  # fmt: skip
    assert text.endswith("\\end{table}\n")
    custom = report.Section("T", ["a", "b"], [], caption="Own caption_1.", align="lr")
    assert r"\begin{tabular}{lr}" in report.latex([custom], empty="x") and r"\caption{Own caption\_1.}" in report.latex([custom], empty="x")
    assert report.latex([], empty="no record of anything") == "% no record of anything\n"


def test_csv_of_a_frame():
    frame = pd.DataFrame({"a": [1.23456, float("nan")], "b": ["x", "y"]})
    assert report.frame_csv(frame) == "a,b\n1.235,x\n,y\n"
    assert report.frame_csv(frame, decimals=None) == "a,b\n1.23456,x\n,y\n"


@pytest.fixture
def two_runs(tmp_path):
    folder = tmp_path / "runs"
    for method, lambdas in (("ppce", None), ("semeda", (0, 1, 0))):
        write_record(folder, fake_record(method, lambdas, seed=0))
    return folder


@pytest.fixture
def toy_part():
    """A part registered by this test alone: ``toy.txt`` holds the number of records."""

    def write_toy(inputs: report.PartInput, out: report.PartOutput) -> None:
        out.text("toy.txt", f"{len(inputs.records)} records, suites {' '.join(inputs.suites)}\n")

    part = report.register_part("toy", write_toy)
    yield part
    PARTS.pop("toy", None)


def test_a_registered_part_is_built(two_runs, tmp_path, toy_part):
    assert "toy" in report.suite_names() and [p.name for p in parts_for("all")][-1] == "toy"
    built = report.build_report(two_runs, tmp_path / "toy", "toy")
    assert (tmp_path / "toy" / "toy.txt").read_text() == "2 records, suites toy\n"
    names = [p.name for p in built.files]
    # in registration order: the parts every suite builds (tidy table, qualitative figures), then the toy's
    assert names == ["tidy.parquet", "tidy.csv", "qualitative_streets_small.png", "qualitative_streets_small.svg", "toy.txt",
                     "index.html"]  # then the results page of every part's files


def test_registry_rules(toy_part):
    with pytest.warns(UserWarning, match="registered twice"):
        report.register_part("toy", toy_part.write)
    with pytest.raises(ValueError, match="every part"):
        report.register_part("all", toy_part.write)
    assert [p.name for p in parts_for("smoke")] == list(PARTS)  # a suite no part knows builds everything
    assert [p.name for p in parts_for("table2")] == ["tidy", "table2", "curves", "qualitative"]


def test_check_names_the_files_that_differ(two_runs, tmp_path, toy_part, capsys):
    ref = tmp_path / "ref"
    args = ["--records", str(two_runs), "--suite", "toy"]
    assert report.main(args + ["--out", str(ref)]) == 0
    capsys.readouterr()
    assert report.main(args + ["--check", str(ref)]) == 0
    assert "identical to" in capsys.readouterr().out
    (ref / "tidy.csv").write_text((ref / "tidy.csv").read_text() + " ")
    (ref / "toy.txt").unlink()
    assert report.main(args + ["--check", str(ref)]) == 1
    out = capsys.readouterr().out
    assert "2 of the rebuilt files differ" in out and "tidy.csv: differs" in out and "toy.txt: made by the report, absent" in out
    assert not any(p.name.startswith("report-check-") for p in tmp_path.iterdir())
