"""The command line a researcher meets: the console of a suite, and bad input ending in one line.

The one end-to-end suite here starts its own Ray on 127.0.0.1 in a subprocess (its own
session, stopped by the suite itself, or killed with its process group on a timeout).
"""

import os
import re
import signal
import subprocess
import sys

import pytest

from benchmark.cli import parse_value
from benchmark.records import load_records, write_record
from benchmark.run import main
from benchmark.spec import check_setting_values
from benchmark.suites import expand
from benchmark.sweep import SuiteConsole, estimate_costs, order_longest_first, run_name


@pytest.mark.parametrize(
    "text, value",
    [
        ("2", 2),
        ("0.5", 0.5),
        ("1e-3", 0.001),
        ("[0,1,0]", (0, 1, 0)),
        ("true", True),
        ("True", True),
        ("false", False),
        ("null", None),
        ("none", None),
        ("None", None),
        ("mean", "mean"),
        ("fp32", "fp32"),
        ("64,64", (64, 64)),
        ("0.8,0.95", (0.8, 0.95)),
        ("1.", 1.0),
        ('"2"', "2"),
    ],
)
def test_a_command_line_value_is_json_where_it_parses_else_as_before(text, value):
    assert parse_value(text) == value and type(parse_value(text)) is type(value)


def test_setting_values_are_checked_against_their_types():
    checked = check_setting_values({"steps": 5, "lr": 1, "crop": [64, 64], "trimap_widths": 3, "grad_clip": None, "edge_net_peak": (0.8, 0.95)})
    assert checked == {"steps": 5, "lr": 1, "crop": (64, 64), "trimap_widths": (3,), "grad_clip": None, "edge_net_peak": (0.8, 0.95)}
    for key, value, needle in [
        ("steps", "abc", "setting steps must be an integer, got 'abc'"),
        ("steps", True, "must be an integer"),
        ("lr", "fast", "setting lr must be a number"),
        ("mirror", 1, "must be true or false"),
        ("crop", (64,), "must be 2 integers (e.g. 64,64) or none"),
        ("grad_clip", "x", "must be a number or none"),
        ("trimap_widths", (1, "a"), "must be numbers separated by commas"),
        ("edge_net_peak", "high", "must be a number in (0, 1), a range low,high or literal"),
    ]:
        with pytest.raises(ValueError, match=re.escape(needle)):
            check_setting_values({key: value})


@pytest.fixture
def nothing_runs(monkeypatch, tmp_path):
    """Fails the test if a bad command line gets as far as data, training or Ray."""
    import benchmark.prepare
    import benchmark.sweep
    import benchmark.train

    monkeypatch.setenv("SEMEDA_DATA", str(tmp_path / "data"))

    def refuse(*args, **kwargs):
        raise AssertionError("a bad command line reached preparation, training or the sweep")

    for module, name in [(benchmark.prepare, "prepare"), (benchmark.train, "train"), (benchmark.sweep, "run_specs")]:
        monkeypatch.setattr(module, name, refuse)


def _unwritable(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    return str(blocker / "runs")


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--set", "steps=abc"], "error: setting steps must be an integer, got 'abc'"),
        (["--suite", "smoke", "--set", "steps=abc"], "error: setting steps must be an integer, got 'abc'"),
        (["--out", "/proc/forbidden"], "error: --out /proc/forbidden: cannot write there"),
        (["--suite", "smoke", "--out", "/proc/forbidden"], "error: --out /proc/forbidden: cannot write there"),
        (["--out", _unwritable], "cannot write there (Not a directory)"),
        (["--scale", "nosuchscale"], "error: argument --scale: invalid choice: 'nosuchscale'"),
        (["--method", "semeda", "--lambdas", "-1,0,0"], "lambdas must be finite and >= 0, got '-1'"),
        (["--param", "nosuch=1"], "error: method 'ppce' takes no parameter 'nosuch'; valid parameters:"),
        (["--param", "nosuch"], "error: --param takes KEY=VALUE"),
        (["--method", "ppce", "--relu"], "method 'ppce' takes no parameter 'relu'"),
        (["--suite", "smoke", "--param", "gamma=2"], "--param applies to single runs"),
        (["--seed", "x"], "error: argument --seed: invalid int value: 'x'"),
    ],
)
def test_bad_input_is_one_line_exit_2_no_record_nothing_run(capsys, tmp_path, nothing_runs, args, needle):
    args = [a(tmp_path) if callable(a) else a for a in args]
    out = tmp_path / "runs"
    if "--out" not in args:
        args += ["--out", str(out)]
    code = main([*args, "--scale", "smoke", "--no-progress"] if "--scale" not in args else [*args, "--no-progress"])
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert code == 2
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err and "usage:" not in err, err
    assert needle in err, err
    assert not out.exists() or not list(out.glob("*.json"))


def test_an_unwritable_folder_is_refused_before_any_work(capsys, tmp_path, nothing_runs):
    if os.geteuid() == 0:
        pytest.skip("permissions do not bind root")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    code = main(["--scale", "smoke", "--out", str(locked), "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith(f"error: --out {locked}: cannot write there") and "\n" not in err


def test_lambdas_and_relu_are_shorthands_for_params(tmp_path, monkeypatch):
    from benchmark.run import build_parser, spec_from_args

    monkeypatch.setenv("SEMEDA_DATA", str(tmp_path))
    short = spec_from_args(build_parser().parse_args(["--method", "semeda", "--lambdas", "0,1,0", "--relu", "--scale", "smoke"]))
    long = spec_from_args(build_parser().parse_args(["--method", "semeda", "--param", "lambdas=[0,1,0]", "--param", "relu=true",
                                                     "--scale", "smoke"]))  # fmt: skip
    assert short == long and short.method_params()["relu"] is True and short.method_params()["lambdas"] == (0, 1, 0)


def _record(run_id, spec, *, miou=0.5, status="ok", wall=10.0, reason=None, ppce=(1.0, 0.5, 0.2)):
    steps = spec.settings.steps
    return {
        "run_id": run_id, "spec": spec.to_dict(), "label": spec.label(), "status": status, "reason": reason,
        "metrics": {"miou": miou, "trimap": {"widths": [1, 2, 3], "boundary_miou": [0.25, 0.3, 0.35]}} if status == "ok" else {},
        "timing": {"wall_s": wall}, "loss_curve": {"step": [steps // 3, 2 * steps // 3, steps], "ppce": list(ppce)},
    }  # fmt: skip


def test_suite_console_lines_progress_and_eta():
    specs = expand("smoke", scale="smoke")  # ppce, ubernet(1), ppce_edges(1), semeda(0,1,0)
    names = {f"r{i}": (run_name(s), c) for i, (s, c) in enumerate(zip(specs, [1.0, 1.0, 2.0, 2.0]))}
    now = [1000.0]
    console = SuiteConsole(names, workers=2, started=990.0, every_s=3600, clock=lambda: now[0])
    lines = []
    console._print = lines.append
    console.tick()  # the first progress line comes after every_s
    assert not lines and console.progress_line() == "progress: 0 done, 0 running, 0 failed, 4 to do; 10 s elapsed"
    console.started_run("r2")
    console.started_run("r3")
    now[0] = 1020.0
    assert console.finished_run(_record("r2", specs[2])) == "ok"
    line = lines.pop()
    assert line.startswith("[1/4] ppce_edges(1) s0") and "mIoU  50.0" in line and "boundary w1  25.0" in line
    assert line.endswith("10.0 s  ok")
    # Measured: 20 s for cost 2, so 10 s per unit. Left: r3 (cost 2, running for 20 s: 0 s)
    # and two runs of cost 1 (10 s each), over 2 workers: 10 s.
    assert console.eta_s() == pytest.approx(10.0)
    assert console.progress_line() == "progress: 1 done, 1 running, 0 failed, 2 to do; 30 s elapsed, ETA 10 s"
    exploded = _record("r3", specs[3], ppce=(1.0, 1e3, 1e3))
    assert console.finished_run(exploded) == "diverged" and lines.pop().endswith("  diverged")
    failed = _record("r0", specs[0], status="failed", reason="Traceback ...\nValueError: batch size 10000 > 24 images")
    assert console.finished_run(failed) == "failed"
    line = lines.pop()
    assert line.startswith("[3/4] ppce s0") and "mIoU     -" in line and line.endswith("failed: ValueError: batch size 10000 > 24 images")
    now[0] += 3600
    console.tick()
    assert lines.pop().startswith("progress: 2 done, 0 running, 1 failed, 1 to do; 1 h 00 min elapsed, ETA 10 s")


def test_the_eta_leaves_out_the_seconds_runs_shared_the_cores_with_an_edge_net_fit():
    """Runs in flight while an edge net was fitted beside them took longer than their own time:
    the ETA counts each run's time less its seconds beside the fit."""
    specs = expand("smoke", scale="smoke")
    names = {f"r{i}": (run_name(s), 1.0) for i, s in enumerate(specs)}
    now = [1000.0]
    fit = (1000.0, 1040.0)
    console = SuiteConsole(names, workers=2, started=1000.0, every_s=3600, clock=lambda: now[0],
                           overlap=lambda start, end: max(0.0, min(end, fit[1]) - max(start, fit[0])))  # fmt: skip
    lines = []
    console._print = lines.append
    console.started_run("r0")
    console.started_run("r1")
    console.note("fitted the edge net of streets (F1 0.997) in 40.0 s, beside the runs")
    assert lines == []  # said from the fit's thread: printed at the console's next tick
    now[0] = 1040.0
    console.tick()
    assert lines == ["fitted the edge net of streets (F1 0.997) in 40.0 s, beside the runs"]
    now[0] = 1090.0
    console.finished_run(_record("r0", specs[0], wall=90.0))
    # r0: 90 s, 40 of them beside the fit: 50 s a run. r1 has run 90 s (0 s left); r2 and r3
    # are left: 100 s over 2 workers.
    assert console.measured == [(50.0, 1.0)] and console.eta_s() == pytest.approx(50.0)
    console.started_run("r2")
    now[0] = 1150.0
    console.finished_run(_record("r2", specs[2], wall=60.0))
    # r2 ran after the fit, in 60 s: 55 s a run; r3 left (55 s), r1 past its estimate.
    assert console.measured[-1] == (60.0, 1.0) and console.eta_s() == pytest.approx(55.0)


def test_the_eta_counts_each_runs_wall_time_in_the_suite_not_its_training():
    """One worker: a run counts from when the worker was free for it (the console's start, then
    the end of the run before), so a worker's start and the gaps between runs are in the ETA."""
    specs = expand("smoke", scale="smoke")
    names = {f"r{i}": (run_name(s), 1.0) for i, s in enumerate(specs)}
    now = [1000.0]
    console = SuiteConsole(names, workers=1, started=990.0, every_s=3600, clock=lambda: now[0])
    console._print = lambda text: None
    now[0] = 1012.0  # the worker process took 12 s to start before Tune said the run started
    console.started_run("r0")
    now[0] = 1015.0
    console.finished_run(_record("r0", specs[0], wall=2.0))  # trained 2 s, took 15 s of the suite
    now[0] = 1020.0  # 5 s of bookkeeping before the next run starts
    console.started_run("r1")
    now[0] = 1025.0
    console.finished_run(_record("r1", specs[1], wall=2.0))  # 10 s of the suite since r0 ended
    assert console.measured == [(15.0, 1.0), (10.0, 1.0)]
    # 12.5 s per run, two runs left, one worker: 25 s (training time alone would say 4 s).
    assert console.eta_s() == pytest.approx(25.0)
    # A run whose start Tune did not report counts from the end of the run before it.
    now[0] = 1030.0
    console.finished_run(_record("r2", specs[2], wall=1.0))
    assert console.measured[-1] == (5.0, 1.0)


def test_trials_start_longest_first_by_records_or_by_method(tmp_path):
    specs = expand("smoke", scale="smoke", seeds=2)
    by_method = [s.method for s in order_longest_first(specs, tmp_path)]
    # No records: the edge-net methods (cost 2) first, ties in suite order.
    assert by_method == ["ppce_edges", "ppce_edges", "semeda", "semeda", "ppce", "ppce", "ubernet", "ubernet"]
    assert [s.seed for s in order_longest_first(specs, tmp_path)][:2] == [0, 1]
    # Records of earlier runs: ubernet measured slowest; a label without records costs what
    # the measured ones of its kind did (semeda reads the edge net, as ppce_edges does: 15 s).
    for spec, wall in [(specs[0], 10.0), (specs[2], 50.0), (specs[4], 15.0)]:  # ppce, ubernet, ppce_edges (seed 0)
        write_record(tmp_path, _record(spec.run_id("x"), spec, wall=wall))
    costs = dict(zip((s.method for s in specs), estimate_costs(specs, tmp_path)))
    assert costs == {"ppce": 10.0, "ubernet": 50.0, "ppce_edges": 15.0, "semeda": 15.0}
    assert [s.method for s in order_longest_first(specs, tmp_path)][::2] == ["ubernet", "ppce_edges", "semeda", "ppce"]


def test_run_costs_fall_back_from_the_label_to_its_kind_to_cost_units(tmp_path):
    from benchmark.sweep.schedule import RunCosts

    specs = expand("smoke", scale="smoke", seeds=1)  # ppce, ubernet, ppce_edges, semeda
    costs = RunCosts(specs, tmp_path)
    assert costs.estimates() == [1.0, 1.0, 2.0, 2.0]  # nothing measured: cost units
    costs.observe(0, 12.0)  # ppce: 12 s; no edge-net run measured: 2 units of 12 s
    assert costs.estimates() == [12.0, 12.0, 24.0, 24.0]
    costs.observe(3, 30.0)  # semeda: 30 s, and so ppce_edges, its kind
    costs.observe(1, 16.0)
    assert costs.estimates() == [12.0, 16.0, 30.0, 30.0]
    # The same measurements, for the runs in another order.
    assert costs.of(specs[::-1]).estimates() == [30.0, 30.0, 16.0, 12.0]


def test_only_a_whole_run_made_in_one_go_tells_what_a_run_costs(tmp_path):
    from benchmark.sweep.schedule import RunCosts, whole_run_seconds

    spec = expand("smoke", scale="smoke", seeds=1)[0]  # ppce
    whole = _record("a", spec, wall=12.0)
    assert whole_run_seconds(whole) == 12.0
    # A run that failed at a non-finite loss, one resumed at step 3 (it timed the steps after
    # it), one stopped early: their times are not a run's cost.
    resumed = {**whole, "resumed_from_step": 3}
    stopped = {**whole, "spec": {**whole["spec"], "stop_at": 2}}
    failed = _record("d", spec, status="failed", wall=3.0, reason="non-finite loss")
    assert [whole_run_seconds(r) for r in (resumed, stopped, failed)] == [None, None, None]
    for run_id, record in zip("bcd", (resumed, stopped, failed)):
        write_record(tmp_path, {**record, "run_id": run_id})
    assert RunCosts([spec], tmp_path).estimates() == [1.0]  # nothing measured: its cost units
    write_record(tmp_path, whole)
    assert RunCosts([spec], tmp_path).estimates() == [12.0]


@pytest.mark.timeout(420)
def test_smoke_suite_console(tmp_path):
    out = tmp_path / "runs"
    env = {**os.environ, "SEMEDA_DATA": str(tmp_path / "data"), "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
    # One trial at a time: the order the runs finish in is the order they started in.
    cmd = [sys.executable, "-m", "benchmark.run", "--suite", "smoke", "--scale", "smoke", "--out", str(out), "--no-report",
           "--max-concurrent", "1"]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=360)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the driver and the Ray it started
        stdout, stderr = proc.communicate()
        pytest.fail(f"the smoke suite did not finish: {stdout[-2000:]} {stderr[-2000:]}")
    console = stdout + stderr
    assert proc.returncode == 0, console[-3000:]
    assert "WARNING" not in console and "Traceback" not in console, console
    records, problems = load_records(out)
    assert not problems and len(records) == 4
    run_lines = [line for line in stdout.splitlines() if "mIoU " in line and re.search(r" s\d ", line)]
    assert len(run_lines) == 4, stdout
    for record in records:
        name = f"{record['label']} s{record['spec']['seed']}"
        mine = [line for line in run_lines if f"] {name} " in line]
        assert len(mine) == 1, (name, stdout)
        assert f"mIoU {100 * record['metrics']['miou']:5.1f}" in mine[0]
    # Longest first, but the edge net is fitted beside the runs (a fresh data folder): the
    # first run is the longest of those that need none; the others, longest first, after it.
    order = [line.split("]")[1].strip().split("(")[0].split(" ")[0] for line in run_lines]
    assert order[0] == "ppce", stdout
    assert order.index("ppce_edges") < order.index("semeda"), stdout
    assert re.search(r"^prepared streets in [\d.]+ s$", stdout, re.M), stdout
    assert re.search(r"^fitted the edge net of streets \(F1 0\.\d+\) in [\d.]+ s, beside the runs$", stdout, re.M), stdout
    summary = [line for line in stdout.splitlines() if "skipped (record exists)" in line]
    assert len(summary) == 1 and summary[0].startswith("4 done")
    # Trial folders keep the run id (a later sweep finds a dead driver's checkpoints by it).
    assert {r["run_id"] for r in records} <= {p.name for p in (out / ".ray").glob("*/*") if p.is_dir()}


def test_fixed_costs_are_read_back_from_the_console_lines():
    """Every preparation line and edge net fitted before the runs adds to the preparation, the
    executor's line is its start, a net fitted beside the runs is counted apart; run lines and
    the summary count for none."""
    from benchmark.sweep.console import fixed_costs, prepared_line, ready_line
    from benchmark.sweep.edge_nets import fitted_line

    lines = [
        prepared_line("streets", "", 2.14) + "\n",
        fitted_line("streets", 0.9971, 39.26, beside=False),
        prepared_line("shapes", "", 12.5),
        fitted_line("shapes", 0.95, 80.04, beside=True),
        ready_line("ray", 6.31),
        "42 runs to do (0 recorded already), 2 at a time, longest first",
        "[  1/42] ppce s0 streets  done in 61 s  mIoU 62.8",
        "42 done, 0 skipped (record exists), 0 failed in 36:01; records in /tmp/x",
    ]
    assert lines[0] == "prepared streets in 2.1 s\n" and lines[4] == "ray executor ready in 6.3 s"
    assert lines[1] == "fitted the edge net of streets (F1 0.997) in 39.3 s"
    assert lines[3] == "fitted the edge net of shapes (F1 0.950) in 80.0 s, beside the runs"
    # A net fitted before the runs is preparation; one fitted beside them is not a fixed cost.
    assert fixed_costs(lines) == {"preparation": pytest.approx(2.1 + 39.3 + 12.5), "executor": pytest.approx(6.3),
                                  "beside": pytest.approx(80.0)}  # fmt: skip
    assert fixed_costs([]) == {"preparation": 0.0, "executor": 0.0, "beside": 0.0}
