"""The arithmetic of a run: precision selection on every device, the rounding environment in the
record and on reuse, devices for runs and trials, checkpoints resumed under other arithmetic.

No GPU here: CUDA is faked where the selection logic is tested (``torch.cuda.is_available``,
Ray's cluster resources); the GPU path itself runs in the ``gpu`` perf section where one is lent.
"""

import copy
import json
import os

import pytest
import torch

from benchmark import arithmetic, rounding
from benchmark.arithmetic import autocast_for, check_precision, checkpoint_arithmetic, pick_device, precision_flags, uses_loss_scaler
from benchmark.records import load_records
from benchmark.run import main
from benchmark.spec import RunSpec
from benchmark.sweep import SweepOptions

CPU, CUDA = torch.device("cpu"), torch.device("cuda")


def test_precision_selects_the_autocast_and_the_loss_scaler_on_each_device():
    assert type(autocast_for(CPU, "fp32")).__name__ == "nullcontext"
    assert type(autocast_for(CUDA, "fp32")).__name__ == "nullcontext"  # fp32 on CUDA: no autocast (it was fp16)
    assert type(autocast_for(CUDA, "tf32")).__name__ == "nullcontext"
    with autocast_for(CPU, "bf16"):
        assert torch.is_autocast_enabled("cpu") and torch.get_autocast_dtype("cpu") == torch.bfloat16
    with pytest.warns(UserWarning, match="CUDA is not available"):  # constructed, not entered: no GPU here
        bf16, fp16 = autocast_for(CUDA, "bf16"), autocast_for(CUDA, "fp16")
    assert (bf16.device, bf16.fast_dtype) == ("cuda", torch.bfloat16) and (fp16.device, fp16.fast_dtype) == ("cuda", torch.float16)
    assert [p for p in arithmetic.PRECISIONS if uses_loss_scaler(CUDA, p)] == ["fp16"]
    assert not any(uses_loss_scaler(CPU, p) for p in arithmetic.PRECISIONS)


@pytest.mark.parametrize("precision", ["tf32", "fp16"])
def test_a_precision_the_cpu_cannot_run_is_one_line(precision):
    with pytest.raises(ValueError, match=f"precision {precision} runs on CUDA only") as err:
        check_precision(precision, "cpu")
    assert "\n" not in str(err.value)
    check_precision(precision, "cuda")
    check_precision("bf16", "cpu")


def test_flags_of_each_precision_are_set_for_the_run_and_restored():
    before = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32, torch.backends.cudnn.deterministic)
    with precision_flags(CUDA, "fp32"):  # torch's default leaves TF32 on for convolutions: fp32 turns it off
        assert not torch.backends.cuda.matmul.allow_tf32 and not torch.backends.cudnn.allow_tf32
        assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark
        assert rounding.environment_facts(CPU, "fp32")["tf32"] is False
    with precision_flags(CUDA, "tf32"):
        assert torch.backends.cuda.matmul.allow_tf32 and torch.backends.cudnn.allow_tf32
    with precision_flags(CPU, "fp32"):
        assert torch.get_float32_matmul_precision() == "highest"
    assert (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32, torch.backends.cudnn.deterministic) == before


def test_device_choices(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert pick_device() == CPU and pick_device("cpu") == CPU
    with pytest.raises(ValueError, match="--device cuda: torch sees no CUDA GPU here; use --device cpu"):
        pick_device("cuda")
    with pytest.raises(ValueError, match="expected one of auto, cpu, cuda, or cuda:K"):
        pick_device("gpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert pick_device() == CUDA and pick_device("cuda:1") == torch.device("cuda:1") and pick_device("cpu") == CPU
    with pytest.raises(ValueError, match="has 2 CUDA GPU"):
        pick_device("cuda:2")


def test_every_precision_is_another_run_id_and_fp32_the_default_one():
    ids = {p: RunSpec.create("ppce", scale="smoke", overrides={"precision": p}).run_id() for p in arithmetic.PRECISIONS}
    assert len(set(ids.values())) == 4 and ids["fp32"] == RunSpec.create("ppce", scale="smoke").run_id()


# --------------------------------------------------------------------------- rounding environment


def test_record_holds_its_rounding_environment(tmp_path, capsys):
    out = tmp_path / "runs"
    assert main(["--scale", "smoke", "--set", "steps=2", "--out", str(out), "--no-progress"]) == 0
    (record,), _ = load_records(out)
    assert record["device"] == "cpu" and record["threads"] == 1
    assert record["versions"]["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert record["rounding"] == {"device_name": rounding.environment_facts(CPU, "fp32")["device_name"], "cuda": None, "cudnn": None,
                                  "tf32": False, "deterministic": True}  # fmt: skip
    here = rounding.expected_environment("cpu", 1, "fp32")
    assert rounding.differences(rounding.recorded_environment(record), here) == []


def hand_edited(record: dict, **changes) -> dict:
    record = copy.deepcopy(record)
    for key, value in changes.items():
        if key in ("cpu_capability", "torch"):
            record["versions"][key] = value
        else:
            record[key] = value
    return record


@pytest.fixture(scope="module")
def smoke_record(tmp_path_factory):
    out = tmp_path_factory.mktemp("smoke")
    assert main(["--scale", "smoke", "--set", "steps=2", "--out", str(out), "--no-progress"]) == 0
    (record,), _ = load_records(out)
    return out, record


def test_reusing_a_record_made_with_other_threads_or_device_says_so_in_one_line(smoke_record, capsys):
    out, record = smoke_record
    path = out / f"{record['run_id']}.json"
    capsys.readouterr()
    for changes, needle in (({"threads": 2}, "threads 2, here 1"), ({"device": "cuda:0"}, "device cuda, here cpu"),
                            ({"cpu_capability": "AVX2"}, "cpu_capability AVX2, here")):  # fmt: skip
        path.write_text(json.dumps(hand_edited(record, **changes)))
        assert main(["--scale", "smoke", "--set", "steps=2", "--out", str(out), "--no-progress"]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert lines[0] == "record exists (use --force to re-run):"
        assert lines[1].startswith("note: this record was made under another rounding environment (") and needle in lines[1]
        assert lines[1].endswith("--force re-runs it") and not lines[2].startswith("note")
    path.write_text(json.dumps(record))


def test_records_made_before_the_environment_was_kept_give_no_note(smoke_record):
    _, record = smoke_record
    old = {k: v for k, v in record.items() if k not in ("rounding", "threads")}
    old["versions"] = {k: v for k, v in record["versions"].items() if k != "cpu_capability"}
    assert rounding.reuse_note(old, rounding.expected_environment("cpu", 1, "fp32")) is None
    assert rounding.reuse_note({"run_id": "x", "status": "failed", "spec": {}}, rounding.expected_environment("cpu", 1, "fp32")) is None
    # A CUDA record from before precision was honoured there ran fp16 autocast whatever its spec said.
    cuda = {**old, "device": "cuda:0"}
    note = rounding.reuse_note(cuda, rounding.expected_environment("cuda", 1, "fp32"))
    assert note is not None and "precision fp16, here fp32" in note


def test_a_suite_reusing_records_made_elsewhere_says_so_in_one_line(smoke_record):
    _, record = smoke_record
    records = [record, hand_edited(record, threads=2), hand_edited(record, threads=2, cpu_capability="AVX2")]
    note = rounding.suite_reuse_note(records, lambda r: rounding.expected_environment("cpu", 1, "fp32"))
    assert note.startswith("note: 2 of the 3 recorded runs reused were made under another rounding environment (threads 2, here 1; ")
    assert "cpu_capability AVX2" in note and note.endswith("--force re-runs them") and "\n" not in note


# --------------------------------------------------------------------------- devices of runs and trials


def test_device_cpu_never_touches_cuda_where_torch_says_there_is_one(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *a: pytest.fail("touched CUDA"))
    out = tmp_path / "runs"
    assert main(["--scale", "smoke", "--set", "steps=2", "--device", "cpu", "--out", str(out), "--no-progress"]) == 0
    assert main(["--suite", "smoke", "--methods", "ppce", "--set", "steps=2", "--executor", "inline", "--gpus-per-trial", "0",
                 "--out", str(tmp_path / "suite"), "--no-progress", "--no-report"]) == 0  # fmt: skip
    for folder in (out, tmp_path / "suite"):
        (record,), _ = load_records(folder)
        assert record["device"] == "cpu" and record["status"] == "ok"


def test_a_trial_given_no_gpu_sees_none(monkeypatch):
    from benchmark.sweep.ray_executor import trial_device

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    assert trial_device(0.5) == CUDA and os.environ["CUDA_VISIBLE_DEVICES"] == "0,1"  # Ray's assignment, as it set it
    assert trial_device(0) == CPU and os.environ["CUDA_VISIBLE_DEVICES"] == ""


def test_gpus_per_trial_follow_the_clusters_resources_not_the_drivers(monkeypatch):
    import ray

    from benchmark.sweep.inline import InlineExecutor
    from benchmark.sweep.ray_executor import RayExecutor

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # the driver has a GPU ...
    monkeypatch.setattr(ray, "cluster_resources", lambda: {"CPU": 8.0})  # ... the cluster none
    assert RayExecutor(SweepOptions()).gpus() == 0 and RayExecutor(SweepOptions()).device_type() == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(ray, "cluster_resources", lambda: {"CPU": 8.0, "GPU": 2.0})
    assert RayExecutor(SweepOptions()).gpus() == 1 and RayExecutor(SweepOptions(gpus_per_trial=0.25)).gpus() == 0.25
    assert RayExecutor(SweepOptions(device="cpu")).gpus() == 0
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert InlineExecutor(SweepOptions(executor="inline", gpus_per_trial=0)).device() == CPU
    assert InlineExecutor(SweepOptions(executor="inline", device="cpu")).device() == CPU


@pytest.mark.parametrize("kwargs, message", [
    ({"device": "cpu", "gpus_per_trial": 1}, "--device cpu gives trials no GPU"),
    ({"device": "cuda:1"}, "Ray gives each trial its own GPUs"),
    ({"device": "cuda", "gpus_per_trial": 0}, "a trial given no GPU runs on the CPU"),
    ({"device": "tpu"}, "expected one of auto, cpu, cuda"),
])  # fmt: skip
def test_contradicting_device_options_are_one_line(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SweepOptions(**kwargs)


def test_fp16_on_the_cpu_is_refused_before_any_work(tmp_path, capsys):
    out = tmp_path / "runs"
    for args in (["--set", "precision=fp16"], ["--suite", "smoke", "--executor", "inline", "--set", "precision=tf32"]):
        assert main([*args, "--scale", "smoke", "--out", str(out), "--no-progress", "--no-report"]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: precision ") and "runs on CUDA only" in err and "\n" not in err
        assert not out.exists() or not list(out.glob("*.json"))


# --------------------------------------------------------------------------- resuming under other arithmetic


def test_checkpoint_arithmetic_of_states_old_and_new():
    assert checkpoint_arithmetic({"scaler": {}}) == ("cpu", None)  # before it was kept: a CPU's disabled scaler
    assert checkpoint_arithmetic({"scaler": {"scale": 65536.0}}) == ("cuda", "fp16")  # CUDA always scaled, in fp16
    assert checkpoint_arithmetic({"arithmetic": {"device": "cuda", "precision": "bf16"}, "scaler": {}}) == ("cuda", "bf16")


def test_a_checkpoint_made_under_other_arithmetic_is_refused_in_one_line(tmp_path, capsys):
    from benchmark.suites import expand
    from benchmark.sweep.inline import INLINE_FOLDER
    from benchmark.sweep.inline import state_bytes
    from benchmark.train import train

    spec = expand("smoke", methods=["ppce"])[0]
    saved = []
    train(spec, progress=False, checkpoint=lambda state: saved.append(copy.deepcopy(state)), checkpoint_every=4)
    with pytest.raises(arithmetic.ResumeMismatch, match="was made on cuda in fp16; this run is on cpu in fp32"):
        train(spec, progress=False, resume={**saved[0], "arithmetic": {"device": "cuda", "precision": "fp16"}})
    out = tmp_path / "runs"
    folder = out / ".ray" / INLINE_FOLDER / saved[0]["run_id"] / "checkpoint_latest"
    folder.mkdir(parents=True)
    gpu_state = {**saved[0], "scaler": {"scale": 1024.0, "growth_factor": 2.0, "backoff_factor": 0.5, "growth_interval": 2000,
                                        "_growth_tracker": 0}}  # fmt: skip
    del gpu_state["arithmetic"]  # made before the arithmetic was kept: told by its scaler
    (folder / "state.pt").write_bytes(state_bytes(gpu_state))
    (folder / "step").write_text(str(gpu_state["step"]))
    command = ["--suite", "smoke", "--methods", "ppce", "--executor", "inline", "--out", str(out), "--no-progress", "--no-report"]
    assert main(command) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith("error: checkpoint ") and "was made on cuda in fp16" in err
    assert "--device cuda" in err and "--force" in err and not list(out.glob("*.json"))
    assert main([*command, "--force"]) == 0
    (record,), _ = load_records(out)
    assert record["status"] == "ok" and record["resumed_from_step"] is None
