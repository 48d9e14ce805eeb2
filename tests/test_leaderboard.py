"""The leaderboard suite end to end through Ray: search, seeds, report; a rerun; a kill during tuning.

Everything Ray starts here listens on 127.0.0.1 only, and every test stops what it started.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmark.records import load_records

pytestmark = pytest.mark.timeout(900)

ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}


def _command(out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "benchmark.run", "--suite", "leaderboard", "--scale", "smoke", "--methods", "dice",
            "--datasets", "streets", "--grid", "1/3,1,3", "--seeds", "2", "--out", str(out), "--no-progress", *extra]  # fmt: skip


def _run(cmd: list[str]) -> subprocess.CompletedProcess:
    done = subprocess.run(cmd, env={**os.environ, **ENV}, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done


def _by_id(out: Path) -> dict[str, dict]:
    records, problems = load_records(out)
    assert not problems
    return {r["run_id"]: r for r in records}


def test_leaderboard_end_to_end_rerun_and_a_kill_during_tuning(tmp_path):
    whole = tmp_path / "whole"
    done = _run(_command(whole))
    records = _by_id(whole)
    trials = [r for r in records.values() if r["spec"].get("split") == "tune"]
    # budget of 3 runs: 3 trials to step 3, the best third (1) to step 6, then to 12
    assert sorted(r["step"] for r in trials if r["spec"]["method"] == "dice") == [3, 3, 3, 6, 12]
    # PPCE's learning rate searched by the same rule (an extension, where its edge wins, adds trials)
    lrs = {r["spec"]["settings"]["lr"] for r in trials if r["spec"]["method"] == "ppce"}
    assert len(lrs) >= 3 and sorted(r["step"] for r in trials if r["spec"]["method"] == "ppce")[-1] == 12
    seeds = [r for r in records.values() if "split" not in r["spec"]]
    assert {r["spec"]["seed"] for r in trials} == {0} and {r["spec"]["seed"] for r in seeds} == {1, 2}  # never the search's
    assert sorted(r["spec"]["method"] for r in seeds if r["spec"]["method"] == "dice") == ["dice", "dice"]
    assert sum(r["spec"]["method"] == "ppce" for r in seeds) in (2, 4)  # the default PPCE, and the tuned one unless it is 1x
    further = [r for r in trials if r["step"] > 3]
    assert all(r["resumed_from_step"] == r["step"] // 2 for r in further)  # each rung resumed from the one before
    selected = [line for line in done.stdout.splitlines() if line.startswith("selected")]
    assert sorted(line.split()[2] for line in selected) == ["dice", "ppce"]  # dice's weight and PPCE's learning rate
    board = (whole / "report" / "leaderboard.md").read_text()
    assert "| dice(" in board and "| ppce |" in board and "| ppce, tuned learning rate |" in board
    assert (whole / "report" / "leaderboard_budget.png").exists() and (whole / "report" / "leaderboard_weights.png").exists()
    assert not list((whole / "states").glob("*.pt"))  # every search done: no state left behind

    again = _run(_command(whole, "--no-report"))
    assert "tuning, rung" not in again.stdout
    assert f"0 done, {len(seeds)} skipped (record exists)" in again.stdout

    # Killed while tuning, then the same command: no finished rung is run again, same outcome.
    killed = tmp_path / "killed"
    cmd = _command(killed, "--no-report", "--max-concurrent", "1")
    proc = subprocess.Popen(cmd, env={**os.environ, **ENV}, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 400
        while len(list(killed.glob("*.json"))) < 1 and time.time() < deadline and proc.poll() is None:
            time.sleep(0.2)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    before = {p.name: p.stat().st_mtime_ns for p in killed.glob("*.json")}
    assert 1 <= len(before) < len(records), "the kill should land during the search"
    rerun = _run(cmd)
    after = _by_id(killed)
    assert {p: killed.joinpath(p).stat().st_mtime_ns for p in before} == before  # nothing recorded was redone
    assert set(after) == set(records)
    assert {k: r["metrics"]["miou"] for k, r in after.items()} == {k: r["metrics"]["miou"] for k, r in records.items()}
    assert [line for line in rerun.stdout.splitlines() if line.startswith("selected")] == selected
