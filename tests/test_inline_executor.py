"""The inline executor: a suite in this process, Ray never imported, the same records as through Ray."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from benchmark.records import load_records
from benchmark.suites import expand
from benchmark.sweep import SweepOptions, run_specs

pytestmark = pytest.mark.timeout(420)

#: A process in which ``import ray`` fails, running the suite command given as its arguments.
WITHOUT_RAY = "import sys; sys.modules['ray'] = None; from benchmark.run import main; sys.exit(main(sys.argv[1:]))"


def by_run_id(folder: Path) -> dict[str, dict]:
    records, problems = load_records(folder)
    assert not problems
    return {r["run_id"]: r for r in records}


def test_smoke_suite_inline_never_imports_ray_and_gives_rays_records(tmp_path):
    inline, through_ray = tmp_path / "inline", tmp_path / "ray"
    command = [sys.executable, "-c", WITHOUT_RAY, "--suite", "smoke", "--executor", "inline", "--out", str(inline),
               "--no-progress", "--no-report", "--keep-predictions"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=400, env={**os.environ, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"})
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert re.search(r"^4 done( \(\d diverged\))?, 0 skipped \(record exists\), 0 failed", done.stdout, re.M), done.stdout

    summary = run_specs(expand("smoke"), out=through_ray, keep_predictions=True, verbose=0)
    assert (summary.done, summary.failed) == (4, 0)
    mine, theirs = by_run_id(inline), by_run_id(through_ray)
    assert sorted(mine) == sorted(theirs) and len(mine) == 4
    for run_id, record in mine.items():
        other = theirs[run_id]
        assert record["status"] == "ok" and record["threads"] == 1
        # every field but the wall times: metrics, counts, curves, gradients, identity
        same = {key for key in record if key != "timing"}
        assert same == {key for key in other if key != "timing"}
        for key in same:
            assert json.dumps(record[key], sort_keys=True) == json.dumps(other[key], sort_keys=True), (run_id, key)
        assert (inline / f"{run_id}.pred.npz").read_bytes() == (through_ray / f"{run_id}.pred.npz").read_bytes()


def test_inline_rerun_skips_and_a_failing_run_is_recorded_after_its_retries(tmp_path):
    from dataclasses import replace

    specs = expand("smoke", methods=["ppce", "ubernet"])
    # A batch larger than the training set makes that one run raise inside train().
    broken = replace(specs[1], settings=replace(specs[1].settings, batch_size=10_000))
    options = SweepOptions(out=tmp_path, executor="inline", retries=1)
    summary = run_specs([specs[0], broken], options)
    assert (summary.done, summary.failed) == (1, 1)
    records = {r["spec"]["method"]: r for r in load_records(tmp_path)[0]}
    assert records["ppce"]["status"] == "ok"
    assert records["ubernet"]["status"] == "failed" and "batch size" in records["ubernet"]["reason"]
    assert summary.failures and "ubernet" in summary.failures[0]
    again = run_specs([specs[0], broken], options)
    assert (again.done, again.skipped, again.failed) == (0, 2, 0)
    assert not (tmp_path / ".ray" / "inline").exists() or not any((tmp_path / ".ray" / "inline").iterdir())


def test_inline_run_interrupted_continues_from_its_checkpoint(tmp_path, monkeypatch):
    """A run whose process died after a checkpoint continues from it: ``resumed_from_step`` says where."""
    import benchmark.train
    from benchmark.sweep.inline import INLINE_FOLDER

    spec = replace_steps(expand("smoke", methods=["ppce"])[0], 40)
    options = SweepOptions(out=tmp_path, executor="inline", retries=0, checkpoint_every=20)
    real_train = benchmark.train.train

    def dies_after_first_checkpoint(*args, checkpoint=None, **kwargs):
        def save_then_die(state):
            checkpoint(state)
            raise KeyboardInterrupt  # the process ends here, its checkpoint on disk

        return real_train(*args, checkpoint=save_then_die, **kwargs)

    monkeypatch.setattr(benchmark.train, "train", dies_after_first_checkpoint)
    with pytest.raises(KeyboardInterrupt):
        run_specs([spec], options)
    assert list((tmp_path / ".ray" / INLINE_FOLDER).glob("*/checkpoint_latest/state.pt"))
    assert not load_records(tmp_path)[0]
    monkeypatch.setattr(benchmark.train, "train", real_train)
    summary = run_specs([spec], options)
    assert summary.done == 1
    (record,) = load_records(tmp_path)[0]
    assert record["resumed_from_step"] == 20 and record["step"] == 40


def replace_steps(spec, steps: int):
    from dataclasses import replace

    return replace(spec, settings=replace(spec.settings, steps=steps))


def test_inline_and_an_address_is_one_line_error(tmp_path):
    done = subprocess.run([sys.executable, "-m", "benchmark.run", "--suite", "smoke", "--executor", "inline", "--address", "auto",
                           "--out", str(tmp_path)], capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: --address names a Ray cluster; the inline executor runs in this process (drop one of them)"
    ]
