"""Run identity: one run id, one computation. Committed ids stay; the data, the weights and the
arithmetic a run reads are in its id; a single run computes as a suite's trial does."""

import json
import math
import shutil
from pathlib import Path

import pytest
import torch
from realistic_data import write_voc

from benchmark.data import DatasetError
from benchmark.data.fingerprint import fingerprint
from benchmark.prepare import prepare
from benchmark.records import load_records, read_record
from benchmark.run import build_parser, init_name, main, spec_from_args
from benchmark.spec import RunSpec

ROOT = Path(__file__).resolve().parents[1]
#: Committed records whose ids are recomputed from their specs: the documented example, and
#: runs of several method families on both synthetic sets, at several seeds and settings.
COMMITTED = ("semeda-streets-s0-398aba04068d", "boundary-shapes-s0-21c40a6aa717", "dice-shapes-s2-a8c4a7c674d2",
             "lovasz-shapes-s0-c7ae627deffd", "ppce_edges-streets-s0-c995eada00d6", "semeda-streets-s1-d17a90f06ca1",
             "ubernet-shapes-s0-4820fab0744c", "ubernet-streets-s1-22b4e1f34a60", "ppce_edges-shapes-s2-3742a151fa5d")  # fmt: skip


def test_committed_run_ids_are_recomputed_from_their_specs():
    """The default precision (fp32) and every change here keep the id of every committed run."""
    records = [read_record(ROOT / "results" / "runs" / f"{run_id}.json") for run_id in COMMITTED]
    for record in records:
        spec = RunSpec.from_dict(record["spec"])
        assert spec.settings.precision == "fp32" and not spec.weights
        assert spec.run_id(record["data_version"]) == record["run_id"]


# --------------------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def voc_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("voc")
    write_voc(root)
    return root


def voc_spec() -> RunSpec:
    return RunSpec.create("ppce", scale="smoke", dataset="voc", overrides={"resize": (48, 48)})


def test_the_same_files_under_another_root_are_the_same_data(voc_root, tmp_path):
    copy = tmp_path / "elsewhere"
    shutil.copytree(voc_root, copy)  # new modification times, another path
    here = fingerprint("voc", voc_root)
    assert fingerprint("voc", copy) == here == fingerprint("voc", copy / "VOCdevkit" / "VOC2012")
    val = copy / "VOCdevkit" / "VOC2012" / "ImageSets" / "Segmentation" / "val.txt"
    stems = val.read_text().split()
    val.write_text("\n".join(stems[:-1]) + "\n")  # an image removed from the scored split
    removed = fingerprint("voc", copy)
    val.write_text("\n".join(stems + [stems[0]]) + "\n")  # one scored twice
    added = fingerprint("voc", copy)
    val.write_text("\n".join(stems) + "\n")
    assert fingerprint("voc", copy) == here
    mask = copy / "VOCdevkit" / "VOC2012" / "SegmentationClassAug" / "2008_005000.png"
    mask.write_bytes(mask.read_bytes() + b"\0")  # another file of another size
    assert len({here, removed, added, fingerprint("voc", copy)}) == 4


def test_another_root_or_an_edited_split_is_another_run_and_a_fresh_preparation(voc_root, tmp_path):
    other = tmp_path / "other"
    write_voc(other, seed=1)
    a = prepare(voc_spec(), data_root=voc_root, edge_net=False)
    b = prepare(voc_spec(), data_root=other, edge_net=False)
    assert a.data_version.startswith("real-") and a.data_version != b.data_version and a.cache != b.cache
    assert voc_spec().run_id(a.data_version) != voc_spec().run_id(b.data_version)
    edited = tmp_path / "edited"
    shutil.copytree(voc_root, edited)
    assert prepare(voc_spec(), data_root=edited, edge_net=False).cache == a.cache  # a copy reuses its preparation
    voc = edited / "VOCdevkit" / "VOC2012"
    val = voc / "ImageSets" / "Segmentation" / "val.txt"
    val.write_text(val.read_text() + "2008_005001\n")  # a training image added to the scored split ...
    with pytest.raises(DatasetError, match="missing mask .*SegmentationClass/2008_005001.png"):
        prepare(voc_spec(), data_root=edited, edge_net=False)  # ... checked afresh: its mask is not where val's are
    shutil.copy(voc / "SegmentationClassAug" / "2008_005001.png", voc / "SegmentationClass" / "2008_005001.png")
    c = prepare(voc_spec(), data_root=edited, edge_net=False)
    assert c.data_version != a.data_version and c.cache != a.cache
    assert len(c.distances()) == len(a.distances()) + 1  # every scored image has its distance map


# --------------------------------------------------------------------------- weights and initialisation


def test_weights_name_the_initialisation_never_scratch(tmp_path):
    assert init_name(None, None) == "scratch" and init_name("imagenet", str(tmp_path / "r101.pth")) == "imagenet"
    assert init_name(None, str(tmp_path / "resnet101-imagenet.pth")) == "resnet101-imagenet"
    with pytest.raises(ValueError, match="--init NAME"):
        init_name("scratch", "m.pt")
    first, second = tmp_path / "a.pt", tmp_path / "b.pt"
    torch.save({"w": torch.zeros(2)}, first)
    torch.save({"w": torch.ones(2)}, second)
    specs = [spec_from_args(build_parser().parse_args(["--scale", "smoke", "--weights", str(p)])) for p in (first, second)]
    assert [s.init for s in specs] == ["a", "b"] and specs[0].run_id() != specs[1].run_id()
    shutil.copy(first, tmp_path / "copy.pt")  # the same content elsewhere: the same run
    again = spec_from_args(build_parser().parse_args(["--scale", "smoke", "--weights", str(tmp_path / "copy.pt"), "--init", "a"]))
    assert again.run_id() == specs[0].run_id()


def test_scratch_with_weights_is_one_line(tmp_path, capsys):
    path = tmp_path / "m.pt"
    torch.save({"w": torch.zeros(2)}, path)
    assert main(["--scale", "smoke", "--weights", str(path), "--init", "scratch", "--out", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --weights") and "--init NAME" in err and "\n" not in err


# --------------------------------------------------------------------------- a single run as a suite's trial


def test_a_single_run_with_default_threads_reproduces_a_suites_record(tmp_path, capsys):
    """The suite's trial trains with one thread; the single-run command, with its default, too:
    the same record to the last bit, whatever threads the process had before."""
    suite, single = tmp_path / "suite", tmp_path / "single"
    assert main(["--suite", "smoke", "--methods", "semeda", "--executor", "inline", "--set", "steps=6", "--out", str(suite),
                 "--no-progress", "--no-report"]) == 0  # fmt: skip
    threads = torch.get_num_threads()
    torch.set_num_threads(2)  # what torch gives a process on this machine
    try:
        assert main(["--method", "semeda", "--lambdas", "0,1,0", "--dataset", "streets", "--seed", "0", "--scale", "smoke",
                     "--set", "steps=6", "--out", str(single), "--no-progress"]) == 0  # fmt: skip
    finally:
        torch.set_num_threads(threads)
    (a,), _ = load_records(suite)
    (b,), _ = load_records(single)
    assert a["run_id"] == b["run_id"] and a["threads"] == b["threads"] == 1
    for key in ("metrics", "counts", "loss_curve", "grad_norm", "rounding"):
        assert json.dumps(a[key], sort_keys=True) == json.dumps(b[key], sort_keys=True), key
    assert "note:" not in capsys.readouterr().out  # the same environment: nothing to say


# --------------------------------------------------------------------------- the paper scale without weights


def test_paper_scale_without_weights_is_one_line_and_writes_nothing(voc_root, tmp_path, capsys):
    out = tmp_path / "runs"
    for args in (["--dataset", "voc", "--data-root", str(voc_root)], ["--suite", "table1", "--dry-run"]):
        assert main([*args, "--scale", "paper", "--out", str(out), "--no-progress"]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and "--weights-imagenet FILE" in err and "--weights FILE" in err and "\n" not in err
        assert not out.exists()


def resnet101_imagenet_like(path: Path) -> None:
    """A torchvision ResNet-101 state dict (ImageNet layout, fc included) whose batch-norm
    statistics are measured on random images, as a pre-trained file's are on real ones: in the
    network as DeepLab v2 runs it (layer3 and layer4 dilated, the same keys), on images
    normalised as the trainer normalises them."""
    import torchvision

    from benchmark.data.transforms import normalize

    torch.manual_seed(0)
    net = torchvision.models.resnet101(weights=None, replace_stride_with_dilation=[False, True, True])
    for module in net.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.momentum = None  # a cumulative average over the batches below
    net.train()
    with torch.no_grad():
        for _ in range(3):
            net(normalize(torch.randint(0, 256, (2, 3, 64, 64), dtype=torch.uint8)))
    torch.save(net.state_dict(), path)


@pytest.mark.timeout(300)
def test_paper_scale_resnet101_trains_from_weights_with_frozen_batch_norm(voc_root, tmp_path):
    weights = tmp_path / "resnet101.pth"
    resnet101_imagenet_like(weights)
    out = tmp_path / "runs"
    code = main(["--method", "ppce", "--scale", "paper", "--dataset", "voc", "--data-root", str(voc_root), "--weights", str(weights),
                 "--init", "imagenet", "--set", "steps=2", "--set", "log_every=1", "--set", "crop=41,41", "--set", "batch_size=2", "--set", "resize=48,48",
                 "--set", "eval_batch_size=4", "--out", str(out), "--no-progress"])  # fmt: skip
    assert code == 0
    (record,), _ = load_records(out)
    assert record["status"] == "ok" and record["spec"]["init"] == "imagenet" and record["spec"]["settings"]["frozen_bn"] is True
    assert record["spec"]["backbone"] == "deeplabv2_resnet101" and record["data_version"].startswith("real-")
    # finite at every step, and of the order of ln(21) at the first (the same run from scratch, its
    # initial statistics frozen, measured at 1,884 at step 1 and 1.7e17 at step 2)
    losses = record["loss_curve"]["total"]
    assert len(losses) == 2 and all(math.isfinite(loss) for loss in losses) and losses[0] < 100
    assert math.isfinite(record["grad_norm"]["max"])
    assert 0 <= record["metrics"]["miou"] <= 1 and record["counts"]["confusion"] and record["rounding"]["deterministic"]


def test_paper_scale_from_scratch_trains_batch_norm_when_asked(voc_root, tmp_path):
    out = tmp_path / "runs"
    assert main(["--method", "ppce", "--scale", "paper", "--dataset", "voc", "--data-root", str(voc_root), "--backbone",
                 "deeplabv2_small", "--set", "frozen_bn=false", "--set", "steps=2", "--set", "crop=33,33", "--set", "batch_size=2",
                 "--set", "resize=48,48", "--out", str(out), "--no-progress"]) == 0  # fmt: skip
    (record,), _ = load_records(out)
    assert record["status"] == "ok" and record["spec"]["settings"]["frozen_bn"] is False and record["spec"]["init"] == "scratch"
