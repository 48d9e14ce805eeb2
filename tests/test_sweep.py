"""Suites through Ray Tune: end to end, SIGKILL and resume, and an external `ray start` cluster.

Everything Ray starts here listens on 127.0.0.1 only (RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0),
and every test stops exactly what it started.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmark.records import load_records
from benchmark.suites import expand
from benchmark.sweep import run_specs

pytestmark = pytest.mark.timeout(420)

LOCAL_RAY_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}


@pytest.fixture(scope="module")
def ray_instance():
    """One small local Ray instance for the in-process tests of this module."""
    os.environ.update(LOCAL_RAY_ENV)  # before Ray's import, which reads it
    import ray

    ray.init(address="local", num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1",
             object_store_memory=80 * 1024**2, log_to_driver=False)  # fmt: skip
    yield
    ray.shutdown()


def test_smoke_suite_end_to_end_and_rerun_skips_everything(ray_instance, tmp_path):
    specs = expand("smoke")
    summary = run_specs(specs, out=tmp_path, verbose=0)
    assert (summary.done, summary.skipped, summary.failed) == (4, 0, 0)
    records, problems = load_records(tmp_path)
    assert not problems
    assert sorted(r["spec"]["method"] for r in records) == ["ppce", "ppce_edges", "semeda", "ubernet"]
    assert all(r["status"] == "ok" and r["threads"] == 1 for r in records)
    again = run_specs(specs, out=tmp_path, verbose=0)
    assert (again.done, again.skipped, again.failed) == (0, 4, 0)


def test_an_exception_in_one_trial_fails_that_trial_only(ray_instance, tmp_path):
    specs = expand("smoke", methods=["ppce", "ubernet"])
    # A batch larger than the training set makes that one trial raise inside train().
    from dataclasses import replace

    broken = replace(specs[1], settings=replace(specs[1].settings, batch_size=10_000))
    summary = run_specs([specs[0], broken], out=tmp_path, retries=0, verbose=0)
    assert (summary.done, summary.failed) == (1, 1)
    records = {r["spec"]["method"]: r for r in load_records(tmp_path)[0]}
    assert records["ppce"]["status"] == "ok"
    assert records["ubernet"]["status"] == "failed" and "batch size" in records["ubernet"]["reason"]


def test_an_edge_net_fit_that_fails_beside_the_runs_stops_only_the_runs_that_need_it(ray_instance, tmp_path, monkeypatch):
    """The runs that need no edge net train and are recorded while it is fitted; when the fit
    fails, the runs that need it never start, and the sweep ends with the fit's error."""
    import benchmark.sweep.edge_nets as edge_nets

    monkeypatch.setenv("SEMEDA_DATA", str(tmp_path / "data"))  # no edge net there yet

    def refused(prepared, spec, **kwargs):
        time.sleep(1.0)
        raise ValueError("edge net F1 0.412 is below 0.95; fit it longer (steps) or on more masks before saving")

    monkeypatch.setattr(edge_nets, "ensure_edge_net", refused)
    specs = expand("smoke", methods=["ppce", "semeda"])
    with pytest.raises(ValueError, match="edge net F1 0.412"):
        run_specs(specs, out=tmp_path / "runs", verbose=0)
    records, problems = load_records(tmp_path / "runs")
    assert not problems and [(r["spec"]["method"], r["status"]) for r in records] == [("ppce", "ok")]


def _suite_command(out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "benchmark.run", "--suite", "smoke", "--seeds", "2", "--out", str(out),
            "--no-progress", "--no-report", *extra]  # fmt: skip


def test_sigkill_halfway_then_rerun_completes_without_duplicates(tmp_path):
    out = tmp_path / "runs"
    env = {**os.environ, **LOCAL_RAY_ENV}
    # --set steps=60: long enough that the kill lands while trials are in flight.
    cmd = _suite_command(out, "--set", "steps=60", "--max-concurrent", "1")
    proc = subprocess.Popen(cmd, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 300
        while len(list(out.glob("*.json"))) < 2 and time.time() < deadline and proc.poll() is None:
            time.sleep(0.5)
        assert len(list(out.glob("*.json"))) >= 2, "the suite wrote no records before the kill"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the driver and the Ray processes it started
        proc.wait()
    killed_at = {p.name for p in out.glob("*.json")}
    assert len(killed_at) < 8
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=360)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"skipped (record exists)" in done.stdout
    summary = next(line for line in done.stdout.splitlines() if "skipped (record exists)" in line)
    n_done, n_skipped = int(summary.split()[0]), int(summary.split(",")[1].split()[0])
    assert n_skipped == len(killed_at) and n_done == 8 - len(killed_at)
    records, problems = load_records(out)
    assert not problems and len(records) == 8
    assert len({r["run_id"] for r in records}) == 8 and all(r["status"] == "ok" for r in records)
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_suite_on_an_external_cluster(tmp_path):
    import tempfile

    port = _free_port()
    # A short session folder: Ray's unix sockets live there and paths are capped at 107 bytes.
    temp_dir = tempfile.mkdtemp(prefix="ray", dir="/tmp")
    env = {**os.environ, **LOCAL_RAY_ENV}
    ray_bin = Path(sys.executable).with_name("ray")
    head = subprocess.Popen(
        [str(ray_bin), "start", "--head", "--block", f"--port={port}", "--node-ip-address=127.0.0.1", "--num-cpus=2",
         "--include-dashboard=false", "--object-store-memory=80000000", f"--temp-dir={temp_dir}"],
        env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        out = tmp_path / "runs"
        driver_env = {**env, "RAY_AUTH_MODE": "token"}
        cmd = [sys.executable, "-m", "benchmark.run", "--suite", "smoke", "--methods", "ppce,semeda", "--out", str(out),
               "--no-progress", "--no-report", "--address", f"127.0.0.1:{port}"]  # fmt: skip
        deadline, done = time.time() + 120, None
        while time.time() < deadline:  # the head needs a few seconds before it accepts drivers
            done = subprocess.run(cmd, env=driver_env, capture_output=True, text=True, timeout=300)
            if done.returncode == 0 or "2 done" in done.stdout:
                break
            time.sleep(3)
        assert done.returncode == 0, (done.stdout[-1000:], done.stderr[-2000:])
        records, _ = load_records(out)
        assert sorted(r["spec"]["method"] for r in records) == ["ppce", "semeda"]
    finally:
        os.killpg(head.pid, signal.SIGTERM)
        try:
            head.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
            head.wait()
        import shutil

        shutil.rmtree(temp_dir, ignore_errors=True)


def _trial_workers() -> list:
    """Ray worker processes running a trial, among the descendants of this test process."""
    import psutil

    found = []
    for proc in psutil.Process().children(recursive=True):
        try:
            if "ImplicitFunc" in " ".join(proc.cmdline()):
                found.append(proc)
        except psutil.Error:
            pass
    return found


def test_a_worker_killed_mid_trial_is_retried_from_its_checkpoint(ray_instance, tmp_path):
    import threading

    spec = expand("smoke", methods=["ppce"], overrides={"steps": 400})[0]
    killed = []

    def kill_after_first_checkpoint():
        deadline = time.time() + 240
        while time.time() < deadline and not killed:
            # Wait for the second checkpoint: by then Tune has registered the first one
            # (a directory appears before Tune records it as the trial's checkpoint).
            if [p for p in (tmp_path / ".ray").glob("*/*/checkpoint_*") if not p.name.endswith("000000")]:
                for proc in _trial_workers():
                    proc.kill()
                    killed.append(proc.pid)
            time.sleep(0.2)

    watcher = threading.Thread(target=kill_after_first_checkpoint, daemon=True)
    watcher.start()
    summary = run_specs([spec], out=tmp_path, checkpoint_every=40, retries=2, verbose=0)
    watcher.join(timeout=5)
    assert killed, "no trial worker was found to kill"
    assert (summary.done, summary.failed) == (1, 0)
    record = load_records(tmp_path)[0][0]
    assert record["status"] == "ok" and record["resumed_from_step"] >= 40


def test_many_trials_finishing_at_once_keep_their_own_records(ray_instance, tmp_path):
    specs = expand("smoke", methods=["ppce", "ubernet"], seeds=3, overrides={"steps": 1})  # 6 runs of one step
    summary = run_specs(specs, out=tmp_path, cpus_per_trial=0.33, verbose=0)
    assert (summary.done, summary.failed) == (6, 0)
    records, problems = load_records(tmp_path)
    assert not problems and len(records) == 6
    for record in records:
        path = tmp_path / f"{record['run_id']}.json"
        assert json.loads(path.read_text())["spec"] == record["spec"]
        spec = next(s for s in specs if s.to_dict() == record["spec"])
        assert record["run_id"] == spec.run_id(record["data_version"])


def test_a_run_in_flight_when_the_driver_died_continues_from_its_checkpoint(ray_instance, tmp_path):
    # What a killed driver leaves: an earlier experiment folder holding the run's last
    # checkpoint (here written by the trainer itself, stopped after step 40).
    import torch

    from benchmark.train import train

    spec = expand("smoke", methods=["ppce"], overrides={"steps": 60})[0]

    class Interrupted(Exception):
        pass

    def checkpoint(state):
        folder = tmp_path / ".ray" / "sweep-earlier" / state["run_id"] / "checkpoint_000000"
        folder.mkdir(parents=True)
        torch.save(state, folder / "state.pt")
        raise Interrupted

    with pytest.raises(Interrupted):
        train(spec, progress=False, checkpoint=checkpoint, checkpoint_every=40)
    summary = run_specs([spec], out=tmp_path, verbose=0)
    assert (summary.done, summary.failed) == (1, 0)
    record = load_records(tmp_path)[0][0]
    assert record["status"] == "ok" and record["resumed_from_step"] == 40
    uninterrupted = train(spec, progress=False)
    assert record["metrics"]["miou"] == uninterrupted["metrics"]["miou"]


def test_a_local_ray_listens_on_the_loopback_interface_only():
    # without the variable in the environment: init_ray sets it before Ray's import reads it
    script = (
        "from benchmark.sweep.ray_executor import init_ray\n"
        "assert init_ray(None, 1)\n"
        "import ray\n"
        "print(ray.util.get_node_ip_address())\n"
        "ray.shutdown()\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "127.0.0.1"


def test_earlier_checkpoints_furthest_first_and_only_usable_ones_load(tmp_path):
    import torch

    from benchmark.sweep import earlier_checkpoints, load_earlier

    def leave(experiment, run_id, step, state=None, name="checkpoint_000000"):
        folder = tmp_path / experiment / run_id / name
        folder.mkdir(parents=True)
        if state is None:
            (folder / "state.pt").write_bytes(b"truncated")
        else:
            torch.save(state, folder / "state.pt")
        (folder / "step").write_text(str(step))
        return str(folder / "state.pt")

    # An older sweep got run "a" to step 80; a later one restarted it and got to step 20.
    far = leave("sweep-1", "a", 80, {"run_id": "a", "step": 80})
    near = leave("sweep-2", "a", 20, {"run_id": "a", "step": 20})
    broken = leave("sweep-3", "a", 90)  # truncated by a killed driver
    leave("sweep-1", "b", 40, {"run_id": "b", "step": 40})
    found = earlier_checkpoints(tmp_path, {"a"})
    assert found == {"a": [broken, far, near]}
    assert load_earlier(found["a"], "a")["step"] == 80  # the broken one is skipped
    assert load_earlier(found["a"], "b") is None  # never another run's state
    assert load_earlier([], "a") is None
