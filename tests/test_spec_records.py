"""RunSpec (validation, run id) and run records (atomic writes, corrupt files)."""

import json
from pathlib import Path

import numpy as np
import pytest

from benchmark.records import CorruptRecord, decode_mask, encode_mask, load_records, read_record, write_record
from benchmark.spec import RunSpec, scale_settings


def test_spec_canonicalises_parameters_through_the_registry():
    a = RunSpec.create("semeda", params={"lambdas": "0,1,0"}, scale="smoke")
    b = RunSpec.create("semeda", params={"lambdas": (0, 1.0, 0), "relu": False}, scale="smoke")
    assert a == b and a.run_id() == b.run_id()
    assert a.method_params() == {"lambdas": (0.0, 1.0, 0.0), "relu": False, "channels": "sum"}


def test_run_id_changes_with_anything_that_changes_numbers():
    base = RunSpec.create("ppce", scale="smoke")
    ids = {
        base.run_id(),
        base.run_id(data_version="other-generator"),
        RunSpec.create("ppce", scale="smoke", seed=1).run_id(),
        RunSpec.create("ppce", scale="smoke", overrides={"steps": 13}).run_id(),
        RunSpec.create("ppce", scale="small").run_id(),
        RunSpec.create("ubernet", scale="smoke").run_id(),
    }
    assert len(ids) == 6
    assert base.run_id().startswith("ppce-streets-s0-")


def test_spec_round_trips_through_its_dict():
    spec = RunSpec.create("semeda", params={"lambdas": (1, 0.5, 0.25), "relu": True}, scale="smoke", seed=2)
    again = RunSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert again == spec and again.run_id() == spec.run_id()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"method": "semda"}, "unknown method"),
        ({"method": "semeda", "params": {"lambdas": (1, -1, 0)}}, ">= 0"),
        ({"scale": "huge"}, "unknown scale"),
        ({"overrides": {"stepz": 3}}, "unknown setting 'stepz'"),
        ({"seed": -1}, "seed must be an integer from 0 to 4294967295, got -1"),
    ],
)
def test_bad_specs_say_what_is_wrong(kwargs, message):
    kwargs = dict(kwargs)
    method = kwargs.pop("method", "ppce")
    with pytest.raises(ValueError, match=message):
        RunSpec.create(method, **kwargs)


def test_paper_scale_cityscapes_is_half_resolution():
    assert scale_settings("paper", "cityscapes").resize == (512, 1024)
    assert scale_settings("paper", "voc").resize is None
    assert scale_settings("paper", "voc").crop == (321, 321)


def test_write_record_is_atomic_and_readable(tmp_path):
    path = write_record(tmp_path, {"run_id": "r1", "status": "ok", "spec": {}, "x": float("nan")})
    assert path.name == "r1.json"
    assert [p.name for p in tmp_path.iterdir()] == ["r1.json"]  # no temp file left behind
    assert np.isnan(read_record(path)["x"])


def test_corrupt_and_truncated_records_are_reported_not_loaded(tmp_path):
    write_record(tmp_path, {"run_id": "good", "status": "ok", "spec": {}})
    full = json.dumps({"run_id": "cut", "status": "ok", "spec": {"method": "ppce"}})
    (tmp_path / "cut.json").write_text(full[: len(full) // 2])
    (tmp_path / "partial.json").write_text(json.dumps({"run_id": "partial"}))
    records, problems = load_records(tmp_path)
    assert [r["run_id"] for r in records] == ["good"]
    assert len(problems) == 2 and any("cut.json" in p for p in problems)
    with pytest.raises(CorruptRecord, match="incomplete record"):
        read_record(tmp_path / "partial.json")


def test_masks_survive_encoding():
    mask = np.array([[0, 1, 255], [18, 3, 3]], dtype=np.uint8)
    assert np.array_equal(decode_mask(encode_mask(mask)), mask)


def test_a_corrupt_record_is_reported_and_its_run_redone(tmp_path, capsys):
    from benchmark.suites import expand
    from benchmark.sweep import pending

    specs = expand("smoke", methods=["ppce", "ubernet"])
    versions = {"streets": "v"}
    ok, broken = (spec.run_id("v") for spec in specs)
    write_record(tmp_path, {"run_id": ok, "status": "ok", "spec": specs[0].to_dict()})
    (tmp_path / f"{broken}.json").write_text('{"run_id": "' + broken + '", "sta')  # truncated by a crash
    todo, existing = pending(specs, tmp_path, versions)
    assert todo == [specs[1]] and existing == [specs[0]]
    assert f"{broken}.json: unreadable record" in capsys.readouterr().out


def test_a_setting_added_later_is_unstated_at_its_default(monkeypatch):
    # A newly added setting (here: precision, as if it were new) is left out of the spec at
    # its field default, so earlier runs keep their ids; any other value is stated.
    from benchmark import spec as spec_module

    plain = RunSpec.create("ppce", scale="smoke")
    monkeypatch.setattr(spec_module, "UNSTATED_SETTINGS", ("precision",))
    assert "precision" not in plain.to_dict()["settings"]
    assert RunSpec.from_dict(plain.to_dict()) == plain
    assert RunSpec.create("ppce", scale="smoke", overrides={"precision": "bf16"}).to_dict()["settings"]["precision"] == "bf16"


# --------------------------------------------------------------------------- speed levers

#: Committed records of the default protocol (table1's PPCE and SEMEDA (0,1,0) before ReLU,
#: seed 0): a setting added later must leave their specs and run ids as they are.
PINNED_RECORDS = ("ppce-streets-s0-e47c1960be5a", "semeda-streets-s0-398aba04068d")
RECORDS = Path(__file__).resolve().parents[1] / "results" / "runs"


@pytest.mark.parametrize("run_id", PINNED_RECORDS)
def test_committed_default_runs_keep_their_spec_and_run_id(run_id):
    record = json.loads((RECORDS / f"{run_id}.json").read_text())
    spec = RunSpec.from_dict(record["spec"])
    assert spec.settings.memory_format == "contiguous" and spec.settings.compile is False
    assert spec.to_dict() == record["spec"]
    assert spec.run_id(record["data_version"]) == record["run_id"] == run_id


def test_speed_levers_are_unstated_at_their_defaults_and_stated_otherwise():
    plain = RunSpec.create("ppce", scale="smoke")
    assert not {"memory_format", "compile"} & set(plain.to_dict()["settings"])
    explicit = RunSpec.create("ppce", scale="smoke", overrides={"memory_format": "contiguous", "compile": False})
    assert explicit == plain and explicit.run_id() == plain.run_id()
    ids = {plain.run_id()}
    for overrides in ({"memory_format": "channels_last"}, {"compile": True}, {"memory_format": "channels_last", "compile": True}):
        spec = RunSpec.create("ppce", scale="smoke", overrides=overrides)
        assert spec.to_dict()["settings"].items() >= overrides.items()
        assert RunSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec
        ids.add(spec.run_id())
    assert len(ids) == 4


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"memory_format": "nhwc"}, "setting memory_format must be contiguous or channels_last, got 'nhwc'"),
        ({"memory_format": 1}, "setting memory_format must be a string, got 1"),
        ({"compile": "yes"}, "setting compile must be true or false, got 'yes'"),
        ({"compile": 1}, "setting compile must be true or false, got 1"),
    ],
)
def test_bad_lever_values_are_one_line_errors(overrides, message):
    with pytest.raises(ValueError) as err:
        RunSpec.create("ppce", scale="smoke", overrides=overrides)
    assert str(err.value) == message
