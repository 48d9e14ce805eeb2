"""A loss of one's own, benchmarked without editing the package.

``--import`` of a file from a folder outside the repository (a leaderboard through Ray,
then its report), the same loss as an installed distribution with entry points (no
``--import``), a two-node Ray cluster whose worker node gets the file from Ray alone, the
loss's code in the run's identity, the report of records whose method it cannot import,
suites as data, and ``check_method``'s rules on losses written to break them.

Everything Ray starts here listens on 127.0.0.1 only, and every test stops exactly what it
started. The loss is ``examples/soft_iou.py``, copied where a user would keep it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
import pytest
import torch
import torch.nn.functional as F

import methods
from benchmark import perf
from benchmark.records import load_records
from benchmark.report import leaderboard_table, tidy_records
from benchmark.report import main as report_main
from benchmark.report.tidy import missing_methods
from benchmark.run import main as run_main
from benchmark.spec import RunSpec, scale_settings
from benchmark.suites import load_suite_file, suite_from_dict
from methods import StructureLoss
from methods.testing import check_method

pytestmark = pytest.mark.timeout(600)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "soft_iou.py"
LOCAL_RAY_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
VOID = 255


def _run(cmd: list[str], cwd: Path, **env) -> subprocess.CompletedProcess:
    done = subprocess.run(cmd, cwd=cwd, env={**os.environ, **LOCAL_RAY_ENV, **env}, capture_output=True, text=True, timeout=540)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def _user_folder(tmp_path: Path) -> Path:
    """A folder outside the repository holding the user's loss as ``my_loss.py``."""
    folder = tmp_path / "project"
    folder.mkdir()
    shutil.copy(EXAMPLE, folder / "my_loss.py")
    assert ROOT not in folder.resolve().parents
    return folder


# ---------------------------------------------------------------------------- --import, through Ray


def test_a_loss_in_a_file_of_ones_own_runs_the_leaderboard_and_gets_its_row(tmp_path):
    folder = _user_folder(tmp_path)
    _run([sys.executable, "-m", "benchmark.run", "--import", "./my_loss.py", "--suite", "leaderboard", "--scale", "smoke",
          "--methods", "softiou", "--datasets", "streets", "--grid", "1/3,1,3", "--seeds", "1", "--max-concurrent", "2",
          "--out", "runs", "--no-progress", "--no-report"], folder)  # fmt: skip
    records, problems = load_records(folder / "runs")
    assert not problems and all(r["status"] == "ok" for r in records)
    mine = [r for r in records if r["spec"]["method"] == "softiou"]
    # 3 trials to step 3, the best third (1) to 6 and 12, then the seed run at the selected weight (seed 1: never the search's 0);
    # the rest: PPCE's learning-rate search and its seed runs
    assert sorted(r["step"] for r in mine) == [3, 3, 3, 6, 12, 12]
    assert {r["spec"]["seed"] for r in records if "split" not in r["spec"]} == {1}
    assert {r["spec"]["method"] for r in records} == {"softiou", "ppce"}
    origin = mine[0]["spec"]["origin"]
    assert origin == {"module": "my_loss", "file": str((folder / "my_loss.py").resolve()), "sha256": _sha(folder / "my_loss.py"),
                      "default_lambdas": [1.0]}  # fmt: skip

    _run([sys.executable, "-m", "benchmark.report", "--import", "./my_loss.py", "--records", "runs", "--out", "report",
          "--suite", "leaderboard"], folder)  # fmt: skip
    board = (folder / "report" / "leaderboard.md").read_text()
    row = next(line for line in board.splitlines() if line.startswith("| softiou("))
    assert "| softiou |" in row and "| ppce | ppce |" in board
    tidy = pd.read_csv(folder / "report" / "tidy.csv")
    assert sorted(tidy.loc[tidy["method"] == "softiou", "step"]) == [3, 3, 3, 6, 12, 12]
    assert set(tidy.loc[tidy["method"] == "softiou", "code"]) == {_sha(folder / "my_loss.py")}


def test_an_import_that_fails_is_one_line_and_exit_2(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "raises.py").write_text("raise RuntimeError('boom')\n")
    cases = [
        (run_main, ["--import", "nothing.py", "--method", "ppce"], "error: cannot import nothing.py: no such file"),
        (report_main, ["--import=nothing.py"], "error: cannot import nothing.py: no such file"),
        (perf.main, ["--import", "no_such_module_here"], "error: cannot import no_such_module_here: no module named 'no_such_module_here'"),
        (run_main, ["--import", "raises.py"], "error: cannot import raises.py: RuntimeError: boom"),
        (run_main, ["--import", "suites.toml"], "error: cannot import suites.toml: no such file"),
    ]  # fmt: skip
    for main, argv, message in cases:
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith(message) and err.count("\n") == 1 and "Traceback" not in err, err
    assert "raises" not in sys.modules


# ---------------------------------------------------------------------------- entry points


def _installed(site: Path) -> Path:
    """``my_loss_pkg`` as pip would leave it in ``site``: the package, and a ``.dist-info``
    declaring its method and a suite as entry points."""
    package = site / "my_loss_pkg"
    package.mkdir(parents=True)
    shutil.copy(EXAMPLE, package / "__init__.py")
    (package / "suites.py").write_text(
        "from benchmark.suites import Row, Suite\n\n"
        'SUITE = Suite("softiou_installed", (Row.of("ppce"), Row.of("softiou", lambdas=(3,))), seeds=1, scale="smoke")\n'
    )
    info = site / "my_loss_pkg-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: my-loss-pkg\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[semeda_bench.methods]\nsoftiou = my_loss_pkg:SoftIoU\n\n[semeda_bench.suites]\nsoftiou_installed = my_loss_pkg.suites:SUITE\n"
    )
    return package


def test_an_installed_loss_with_entry_points_runs_without_import(tmp_path):
    package = _installed(tmp_path / "site")
    work = tmp_path / "work"
    work.mkdir()
    path = os.pathsep.join(p for p in (str(tmp_path / "site"), os.environ.get("PYTHONPATH")) if p)
    _run([sys.executable, "-m", "benchmark.run", "--suite", "softiou_installed", "--set", "steps=2", "--max-concurrent", "2",
          "--out", "runs", "--no-progress", "--no-report"], work, PYTHONPATH=path)  # fmt: skip
    records = {r["spec"]["method"]: r for r in load_records(work / "runs")[0]}
    assert sorted(records) == ["ppce", "softiou"] and all(r["status"] == "ok" for r in records.values())
    assert records["softiou"]["spec"]["params"] == {"lambdas": [3.0], "eps": 1.0}
    # a package's code is every .py file of it, by relative path and content
    h = hashlib.sha256()
    for file in sorted(package.rglob("*.py")):
        h.update(file.relative_to(package).as_posix().encode() + b"\0" + file.read_bytes() + b"\0")
    assert records["softiou"]["spec"]["origin"] == {"module": "my_loss_pkg", "file": str((package / "__init__.py").resolve()),
                                                    "sha256": h.hexdigest()[:16], "distribution": "my-loss-pkg", "version": "0.1",
                                                    "default_lambdas": [1.0]}  # fmt: skip
    assert "origin" not in records["ppce"]["spec"]


# ---------------------------------------------------------------------------- a two-node cluster


#: A two-node cluster on 127.0.0.1 (Ray's own test cluster; ``ray start`` of a second node on
#: one machine resolves 127.0.0.1 to the machine's outward address): a head without CPU, so
#: that trials run on the worker node alone, whose processes start in another folder. It prints
#: its address and the worker node's runtime-env folder, and stops both nodes when its stdin closes.
CLUSTER = """
import os, sys
from ray.cluster_utils import Cluster
head_tmp, worker_tmp, elsewhere = sys.argv[1:4]
node = dict(node_ip_address="127.0.0.1", object_store_memory=80 * 1024**2)
cluster = Cluster(initialize_head=True, head_node_args=dict(num_cpus=0, include_dashboard=False, temp_dir=head_tmp, **node))
try:
    home = os.getcwd()
    os.chdir(elsewhere)
    worker = cluster.add_node(num_cpus=1, temp_dir=worker_tmp, **node)
    os.chdir(home)
    print(cluster.address, worker.get_runtime_env_dir_path(), flush=True)
    sys.stdin.read()
finally:
    cluster.shutdown()
"""


def test_the_imported_loss_runs_on_a_worker_node_that_only_ray_gave_it(tmp_path):
    # The loss lies in a sub-folder of the driver's, on no sys.path of any process.
    driver = tmp_path / "driver"
    (driver / "plugins").mkdir(parents=True)
    shutil.copy(EXAMPLE, driver / "plugins" / "my_loss.py")
    (driver / "plugins" / "suites.toml").write_text(
        '[softiou_cluster]\nscale = "smoke"\nseeds = 1\ndatasets = ["streets"]\nrows = [{ method = "softiou", lambdas = [0.5] }]\n'
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # Short session folders: Ray's unix sockets live there and paths are capped at 107 bytes.
    head_tmp, worker_tmp = tempfile.mkdtemp(prefix="rayh", dir="/tmp"), tempfile.mkdtemp(prefix="rayw", dir="/tmp")
    env = {**os.environ, **LOCAL_RAY_ENV, "RAY_AUTH_MODE": "disabled"}  # the driver's mode too (it starts no Ray of its own)
    cluster = subprocess.Popen([sys.executable, "-c", CLUSTER, head_tmp, worker_tmp, str(elsewhere)], cwd=tmp_path, env=env,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, start_new_session=True)  # fmt: skip
    try:
        address, runtime_envs = cluster.stdout.readline().split()
        _run([sys.executable, "-m", "benchmark.run", "--import", "plugins/my_loss.py", "--import", "plugins/suites.toml",
              "--suite", "softiou_cluster", "--set", "steps=2", "--out", "runs", "--no-progress", "--no-report",
              "--address", address], driver, RAY_AUTH_MODE="disabled")  # fmt: skip
        (record,) = load_records(driver / "runs")[0]
        assert record["status"] == "ok" and record["spec"]["params"] == {"lambdas": [0.5], "eps": 1.0}
        assert record["spec"]["origin"]["sha256"] == _sha(driver / "plugins" / "my_loss.py")
        # The worker node imported the copy Ray shipped into its own session folder.
        shipped = list(Path(runtime_envs).glob("py_modules_files/*/my_loss.py"))
        assert len(shipped) == 1 and shipped[0].read_bytes() == (driver / "plugins" / "my_loss.py").read_bytes()
        assert Path(worker_tmp) in shipped[0].parents
    finally:
        cluster.stdin.close()  # the helper stops both nodes
        try:
            cluster.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(cluster.pid, signal.SIGKILL)
            cluster.wait()
        shutil.rmtree(head_tmp, ignore_errors=True)
        shutil.rmtree(worker_tmp, ignore_errors=True)


# ---------------------------------------------------------------------------- the code in the run's identity

CHANGED = ("    union = (probs + onehot - probs * onehot).sum((0, 2, 3))\n", "    union = (probs + onehot).sum((0, 2, 3)) - intersection\n")


def test_changing_one_line_of_the_loss_gives_new_run_ids_and_supersedes_the_old_records(tmp_path):
    folder = _user_folder(tmp_path)
    single = [sys.executable, "-m", "benchmark.run", "--import", "./my_loss.py", "--method", "softiou", "--scale", "smoke",
              "--set", "steps=2", "--out", "runs", "--no-progress"]  # fmt: skip
    _run(single, folder)
    old_sha = _sha(folder / "my_loss.py")
    text = (folder / "my_loss.py").read_text()
    assert text.count(CHANGED[0]) == 1
    (folder / "my_loss.py").write_text(text.replace(*CHANGED))  # the same numbers, other code
    again = _run(single, folder)
    assert "record exists" not in again.stdout
    records = {r["spec"]["origin"]["sha256"]: r for r in load_records(folder / "runs")[0]}
    assert set(records) == {old_sha, _sha(folder / "my_loss.py")}  # the old record stays beside the new one
    old, new = records[old_sha], records[_sha(folder / "my_loss.py")]
    assert old["run_id"] != new["run_id"] and old["spec"]["params"] == new["spec"]["params"]

    _run([sys.executable, "-m", "benchmark.report", "--import", "./my_loss.py", "--records", "runs", "--out", "report",
          "--suite", "trimap"], folder)  # fmt: skip
    tidy = pd.read_csv(folder / "report" / "tidy.csv").set_index("run_id")
    assert dict(tidy["superseded"]) == {old["run_id"]: True, new["run_id"]: False}
    # the tables read the new record alone: one seed per cell, its values
    table = pd.read_csv(folder / "report" / "trimap.csv")
    assert set(table["n"]) == {1} and set(table["label"]) == {"softiou(1) eps=1"}
    band = table[(table["region"] == "boundary") & (table["width"] == 1)]["mean"].item()
    assert band == pytest.approx(100 * new["metrics"]["trimap"]["boundary_miou"][0], abs=1e-3)


def test_the_package_methods_keep_their_run_ids():
    # Values computed before origins entered the spec: every committed record's id stays valid.
    spec = RunSpec.create("semeda", params={"lambdas": (0, 1, 0)}, scale="smoke")
    assert spec.origin is None and "origin" not in spec.to_dict()
    assert spec.run_id("streets-1") == "semeda-streets-s0-4f2dc312d52b"
    assert RunSpec.create("ppce", scale="small").run_id("streets-2") == "ppce-streets-s0-949d694462f8"
    records = [r for r in load_records(ROOT / "results" / "runs")[0] if not r["spec"].get("weights")]
    same = [r for r in records if (r.get("versions") or {}).get("benchmark") == "0.3.0"][:40]
    for record in same:
        assert RunSpec.from_dict(record["spec"]).run_id(record["data_version"]) == record["run_id"]


def test_the_run_id_sees_the_code_but_not_where_it_lies():
    spec = RunSpec.create("ppce", scale="smoke")
    origin = {"module": "my_loss", "file": "/a/my_loss.py", "sha256": "0123456789abcdef", "default_lambdas": [1.0]}
    mine = RunSpec(**{**spec.__dict__, "origin": origin})
    moved = RunSpec(**{**spec.__dict__, "origin": {**origin, "file": "/b/my_loss.py", "module": "other"}})
    edited = RunSpec(**{**spec.__dict__, "origin": {**origin, "sha256": "fedcba9876543210"}})
    released = RunSpec(**{**spec.__dict__, "origin": {**origin, "distribution": "my-loss", "version": "0.2"}})
    assert mine.run_id("v") == moved.run_id("v")
    assert len({spec.run_id("v"), mine.run_id("v"), edited.run_id("v"), released.run_id("v")}) == 4
    assert RunSpec.from_dict(mine.to_dict()) == mine and mine.to_dict()["origin"] == origin
    # a spec whose code is not the code registered here (ppce ships with the package) says so
    with pytest.raises(ValueError, match="is not the code the run was made with"):
        mine.check_code()
    spec.check_code()


# ---------------------------------------------------------------------------- the report without the code

GHOST = {"module": "ghost_loss", "file": "/elsewhere/ghost_loss.py", "sha256": "0123456789abcdef", "default_lambdas": [0.5]}


def _record(method, lambdas, seed, miou, *, step=12, split="val"):
    spec = {"method": method, "params": {"lambdas": lambdas} if lambdas else {}, "dataset": "streets", "backbone": "deeplabv2_small",
            "scale": "smoke", "seed": seed, "init": "scratch", "weights": None,
            "settings": json.loads(json.dumps(scale_settings("smoke").__dict__))}  # fmt: skip
    if split != "val":
        spec.update(split=split, stop_at=step if step != 12 else None)
    if method == "ghost":
        spec["origin"] = GHOST
    label = f"ghost({lambdas[0]:g}) as its class wrote it" if method == "ghost" else method
    return {"run_id": f"{method}-{split}-{step}-{seed}-{lambdas}", "spec": spec, "status": "ok", "step": step,
            "metrics": {"miou": miou}, "label": label}  # fmt: skip


def test_the_report_keeps_a_method_it_cannot_import_and_says_which_import_is_missing():
    records = [_record("ghost", [m * 0.5], 0, score, step=3, split="tune") for m, score in ((1 / 3, 0.30), (1, 0.20), (3, 0.25))]
    records += [_record("ghost", [0.5 / 3], 0, 0.40, step=6, split="tune"), _record("ghost", [0.5 / 3], 0, 0.50, split="tune")]
    for seed, (ppce, ghost) in enumerate([(0.20, 0.22), (0.30, 0.34)], start=1):  # the reported seeds: never the search's 0
        records += [_record("ppce", None, seed, ppce), _record("ghost", [0.5 / 3], seed, ghost)]
    assert "ghost" not in methods.list_methods()
    tidy = tidy_records(records)
    trials = tidy[tidy["split"] == "tune"]
    assert sorted(trials["multiplier"].round(6)) == [0.333333, 0.333333, 0.333333, 1.0, 3.0]  # from the stored default lambdas
    assert set(tidy.loc[tidy["method"] == "ghost", "label"]) == {"ghost(0.5) as its class wrote it", "ghost(0.166667) as its class wrote it",
                                                                 "ghost(1.5) as its class wrote it"}  # fmt: skip
    from benchmark.search_definition import SearchDefinition

    searched = SearchDefinition(dataset="streets", backbone="deeplabv2_small", scale="smoke", init="scratch",
                                settings=records[0]["spec"]["settings"], grid=(1 / 3, 1.0, 3.0), rungs=(3, 6, 12), methods=("ghost",))  # fmt: skip
    board = leaderboard_table(tidy, [searched]).set_index("method")
    assert board.loc["ghost", "multiplier"] == "1/3 (grid edge)" and board.loc["ghost", "label"] == "ghost(0.166667) as its class wrote it"
    assert board.loc["ghost", "ours_mean"] == pytest.approx(28.0) and board.loc["ghost", "diff_mean"] == pytest.approx(3.0)
    (line,) = missing_methods(records)
    assert line.startswith("method 'ghost' of 7 records is not registered here (module ghost_loss, file /elsewhere/ghost_loss.py)")
    assert line.endswith("pass --import /elsewhere/ghost_loss.py to describe them from its code")


# ---------------------------------------------------------------------------- suites as data


def test_a_suite_as_data_holds_its_rows_seeds_and_datasets():
    suite = suite_from_dict("softiou_weights", {
        "seeds": 5, "datasets": ["streets"], "description": "soft IoU at three weights beside PPCE",
        "rows": [{"method": "ppce"}, *({"method": "softiou", "lambdas": [w]} for w in (0.3, 1, 3)),
                 {"method": "ppce", "overrides": {"grad_clip": 10}}],
    })  # fmt: skip
    assert suite.seeds == 5 and suite.datasets == {"embedded": ("streets",), "paper": ("streets",)}
    assert suite.inits == {"embedded": ("scratch",), "paper": ("imagenet",)} and suite.scale == "small" and not suite.tuned
    assert [(r.method, r.params_dict(), r.overrides_dict()) for r in suite.rows] == [
        ("ppce", {}, {}), ("softiou", {"lambdas": (0.3,)}, {}), ("softiou", {"lambdas": (1,)}, {}), ("softiou", {"lambdas": (3,)}, {}),
        ("ppce", {}, {"grad_clip": 10})]  # fmt: skip
    with pytest.raises(ValueError, match="suite 'x': unknown key 'seed'; valid keys: rows, datasets"):
        suite_from_dict("x", {"seed": 5, "rows": [{"method": "ppce"}]})
    with pytest.raises(ValueError, match="suite 'x' has no rows"):
        suite_from_dict("x", {"seeds": 5})


def test_a_malformed_suite_file_is_a_user_error(tmp_path):
    (tmp_path / "bad.toml").write_text("[x\nrows = 1\n")
    with pytest.raises(ValueError, match=r"cannot import .*bad.toml: not valid TOML"):
        load_suite_file(str(tmp_path / "bad.toml"))
    (tmp_path / "norows.toml").write_text('[x]\nseeds = 2\n')
    with pytest.raises(ValueError, match=r"cannot import .*norows.toml: suite 'x' has no rows"):
        load_suite_file(str(tmp_path / "norows.toml"))


# ---------------------------------------------------------------------------- the example, by hand


@pytest.fixture
def soft_iou(monkeypatch):
    """``examples/soft_iou.py`` loaded without registering it (the session's registry stays the package's)."""
    monkeypatch.setattr(methods, "register_method", lambda cls: cls)
    spec = importlib.util.spec_from_file_location("soft_iou_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_soft_iou_example_by_hand_and_its_contract(soft_iou):
    # Two pixels, two classes: p = (0.8, 0.2) on a class-0 pixel, (0.4, 0.6) on a class-1 pixel.
    # Class 0: I = 0.8, U = (0.8 + 1 - 0.8) + 0.4 = 1.4; class 1: I = 0.6, U = 0.2 + (0.6 + 1 - 0.6) = 1.2.
    logits = torch.tensor([[[[0.8, 0.4]], [[0.2, 0.6]]]]).log()
    target = torch.tensor([[[0, 1]]])
    terms = soft_iou.SoftIoU(lambdas=2)(logits, target)
    expected = 1 - ((0.8 + 1) / (1.4 + 1) + (0.6 + 1) / (1.2 + 1)) / 2
    ppce = -(math.log(0.8) + math.log(0.6)) / 2
    assert terms["softiou"].item() == pytest.approx(expected)
    assert terms["ppce"].item() == pytest.approx(ppce)
    assert terms["total"].item() == pytest.approx(ppce + 2 * expected)
    # a void pixel adds nothing: the class-1 pixel voided leaves class 0 alone, class 1 a perfect 1/1
    voided = soft_iou.SoftIoU()(logits, torch.tensor([[[0, VOID]]]))["softiou"].item()
    assert voided == pytest.approx(1 - ((0.8 + 1) / (1.0 + 1) + (0 + 1) / (0.2 + 1)) / 2)
    check_method(soft_iou.SoftIoU)


# ---------------------------------------------------------------------------- check_method, rule by rule


def _ppce(logits, target):
    return F.cross_entropy(logits, target, ignore_index=VOID, reduction="sum") / (target != VOID).sum().clamp_min(1)


class Plain(StructureLoss):
    """A loss that keeps every rule: the base of the broken ones below (twice PPCE, so that it
    is not PPCE under another name)."""

    name = "plain"
    minima = {"ppce": 0.0}

    def forward(self, logits, target, *, edges=None, edge_logits=None):
        ppce = _ppce(logits, target)
        return {"ppce": ppce, "total": 2 * ppce}


class NanTerm(Plain):
    def forward(self, logits, target, *, edges=None, edge_logits=None):
        ppce = _ppce(logits, target)
        return {"ppce": ppce, "ratio": ppce / torch.zeros(()) * 0, "total": ppce}


class Detached(Plain):
    def forward(self, logits, target, *, edges=None, edge_logits=None):
        ppce = _ppce(logits, target)
        return {"ppce": ppce, "total": ppce.detach()}


class ThawsTheEdgeNet(Plain):
    needs_edge_net = True

    def forward(self, logits, target, *, edges=None, edge_logits=None):
        self.edge_net.requires_grad_(True)
        ppce = _ppce(logits, target)
        return {"ppce": ppce, "total": ppce + 0.0 * sum(p.sum() for p in self.edge_net.parameters())}


class MapsItCannotTake(Plain):
    def target_maps(self, target, num_classes):
        return (target != VOID).float()


class MapsItReadsDifferently(MapsItCannotTake):
    """Given its maps, weighs the pixels by them; computing them itself, it forgets to."""

    def forward(self, logits, target, *, edges=None, edge_logits=None, target_maps=None):
        ppce = _ppce(logits, target)
        weight = 1.0 if target_maps is None else target_maps.mean() * 0.5
        return {"ppce": ppce, "total": 2 * ppce * weight}


class MeanOverEveryPixel(Plain):
    def forward(self, logits, target, *, edges=None, edge_logits=None):
        ppce = _ppce(logits, target)
        spread = logits.softmax(1).amax(1).mean()
        return {"ppce": ppce, "spread": spread, "total": ppce + spread}


class ReadsVoidPixels(Plain):
    def forward(self, logits, target, *, edges=None, edge_logits=None):
        ppce = _ppce(logits, target)
        spread = logits.softmax(1).amax(1).mean() * (target != VOID).any()
        return {"ppce": ppce, "spread": spread, "total": ppce + spread}


class ForgetsAParameter(Plain):
    def __init__(self, *, tau: float = 1.0, ignore_index: int = 255):
        super().__init__(ignore_index=ignore_index)
        self.tau = tau


class WrongMinimum(Plain):
    minima = {"ppce": 1.0}


class PpceRenamed(Plain):
    """PPCE itself, under another name: a table would show it as a second row."""

    def forward(self, logits, target, *, edges=None, edge_logits=None):
        ppce = _ppce(logits, target)
        return {"ppce": ppce, "total": ppce}


class ClaimsToBeDice(Plain):
    @classmethod
    def same_as(cls, params):
        return "dice", {}


@pytest.mark.parametrize("cls, rule", [
    (NanTerm, "terms"), (Detached, "gradient to the logits"), (ThawsTheEdgeNet, "frozen edge net"),
    (MapsItCannotTake, "target maps"), (MapsItReadsDifferently, "target maps"),
    (MeanOverEveryPixel, "all-void target"), (ReadsVoidPixels, "void pixels"), (ForgetsAParameter, "parameters round-trip"),
    (WrongMinimum, "perfect prediction"), (PpceRenamed, "one loss, one name"), (ClaimsToBeDice, "one loss, one name"),
])  # fmt: skip
def test_check_method_names_the_rule_a_loss_breaks(cls, rule):
    check_method(Plain)  # the base keeps every rule: each failure below is its subclass's own
    with pytest.raises(AssertionError, match=f"method 'plain' breaks rule '{rule}'"):
        check_method(cls)
