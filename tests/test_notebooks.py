"""Every result notebook executes top to bottom and shows its tables and figures.

They run against the committed reference records (results/runs) when those exist, else
against a folder of hand-made records, through the SEMEDA_RECORDS variable their first
cell reads.
"""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

from test_report import write_fake_suite  # noqa: E402  (tests/ is on sys.path under pytest)

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
COMMITTED = ROOT / "results" / "runs"


@pytest.fixture(scope="module")
def records_dir(tmp_path_factory):
    if COMMITTED.is_dir() and any(COMMITTED.glob("*.json")):
        return COMMITTED, False
    folder = tmp_path_factory.mktemp("runs")
    write_fake_suite(folder)
    return folder, True


def test_the_notebooks_exist():
    assert {p.stem for p in NOTEBOOKS} >= {"table1", "table2", "trimap", "qualitative", "sensitivity", "multiverse", "leaderboard"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes(path, records_dir, monkeypatch):
    folder, fake = records_dir
    book = nbformat.read(path, as_version=4)
    code = [c for c in book.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), "commit notebooks with outputs cleared"
    assert 'RECORDS = os.environ.get("SEMEDA_RECORDS", "../results/runs")' in code[0].source
    source = "\n".join(c.source for c in code)
    assert "benchmark.train" not in source and "import torch" not in source  # notebooks only read results

    monkeypatch.setenv("SEMEDA_RECORDS", str(folder))
    nbclient.NotebookClient(
        book, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()

    outputs = [o for c in book.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    shown = [o.get("data", {}) for o in outputs]
    streams = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "TqdmWarning" not in streams and "IProgress" not in streams  # no progress-bar warning
    pngs = [d["image/png"] for d in shown if "image/png" in d]
    assert len(pngs) == len(set(pngs)), "a figure shown twice (display and the inline backend)"
    if path.stem in ("table1", "table2"):  # the table the notebook is named for comes first
        first = next(d for d in shown if d)
        assert f"# Table {path.stem[-1]}" in first.get("text/markdown", "")
    if path.stem == "sensitivity":
        assert any("# Sensitivity" in d.get("text/markdown", "") for d in shown)
        assert any("# The paper's claims" in d.get("text/markdown", "") for d in shown)
    if path.stem == "multiverse":
        assert any("# Multiverse" in d.get("text/markdown", "") for d in shown)
    if path.stem == "leaderboard":
        assert any("# Leaderboard" in d.get("text/markdown", "") for d in shown)
    if path.stem == "trimap" or (path.stem == "qualitative" and fake):
        assert any("image/png" in d for d in shown)
