"""Every entry point answers bad input before it spends compute, and every interruption says
what it left.

Bad input: exit 2, one line naming the problem and the fix, no traceback, no record, and
nothing prepared (the data folder holds no file) and nothing trained. The command line's
``main`` runs in this process; the one Ray suite runs in a subprocess with its own local
Ray on 127.0.0.1, which the suite stops itself (or the test kills with its process group).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from test_data import CS_LABEL_IDS, write_cityscapes
from test_report import fake_record, write_fake_suite

import methods
from benchmark import perf, report
from benchmark.data.synthetic import GENERATOR_VERSION
from benchmark.models import build_model, load_weights
from benchmark.records import load_records, write_record
from benchmark.run import main
from benchmark.spec import MAX_SEED, RunSpec
from benchmark.suites import expand
from benchmark.validate import check_specs
from methods import StructureLoss
from methods.registry import unregister_method

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def nothing_runs(monkeypatch, tmp_path):
    """Fails the test if the command gets as far as preparation, training or a sweep; the
    data folder of the command (``tmp_path/data``) must hold no file afterwards."""
    import benchmark.prepare
    import benchmark.sweep
    import benchmark.train

    data = tmp_path / "data"
    monkeypatch.setenv("SEMEDA_DATA", str(data))

    def refuse(*args, **kwargs):
        raise AssertionError("bad input reached preparation, training or the sweep")

    for module, name in [(benchmark.prepare, "prepare"), (benchmark.train, "train"), (benchmark.sweep, "run_specs")]:
        monkeypatch.setattr(module, name, refuse)
    yield data
    assert not data.exists() or not [p for p in data.rglob("*") if p.is_file()], "something was prepared"


def assert_refused(code: int, err: str, out: Path, *needles: str, exit_code: int = 2) -> None:
    """One line on stderr naming the problem (``needles``), no traceback, no record in ``out``."""
    assert code == exit_code, err
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err and "usage:" not in err, err
    assert "\x1b" not in err, err  # no terminal codes
    for needle in needles:
        assert needle in err, err
    assert not out.exists() or not list(out.glob("*.json")), "a record was written"


def _file(tmp_path: Path) -> str:
    path = tmp_path / "a-file"
    path.write_text("")
    return str(path)


def _small_model_weights(tmp_path: Path, num_classes: int = 3, prefix: str = "") -> str:
    """A whole small network's state dict (width 8, as the smoke scale builds it)."""
    path = tmp_path / f"small{num_classes}{prefix.strip('.')}.pt"
    torch.manual_seed(0)
    state = build_model("deeplabv2_small", num_classes, width=8).state_dict()
    torch.save({prefix + k: v for k, v in state.items()}, path)
    return str(path)


def _text_weights(tmp_path: Path) -> str:
    path = tmp_path / "weights.pt"
    path.write_text("these are not weights\n")
    return str(path)


def _pickled_model(tmp_path: Path) -> str:
    path = tmp_path / "whole_model.pt"
    torch.save(build_model("deeplabv2_small", 3, width=8), path)
    return str(path)


def _more_gpus_than_here() -> str:
    return str(torch.cuda.device_count() + 1)


def _more_cpus_than_here() -> str:
    return str((os.cpu_count() or 1) + 1)


SUITE = ["--suite", "smoke", "--no-report"]

#: (arguments, what the one line must say); a callable argument is given ``tmp_path``.
CASES = [
    # numbers of the command line
    (["--threads", "-1"], ["--threads must be an integer >= 1, got -1"]),
    (["--seed", str(2**64)], [f"--seed must be an integer from 0 to {MAX_SEED}, got {2**64}"]),
    (["--seed", str(MAX_SEED + 1)], [f"--seed must be an integer from 0 to {MAX_SEED}"]),
    ([*SUITE, "--retries", "-1", "--executor", "inline"], ["--retries must be an integer >= 0, got -1"]),
    ([*SUITE, "--retries", "-1"], ["--retries must be an integer >= 0, got -1"]),
    ([*SUITE, "--cpus-per-trial", "-2"], ["--cpus-per-trial must be a finite number > 0, got -2"]),
    ([*SUITE, "--cpus-per-trial", "0"], ["--cpus-per-trial must be a finite number > 0, got 0"]),
    ([*SUITE, "--gpus-per-trial", "nan"], ["--gpus-per-trial must be a finite number >= 0, got nan"]),
    ([*SUITE, "--max-concurrent", "0"], ["--max-concurrent must be an integer >= 1, got 0"]),
    # resources: a trial that could never start is an error, never a wait
    ([*SUITE, "--gpus-per-trial", _more_gpus_than_here()], ["--gpus-per-trial", "so no trial could ever start"]),
    ([*SUITE, "--cpus-per-trial", _more_cpus_than_here()], ["--cpus-per-trial", "so no trial could ever start; give at most"]),
    # settings: ranges and finiteness, for a single run and a suite alike
    (["--set", "lr=inf"], ["setting lr must be a finite number > 0, got inf"]),
    (["--set", "lr=nan"], ["setting lr must be a finite number > 0"]),
    (["--set", "momentum=-1"], ["setting momentum must be a finite number >= 0, got -1"]),
    (["--set", "log_every=0"], ["setting log_every must be an integer >= 1"]),
    ([*SUITE, "--set", "log_every=0"], ["setting log_every must be an integer >= 1"]),
    (["--set", "crop=0,0"], ["setting crop must be 2 integers >= 1"]),
    ([*SUITE, "--set", "crop=0,0"], ["setting crop must be 2 integers >= 1"]),
    (["--set", "scale_range=1.5,0.5"], ["setting scale_range must be a range low,high"]),
    (["--set", "trimap_widths=0"], ["setting trimap_widths must be finite numbers > 0"]),
    (["--set", "edge_net_peak=1.5"], ["setting edge_net_peak must be a number in (0, 1)"]),
    # names: every entry of a list
    ([*SUITE, "--methods", "ppce,nosuchloss"], ["suite 'smoke' has no row for methods ['nosuchloss']", "its methods:"]),
    ([*SUITE, "--datasets", "streets,kitti"], ["unknown dataset 'kitti'"]),
    ([*SUITE, "--backbones", "deeplabv2_small,resnet9000"], ["unknown backbone 'resnet9000'"]),
    # output paths: a writable folder, or a writable file path
    (["--out", ""], ["--out is empty; give a folder"]),
    ([*SUITE, "--out", ""], ["--out is empty; give a folder"]),
    (["--out", _file], ["a-file: is a file, not a folder; give a folder"]),
    (["--save-weights", lambda t: str(t)], ["--save-weights", "is a folder; give a file path in it"]),
    (["--save-weights", "/proc/forbidden/w.pt"], ["--save-weights /proc/forbidden/w.pt: cannot write there"]),
    (["--save-weights", ""], ["--save-weights is empty"]),
    ([*SUITE, "--save-weights", "w.pt"], ["--save-weights applies to single runs"]),
    ([*SUITE, "--storage-path", _file], ["--storage-path", "a-file: is a file, not a folder"]),
    ([*SUITE, "--storage-path", "/proc/forbidden"], ["--storage-path /proc/forbidden: cannot write there"]),
    ([*SUITE, "--executor", "inline", "--storage-path", "s3://bucket/x"], ["the inline executor keeps its checkpoints in a local folder"]),
    # datasets
    (["--scale", "paper", "--data-root", lambda t: str(t)], ["the paper scale trains on a real dataset, and streets is synthetic",
                                                              "give --dataset cityscapes or --dataset voc"]),
    (["--data-root", lambda t: str(t)], ["--data-root is read by the real datasets; streets is synthetic"]),
    ([*SUITE, "--suite", "table1", "--scale", "paper", "--datasets", "streets", "--weights-imagenet", _text_weights],
     ["the paper scale trains on a real dataset"]),
    # weights files, before the first run
    (["--weights", _text_weights], ["cannot read weights file", "weights.pt: it is text; give a state dict saved with torch.save"]),
    (["--weights", _pickled_model], ["whole_model.pt: it holds pickled Python objects", "save its model.state_dict() instead"]),
    (["--weights", _small_model_weights], ["small3.pt: shape mismatch for classifier."]),
    ([*SUITE, "--suite", "table1", "--scale", "paper", "--datasets", "cityscapes", "--backbones", "deeplabv2_small",
      "--weights-imagenet", _small_model_weights], ["small3.pt: shape mismatch for backbone."]),
    ([*SUITE, "--suite", "table1", "--scale", "paper", "--datasets", "cityscapes", "--weights-imagenet", "/nonexistent/r101.pth"],
     ["--weights-imagenet /nonexistent/r101.pth: no such file"]),
]  # fmt: skip


@pytest.mark.parametrize("args, needles", CASES, ids=[" ".join(a for a in args if isinstance(a, str))[:60] for args, _ in CASES])
def test_bad_input_is_refused_before_any_work(capsys, tmp_path, nothing_runs, args, needles):
    args = [a(tmp_path) if callable(a) else a for a in args]
    out = tmp_path / "runs"
    if "--out" not in args:
        args += ["--out", str(out)]
    if "--scale" not in args:
        args += ["--scale", "smoke"]
    code = main([*args, "--no-progress"])
    assert_refused(code, capsys.readouterr().err.strip(), out, *needles)


# ---------------------------------------------------------------------------- a loss of one's own


def _forward_without_total(self, logits, target, *, edges=None, edge_logits=None):
    return {"ce": F.cross_entropy(logits, target, ignore_index=self.ignore_index)}


def _forward_bare_tensor(self, logits, target, *, edges=None, edge_logits=None):
    return F.cross_entropy(logits, target, ignore_index=self.ignore_index)


def _forward_detached(self, logits, target, *, edges=None, edge_logits=None):
    ce = F.cross_entropy(logits, target, ignore_index=self.ignore_index).detach()
    return {"ce": ce, "total": ce}


@pytest.mark.parametrize(
    "forward, needle",
    [
        (_forward_without_total, "breaks rule 'terms': forward must return a dict with 'total', got dict ['ce']"),
        (_forward_bare_tensor, "breaks rule 'terms': forward must return a dict with 'total', got Tensor"),
        (_forward_detached, "breaks rule 'gradient to the logits': 'total' is not attached to the logits"),
    ],
)
@pytest.mark.parametrize("suite", [False, True], ids=["single", "suite"])
def test_a_loss_that_breaks_the_contract_is_refused_before_any_work(capsys, tmp_path, nothing_runs, forward, needle, suite):
    cls = type("Broken", (StructureLoss,), {"name": "test_broken_loss", "forward": forward})
    methods.register_method(cls)
    try:
        command = ["--suite", "leaderboard", "--methods", "test_broken_loss", "--datasets", "streets"] if suite else \
            ["--method", "test_broken_loss"]  # fmt: skip
        code = main([*command, "--scale", "smoke", "--out", str(tmp_path / "runs"), "--no-progress"])
    finally:
        unregister_method("test_broken_loss")
    assert_refused(code, capsys.readouterr().err.strip(), tmp_path / "runs", f"method 'test_broken_loss' {needle}",
                   "fix the loss: methods.testing.check_method checks the contract")  # fmt: skip


def test_a_loss_of_ones_own_under_a_built_in_name_is_refused(capsys, tmp_path, nothing_runs):
    plugin = tmp_path / "shadows_ppce.py"
    plugin.write_text(
        "import torch.nn.functional as F\nfrom methods import StructureLoss, register_method\n\n"
        "@register_method\nclass PPCE(StructureLoss):\n    name = 'ppce'\n\n"
        "    def forward(self, logits, target, *, edges=None, edge_logits=None):\n"
        "        ce = F.cross_entropy(logits, target, ignore_index=self.ignore_index)\n"
        "        return {'ppce': ce, 'total': ce}\n"
    )
    code = main(["--import", str(plugin), "--scale", "smoke", "--out", str(tmp_path / "runs"), "--no-progress"])
    assert_refused(code, capsys.readouterr().err.strip(), tmp_path / "runs", "method 'ppce' is built in",
                   "@register_method(replace=True)")  # fmt: skip
    assert methods.method_origin("ppce") is None and "shadows_ppce" not in sys.modules


# ---------------------------------------------------------------------------- weights files


def test_a_data_parallel_prefix_is_stripped_with_a_note(tmp_path):
    plain, prefixed = _small_model_weights(tmp_path, 21), _small_model_weights(tmp_path, 21, prefix="module.")
    model = build_model("deeplabv2_small", 21, width=8)
    note = f"weights file {prefixed}: the 'module.' prefix of a DataParallel model stripped from its {len(model.state_dict())} keys"
    assert load_weights(model, prefixed).notes == (note,)
    expected = torch.load(plain, weights_only=True)
    assert all(torch.equal(value, expected[key]) for key, value in model.state_dict().items())
    # Checked before a run, on the model of the run's backbone and dataset (shapes: 21 classes).
    said = []
    check_specs([RunSpec.create("ppce", scale="smoke", dataset="shapes", weights=prefixed, init="mine")], say=said.append)
    assert said == [f"note: {note}"]


# ---------------------------------------------------------------------------- a dataset's files


@pytest.fixture
def cityscapes_root(tmp_path):
    root = tmp_path / "cityscapes"
    for split in ("train", "val"):
        write_cityscapes(root, split, {"bonn_000000_000019": CS_LABEL_IDS, "bonn_000001_000019": CS_LABEL_IDS})
    return root


def _grey16_image(root: Path) -> tuple[Path, str]:
    path = root / "leftImg8bit/val/bonn/bonn_000001_000019_leftImg8bit.png"
    Image.fromarray(np.full(CS_LABEL_IDS.shape, 40000, dtype=np.uint16)).save(path)
    assert Image.open(path).mode.startswith("I;16")
    return path, "(16-bit grayscale), which reading it as 8-bit RGB would distort; convert the images to 8-bit RGB"


def _mask16(root: Path) -> tuple[Path, str]:
    path = root / "gtFine/train/bonn/bonn_000001_000019_gtFine_labelIds.png"
    Image.fromarray(CS_LABEL_IDS.astype(np.uint16)).save(path)
    return path, "(16-bit grayscale); expected an 8-bit single-channel index PNG (mode L or P)"


@pytest.mark.parametrize("damage", [_grey16_image, _mask16])
def test_image_modes_are_checked_before_the_heavy_preparation(capsys, tmp_path, monkeypatch, cityscapes_root, damage):
    data = tmp_path / "data"
    monkeypatch.setenv("SEMEDA_DATA", str(data))
    bad, needle = damage(cityscapes_root)
    out = tmp_path / "runs"
    code = main(["--dataset", "cityscapes", "--data-root", str(cityscapes_root), "--scale", "smoke", "--out", str(out), "--no-progress"])
    assert_refused(code, capsys.readouterr().err.strip(), out, str(bad), needle)
    assert not [p for p in data.rglob("*") if p.is_file()]  # no distance map, no edge net, not even the "checked" mark


# ---------------------------------------------------------------------------- an existing record


def _smoke_run_record(out: Path, **fields) -> tuple[list[str], Path]:
    """The command of a 2-step smoke run and the path of its record, written with ``fields``."""
    spec = RunSpec.create("ppce", scale="smoke", overrides={"steps": 2})
    run_id = spec.run_id(GENERATOR_VERSION)
    record = {"run_id": run_id, "spec": spec.to_dict(), "label": spec.label(), **fields}
    path = write_record(out, record)
    return ["--scale", "smoke", "--set", "steps=2", "--out", str(out), "--no-progress"], path


def test_a_failed_record_is_never_reused_silently(capsys, tmp_path):
    out = tmp_path / "runs"
    command, path = _smoke_run_record(out, status="failed", reason="RuntimeError: out of memory")
    assert main(command) == 1
    err = capsys.readouterr().err.strip()
    assert err == (f"record exists: {path} says the run FAILED (RuntimeError: out of memory); to run it again, give the same "
                   "command with --retry-failed or --force")  # fmt: skip
    assert main([*command, "--retry-failed"]) == 0
    (record,), _ = load_records(out)
    assert record["status"] == "ok" and record["run_id"] == path.stem


def test_a_suite_says_which_runs_it_skipped_for_a_failed_record_and_exits_1(capsys, tmp_path):
    out = tmp_path / "runs"
    (spec,) = expand("smoke", methods=["ppce"], overrides={"steps": 2})
    write_record(out, {"run_id": spec.run_id(GENERATOR_VERSION), "spec": spec.to_dict(), "label": spec.label(), "status": "failed",
                       "reason": "RuntimeError: out of memory"})  # fmt: skip
    command = ["--suite", "smoke", "--methods", "ppce", "--seeds", "1", "--set", "steps=2", "--executor", "inline", "--no-report",
               "--out", str(out), "--no-progress"]  # fmt: skip
    assert main(command) == 1
    lines = capsys.readouterr().out.splitlines()
    assert "1 of the skipped runs failed in an earlier sweep: run them again with --retry-failed" in lines
    assert f"  failed before: ppce s0 [{spec.run_id(GENERATOR_VERSION)}]: RuntimeError: out of memory" in lines
    assert main([*command, "--retry-failed"]) == 0
    (record,), _ = load_records(out)
    assert record["status"] == "ok"


@pytest.mark.parametrize(
    "fields, needle",
    [
        ({"status": "ok"}, "the record of a finished run without metrics"),
        ({"status": "ok", "metrics": {"miou": "high", "trimap": {}}}, "metric 'miou' is 'high', not a number"),
        ({"status": "ok", "metrics": {"miou": 0.5, "trimap": {"widths": [1, "x"]}}}, "metric 'trimap.widths' is 'x', not a number"),
    ],
)
def test_an_unusable_record_names_its_file_and_the_fix(capsys, tmp_path, fields, needle):
    command, path = _smoke_run_record(tmp_path / "runs", **fields)
    before = path.read_bytes()
    code = main(command)
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith(f"error: {path}: {needle}") and err.endswith("re-run with --force to replace it"), err
    assert "\n" not in err and "Traceback" not in err and path.read_bytes() == before


# ---------------------------------------------------------------------------- report, perf, notebooks


@pytest.mark.parametrize("command", ["report", "perf"])
@pytest.mark.parametrize("out", [_file, lambda t: ""], ids=["a file", "empty"])
def test_report_and_perf_refuse_an_out_that_is_no_folder_before_any_work(capsys, tmp_path, command, out):
    records = tmp_path / "records"
    write_fake_suite(records)
    out = out(tmp_path)
    entry = {"report": lambda: report.main(["--records", str(records), "--out", out]),
             "perf": lambda: perf.main(["--quick", "--only", "limits", "--out", out, "--no-progress"])}[command]  # fmt: skip
    code = entry()
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("error: --out ") and "\n" not in err and "Traceback" not in err, err
    assert ("is a file, not a folder" in err) if out else ("--out is empty; give a folder" in err)
    assert not out or Path(out).read_text() == ""
    assert not (records / "report").exists()


def _with_unusable_record(folder: Path) -> Path:
    write_fake_suite(folder)
    (good,) = [p for p in folder.glob("ppce-*-streets-scratch-s0.json")]
    record = json.loads(good.read_text())
    record.update(run_id="hand-edited", metrics={**record["metrics"], "miou": "62.1%"})
    bad = folder / "hand-edited.json"
    bad.write_text(json.dumps(record))
    return bad


def test_the_report_and_the_notebooks_loader_leave_out_an_unusable_record_naming_it(capsys, tmp_path):
    folder = tmp_path / "runs"
    bad = _with_unusable_record(folder)
    line = f"{bad}: metric 'miou' is '62.1%', not a number; left out"
    tidy, warnings = report.load_tidy(folder)  # what every notebook reads
    assert warnings == [line] and "hand-edited" not in set(tidy["run_id"]) and len(tidy) == len(list(folder.glob("*.json"))) - 1
    assert report.main(["--records", str(folder), "--out", str(tmp_path / "report"), "--suite", "table1"]) == 0
    assert capsys.readouterr().err.strip() == f"warning: {line}"
    assert (tmp_path / "report" / "table1.md").exists()


def _notebook_code(name: str) -> str:
    book = json.loads((ROOT / "notebooks" / f"{name}.ipynb").read_text())
    cells = ["".join(c["source"]) for c in book["cells"] if c["cell_type"] == "code"]
    return "\n".join(line for cell in cells for line in cell.splitlines() if not line.startswith("%"))  # IPython magics


@pytest.mark.parametrize("name", ["table1", "table2"])
def test_a_table_notebook_on_records_without_its_runs_shows_an_empty_table(tmp_path, monkeypatch, name):
    import matplotlib

    matplotlib.use("Agg")
    folder = tmp_path / "runs"
    write_record(folder, fake_record("dice", lambdas=(1,)))  # a run of neither table
    monkeypatch.setenv("SEMEDA_RECORDS", str(folder))
    scope = {}
    exec(compile(_notebook_code(name), f"{name}.ipynb", "exec"), scope)
    assert scope[name].empty and "ours_mean" in scope[name].columns


# ---------------------------------------------------------------------------- interruptions


@pytest.mark.parametrize("after", [0, 1])
def test_an_interrupted_inline_suite_exits_130_saying_what_it_recorded(capsys, tmp_path, monkeypatch, after):
    import benchmark.train

    real, calls = benchmark.train.train, []

    def train(*args, **kwargs):
        calls.append(1)
        if len(calls) > after:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(benchmark.train, "train", train)
    out = tmp_path / "runs"
    code = main(["--suite", "smoke", "--methods", "ppce", "--seeds", "2", "--executor", "inline", "--scale", "smoke",
                 "--set", "steps=2", "--out", str(out), "--no-progress"])  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert code == 130 and "\n" not in err and "Traceback" not in err, err
    assert err == (f"interrupted: {after} of the 2 runs to do recorded (0 recorded before) in {out}; run the same command again "
                   f"to run the other {2 - after}, those in flight from their last checkpoint")  # fmt: skip
    assert len(load_records(out)[0]) == after and not (out / "report").exists()


@pytest.mark.timeout(420)
def test_an_interrupted_ray_suite_exits_130_saying_what_it_recorded(tmp_path):
    out = tmp_path / "runs"
    env = {**os.environ, "SEMEDA_DATA": str(tmp_path / "data"), "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
    # Two trials at once: one of 2 steps, recorded within seconds, and one of 3,000, in flight
    # when Ctrl-C comes (half a CPU each, so that both run on any machine).
    suite = tmp_path / "suite.toml"
    suite.write_text('[short_and_long]\nscale = "smoke"\nseeds = 1\ndatasets = ["streets"]\n'
                     'rows = [{ method = "ppce", overrides = { steps = 2 } }, { method = "ppce", overrides = { steps = 3000 } }]\n')
    cmd = [sys.executable, "-m", "benchmark.run", "--import", str(suite), "--suite", "short_and_long", "--max-concurrent", "2",
           "--cpus-per-trial", "0.5", "--out", str(out), "--no-progress"]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.time() + 300
        while not list(out.glob("*.json")) and proc.poll() is None and time.time() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)  # Ctrl-C, to the driver
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # the driver and the Ray it started
            proc.communicate()
    last = stderr.strip().splitlines()[-1] if stderr.strip() else ""
    assert proc.returncode == 130, (stdout[-2000:], stderr[-2000:])
    assert re.fullmatch(rf"interrupted: 1 of the 2 runs to do recorded \(0 recorded before\) in {re.escape(str(out))}; run the "
                        r"same command again to run the other 1, those in flight from their last checkpoint", last), stderr
    assert "Traceback" not in stdout + stderr and "no readable run record" not in stderr
    (record,), _ = load_records(out)
    assert record["spec"]["settings"]["steps"] == 2 and not (out / "report").exists()
