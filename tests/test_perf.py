"""The performance benchmark's output, and the fast paths it measures against hand-computed values."""

from __future__ import annotations

import ast
import importlib
import itertools
import json
import math
import os
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import methods
from benchmark import perf
from benchmark.metrics import confusion_matrix, trimap_confusion
from benchmark.perf.timing import BEST_OF
from methods._functional import masked_mean, one_hot_target, pixel_cross_entropy

V = 255
ROOT = Path(__file__).resolve().parents[1]
PERF = ROOT / "benchmark" / "perf"
#: The package's shared machinery: what a section may import from the package.
SHARED = {"figure", "timing", "load", "machine", "inputs", "steps", "section", "floor"}


# --------------------------------------------------------------------------- the benchmark


def test_quick_benchmark_writes_every_figure(tmp_path):
    """One --quick run (about a minute: it starts Ray and trains small models)."""
    assert perf.main(["--quick", "--out", str(tmp_path), "--no-progress"]) == 0
    result = json.loads((tmp_path / "perf.json").read_text())
    assert result["config"] == "quick"
    assert list(result["sections"]) == list(perf.default_sections())
    assert result["torch_threads"]["used"] == 1
    assert {"cpu", "cores"} <= set(result["machine"]) and "torch" in result["versions"]
    figures = result["figures"]
    expected = {
        *(f"loss_overhead.{b}.{label}" for b in ("deeplabv2_resnet101", "deeplabv2_small") for label, _, _ in perf.loss_methods()[1:]),
        "limits.peak_fp32_gflops", *(f"limits.{name}.{what}" for name in methods.list_methods() for what in ("gflop_per_step", "fraction_fp32")),
        "edge_maps.speedup_vs_numpy", "edge_maps.speedup_vs_scipy", "edge_maps.torch_mpix_s",
        "trimap.float32_vs_plain", "trimap.uint8_vs_plain", "trimap.speedup_vs_dilation",
        "harness.ratio", "harness.trainer_img_s", "harness.bare_img_s",
        "sweep.smoke.speedup", "sweep.smoke.serial_s", "sweep.smoke.concurrent_s",
    }  # fmt: skip
    assert expected <= set(figures), expected - set(figures)
    for key, f in figures.items():
        for stat in ("median", "min", "max"):
            # a difference of two timings (the loader's share of a step) may dip below 0 on a busy machine
            assert math.isfinite(f[stat]) and (f[stat] > 0 or key == "harness.data_ms_per_step"), (key, stat, f[stat])
        assert f["min"] <= f["median"] <= f["max"] and f["repeats"] == len(f["values"]) >= 1
        assert (f["met"] is None) == (f["target"] is None), key
    assert figures["loss_overhead.deeplabv2_resnet101.ubernet"]["target"] == {"op": "<=", "value": 1.03}
    assert figures["loss_overhead.deeplabv2_resnet101.dice"]["target"] is None  # not one of the paper's methods
    assert ("limits.ppce.fraction_bf16" in figures) == perf.native_bf16() == ("limits.peak_bf16_gflops" in figures)
    # the edge net's passes add convolutions; the counted FLOPs do not depend on the precision
    assert figures["limits.semeda.gflop_per_step"]["median"] > figures["limits.ppce.gflop_per_step"]["median"]
    readme = (tmp_path / "README.md").read_text()
    assert readme.count("\n| ") == len(figures) + len(perf.default_sections())  # a header and a row per figure


def test_unknown_section_is_a_user_error(tmp_path, capsys):
    assert perf.main(["--only", "nope", "--out", str(tmp_path)]) == 2
    assert "valid sections" in capsys.readouterr().err


def test_suite_wall_runs_only_when_asked():
    def sections(*argv):
        return perf.selected_sections(perf.build_parser().parse_args(list(argv)))

    assert sections() == perf.default_sections() and "suite_wall" not in perf.default_sections()
    assert sections("--quick") == perf.default_sections()
    assert sections("--suite-wall") == (*perf.default_sections(), "suite_wall")
    assert sections("--only", "limits", "--suite-wall") == ("limits", "suite_wall")
    assert sections("--only", "suite_wall") == ("suite_wall",)


def test_sections_in_the_order_of_the_output():
    names = ("loss_overhead", "edge_maps", "trimap", "harness", "sweep", "evaluation", "limits", "suite_wall", "paper_scale", "levers",
             "agreement", "gpu", "distance_transforms", "distance_steps", "loader", "executors")
    assert perf.section_names() == names and perf.default_sections() == names[:-9]  # the last nine: only when asked for


def test_every_section_is_one_file_with_its_note_and_sizes():
    for name, section in perf.SECTIONS.items():
        module = importlib.import_module(f"benchmark.perf.{name}")
        assert section.measure is module.measure and section.sizes == module.SIZES
        assert set(section.sizes) == set(perf.CONFIGS)
        assert section.note == " ".join(module.__doc__.split()) and section.note
    for name in ("edge_maps", "trimap"):  # the notes say how many calls a repeat takes the best of
        assert f"best of {BEST_OF} calls" in perf.get_section(name).note


def test_sections_import_the_shared_machinery_and_no_private_name():
    """Imports point down: a section imports the package's shared modules, never another
    section nor the registry, runner, README writer or command line; and no module of the
    package takes another module's underscore names."""

    def private_name(name: str) -> bool:
        return name.startswith("_") and not name.startswith("__")  # dunders (__version__) are public
    for path in sorted(PERF.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        modules = {a.asname or a.name for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module != "__future__":
                private = [a.name for a in node.names if private_name(a.name)]
                assert not private, f"{path.name}: from {node.module} import {private}"
                if path.stem in perf.SECTIONS and node.module.startswith("benchmark.perf"):
                    assert node.module.rpartition(".")[2] in SHARED, f"section {path.stem} imports {node.module}"
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in modules:
                assert not private_name(node.attr), f"{path.name}:{node.lineno}: {node.value.id}.{node.attr}"


TOY_SECTION = '''"""A toy section: the answer, once per repeat. This docstring is its note in the README,
on one line."""

from benchmark.perf import Figure, register_section

SIZES = {"full": 3, "quick": 2}  # repeats


def measure(ctx):
    return [Figure("toy_section", "answer", f"the answer ({ctx.config})", "x", [42.0] * ctx.sizes, ("<=", 42))]


register_section(__name__)
'''


def test_a_new_section_is_one_file_and_one_registration(tmp_path):
    """A section of one's own, given to --import, runs alone with --only at its --quick sizes,
    and the README carries its docstring as its note."""
    (tmp_path / "toy_section.py").write_text(TOY_SECTION)
    out = tmp_path / "perf"
    cmd = [sys.executable, "-m", "benchmark.perf", "--import", str(tmp_path / "toy_section.py"), "--quick",
           "--only", "toy_section", "--out", str(out), "--no-progress"]  # fmt: skip
    done = subprocess.run(cmd, cwd=ROOT, env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads((out / "perf.json").read_text())
    assert result["config"] == "quick" and list(result["sections"]) == ["toy_section"]
    figure = result["figures"]["toy_section.answer"]
    assert figure["values"] == [42.0, 42.0] and figure["label"] == "the answer (quick)" and figure["met"] is True
    readme = (out / "README.md").read_text()
    note = "A toy section: the answer, once per repeat. This docstring is its note in the README, on one line."
    assert "## toy_section\n\n" + note + "\n" in readme
    assert "| the answer (quick) | 42 x | (42, 42) | 2 | <= 42 | yes |" in readme
    assert "toy_section.answer" in done.stdout


def test_suite_wall_of_the_smoke_suite():
    """The section on the smoke suite (the CLI flag times table1): a fresh data and run folder,
    the wall time, its ratio to the runs' own time per worker, its fixed costs read from the
    suite's console, and its compute floor."""
    figures = {f.key: f for f in perf.suite_wall(suite="smoke", scale="smoke", workers=2, progress=False)}
    assert set(figures) == {"smoke", "smoke_ratio", "smoke_preparation", "smoke_executor_start", "smoke_edge_nets_beside", "smoke_floor",
                            "smoke_floor_ratio", "smoke_training_floor_ratio"}  # fmt: skip
    wall, ratio = figures["smoke"], figures["smoke_ratio"]
    assert wall.unit == "s" and ratio.unit == "x" and wall.section == ratio.section == "suite_wall"
    extra = wall.extra
    assert extra["runs"] == 4 and extra["failed"] == 0 and extra["workers"] == 2 and extra["settings"] == []
    assert len(extra["load_before"]) == len(extra["load_after"]) == 3
    assert 0 < extra["sum_run_wall_s"] and ratio.median == pytest.approx(wall.median / (extra["sum_run_wall_s"] / 2))
    # preparation, Ray's start and the trials' start-up are outside the runs' own time
    assert ratio.median > 1
    assert 0 < figures["smoke_preparation"].median and 0 < figures["smoke_executor_start"].median
    assert figures["smoke_preparation"].median + figures["smoke_executor_start"].median < wall.median
    # From nothing, the edge net is fitted in the driver while PPCE and the Ubernet-style run train.
    assert 0 < figures["smoke_edge_nets_beside"].median < wall.median
    floor = figures["smoke_floor"].median
    assert floor == pytest.approx(extra["floor_s"]) and 0 < floor < extra["sum_run_train_s"] / 2
    assert figures["smoke_floor_ratio"].median == pytest.approx(wall.median / floor)
    assert figures["smoke_training_floor_ratio"].median == pytest.approx(extra["sum_run_train_s"] / 2 / floor)


def test_floor_is_the_runs_training_flops_over_the_cores_peak(monkeypatch):
    """Steps times one step's FLOPs, summed over runs, over (cores x peak); one count per
    distinct step (a second seed, or the same method at another clipping threshold, counts
    no step again)."""
    from benchmark import perf as package
    from benchmark.perf import floor
    from benchmark.spec import RunSpec, scale_settings

    def spec(method, seed=0, steps=100, **settings):
        return RunSpec(method=method, params=(), dataset="streets", backbone="deeplabv2_small", scale="small", seed=seed,
                       settings=scale_settings("small", "streets", steps=steps, **settings))  # fmt: skip

    per_step = {"ppce": 2e9, "ubernet": 3e9}
    counted = []

    def fake_count(fn):
        counted.append(fn)
        return per_step[current[0]]

    current = [None]
    real_step_flops_of = floor.step_flops_of

    def step_flops_of(s, cache=None):
        current[0] = s.method
        return real_step_flops_of(s, cache)

    monkeypatch.setattr(floor, "step_flops", fake_count)
    monkeypatch.setattr(floor, "step_flops_of", step_flops_of)
    specs = [spec("ppce"), spec("ppce", seed=1), spec("ppce", seed=2, grad_clip=None), spec("ubernet", steps=50)]
    # 3 x 100 x 2e9 + 50 x 3e9 = 7.5e11 FLOPs; on 2 cores of 1e9 FLOP/s: 375 s
    assert package.training_flops(specs) == 7.5e11
    assert len(counted) == 2
    assert package.floor_seconds(specs, 1e9, 2) == pytest.approx(375.0)


def test_loss_overhead_covers_every_registered_method_once():
    entries = perf.loss_methods()
    assert entries[: len(perf.LOSS_METHODS)] == list(perf.LOSS_METHODS) and entries[0][0] == "ppce"
    assert {name for _, name, _ in entries} == set(methods.list_methods())
    labels = [label for label, _, _ in entries]
    assert len(labels) == len(set(labels))
    assert "semeda" not in labels  # its default parameters are those of semeda(0,1,0)


# --------------------------------------------------------------------------- limits


def test_native_bf16_reads_the_cpu_flags(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx512f avx512_bf16\n\nprocessor\t: 1\n")
    assert perf.native_bf16(info)
    info.write_text("flags\t\t: fpu sse2 amx_tile amx_bf16\n")
    assert perf.native_bf16(info)
    info.write_text("flags\t\t: fpu sse2 avx512f avx512_fp16\n")
    assert not perf.native_bf16(info)
    assert not perf.native_bf16(tmp_path / "missing")


def test_step_flops_counts_products_not_elementwise_work():
    a, b = torch.randn(8, 16, requires_grad=True), torch.randn(16, 4)
    # forward 2*8*16*4; backward: the gradient of a only (b needs none), as many again
    assert perf.step_flops(lambda: (a @ b).exp().sum().backward()) == 2 * (2 * 8 * 16 * 4)
    x, w = torch.randn(1, 3, 5, 7), torch.randn(2, 3, 3, 3)
    assert perf.step_flops(lambda: F.conv2d(x, w, padding=1).relu()) == 2 * (5 * 7) * 2 * (3 * 9)


# --------------------------------------------------------------------------- reference edge maps


SQUARE = [[0, 0, 0, 0, 0], [0, 1, 1, 0, 0], [0, 1, 1, 0, 0], [0, 0, 0, 0, 0]]
SQUARE_EDGES = [[1, 1, 1, 1, 0], [1, 1, 1, 1, 0], [1, 1, 1, 1, 0], [1, 1, 1, 1, 0]]


@pytest.mark.parametrize("fn", [perf.edges_numpy_shift, perf.edges_scipy])
def test_reference_edge_maps_by_hand(fn):
    assert fn(np.array([SQUARE])).astype(int).tolist() == [SQUARE_EDGES]
    # void neighbours differ, void is never an edge, the border is not an edge
    assert fn(np.array([[[0, 0, V, 1, 1]] * 2])).astype(int).tolist() == [[[0, 1, 0, 1, 0]] * 2]


def test_disk_is_the_distance_below_the_width():
    assert perf.disk(1).tolist() == [[True]]
    assert perf.disk(2).all() and perf.disk(2).shape == (3, 3)
    d4 = perf.disk(4)  # 7x7 without the corners (distance sqrt(18) >= 4); (3, 2) is at sqrt(13) < 4
    assert d4.shape == (7, 7) and d4.sum() == 45 and not d4[0, 0] and d4[0, 1]


# --------------------------------------------------------------------------- fast paths of semantic_edges


def test_edges_of_labels_too_large_for_uint8():
    labels = torch.tensor([[[300, 300, 7], [300, 300, 300]]])
    assert methods.semantic_edges(labels).int().tolist() == [[[0, 1, 1], [0, 1, 1]]]


def test_edges_of_uint8_labels_with_an_ignore_index_they_cannot_hold():
    labels = torch.tensor([[[0, 0, 255, 255]]], dtype=torch.uint8)  # 255 is a class here
    assert methods.semantic_edges(labels, ignore_index=1000).int().tolist() == [[[0, 1, 1, 0]]]


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.int16])
def test_edges_of_a_batch_spanning_several_groups(dtype):
    # 40 images of 128x128 are processed in groups of 16: only the last image has an object.
    labels = torch.zeros(40, 128, 128, dtype=dtype)
    labels[-1, 5, 7] = 3
    edges = methods.semantic_edges(labels)
    assert edges[:-1].sum() == 0
    assert edges[-1].nonzero().tolist() == [[y, x] for y in (4, 5, 6) for x in (6, 7, 8)]


# --------------------------------------------------------------------------- fast paths of the confusion matrices


def test_target_ids_between_the_classes_and_void_are_rejected():
    target = torch.tensor([[0, 1, 100, V]])
    with pytest.raises(ValueError, match="non-void target in \\[0, 100\\]"):
        confusion_matrix(torch.zeros_like(target), target, 3)


@pytest.mark.parametrize("ignore", [0, 5000])  # void inside the classes, void past the int32 fast path
def test_confusion_matrix_with_unusual_ignore_index(ignore):
    target = torch.tensor([[1, 2, ignore, 2]])
    pred = torch.tensor([[1, 1, 2, 2]])
    # pairs (1,1) (2,1) (2,2); the void pixel is left out
    assert confusion_matrix(pred, target, 3, ignore_index=ignore).tolist() == [[0, 0, 0], [0, 1, 0], [0, 1, 1]]


def test_inputs_are_not_modified():
    pred = torch.tensor([[[0, 1], [1, 1]]], dtype=torch.int32)
    target = torch.tensor([[[0, 1], [V, 1]]], dtype=torch.int32)
    distance = torch.tensor([[[0, 1], [5, 3]]], dtype=torch.uint8)
    copies = [t.clone() for t in (pred, target, distance)]
    boundary, interior = trimap_confusion(pred, target, (1, 2), 2, distance=distance)
    assert all(torch.equal(a, b) for a, b in zip((pred, target, distance), copies))
    # width 1: pixel (0,0); width 2: also (0,1); (1,1) at distance 3 is interior at both
    assert boundary.tolist() == [[[1, 0], [0, 0]], [[1, 0], [0, 1]]]
    assert interior.tolist() == [[[0, 0], [0, 2]], [[0, 0], [0, 1]]]


# --------------------------------------------------------------------------- SEMEDA's cheaper passes


def test_one_hot_target_by_hand():
    fill = torch.tensor([[[[0.25, 0.75]], [[0.75, 0.25]]]])  # [1, 2, 1, 2]: two pixels, two classes
    target = torch.tensor([[[1, V]]])
    assert one_hot_target(target, fill).tolist() == [[[[0.0, 0.75]], [[1.0, 0.25]]]]


def _semeda_by_definition(net, logits, target, lambdas, relu):
    """Eq. (6)-(7) written out: two full edge-net passes, the target's without a graph."""
    total = pixel_cross_entropy(logits, target)
    layers = [l for l, lam in enumerate(lambdas) if lam > 0]
    probs = logits.softmax(1)
    valid = (target != V).unsqueeze(1)
    onehot = F.one_hot(target.masked_fill(~valid[:, 0], 0), logits.shape[1]).permute(0, 3, 1, 2).to(probs.dtype)
    with torch.no_grad():
        psi_target = net.embeddings(torch.where(valid, onehot, probs), layers[-1] + 1, relu)
    psi_pred = net.embeddings(probs, layers[-1] + 1, relu)
    for l in layers:
        total = total + lambdas[l] * masked_mean((psi_pred[l] - psi_target[l]).abs().sum(1), target != V)
    return total


@pytest.mark.parametrize("lambdas", [lam for lam in itertools.product((0, 1), (0, 0.5), (0, 0.25)) if any(lam)])
@pytest.mark.parametrize("relu", [False, True])
def test_semeda_loss_and_gradient_match_the_definition(lambdas, relu):
    torch.manual_seed(0)
    net = methods.EdgeNet(4).double()
    logits = torch.randn(2, 4, 7, 9, dtype=torch.float64)
    target = torch.randint(4, (2, 7, 9))
    target[0, :2, :3] = V
    a, b = logits.clone().requires_grad_(), logits.clone().requires_grad_()
    fast = methods.build_method("semeda", lambdas=lambdas, relu=relu, edge_net=net)(a, target)["total"]
    slow = _semeda_by_definition(net, b, target, lambdas, relu)
    fast.backward()
    slow.backward()
    assert fast.item() == pytest.approx(slow.item(), rel=1e-12)
    assert torch.allclose(a.grad, b.grad, rtol=1e-10, atol=1e-14)
    assert all(p.grad is None for p in net.parameters())


def test_update_replaces_only_the_sections_run_again():
    def fig(section, value):
        return {"section": section, "median": value}

    old = {"sections": {"trimap": {"seconds": 1}, "sweep": {"seconds": 2}},
           "figures": {"trimap.a": fig("trimap", 1.0), "sweep.b": fig("sweep", 1.2)}}  # fmt: skip
    new = {"config": "full", "sections": {"sweep": {"seconds": 3}}, "figures": {"sweep.c": fig("sweep", 1.7)}}
    out = perf.merged(old, new)
    assert list(out["sections"]) == ["trimap", "sweep"] and out["sections"]["sweep"] == {"seconds": 3}
    assert out["figures"] == {"trimap.a": fig("trimap", 1.0), "sweep.c": fig("sweep", 1.7)}


# --------------------------------------------------------------------------- distance-based losses


def test_distance_sections_time_every_backend_and_hold_the_small_step_to_its_targets(tmp_path):
    """Both sections at their --quick sizes: a figure per backend, the small scale's ratios with
    their targets, and on a CPU the device's time is the host's."""
    assert perf.main(["--quick", "--only", "distance_transforms,distance_steps", "--out", str(tmp_path), "--no-progress"]) == 0
    figures = json.loads((tmp_path / "perf.json").read_text())["figures"]
    backends = [b for b in methods.available_backends() if b != "cupy" or torch.cuda.is_available()]
    for backend in backends:
        for key in ("boundary_maps", "hausdorff_maps", "speedup_vs_before"):
            assert figures[f"distance_transforms.{key}.{backend}"]["median"] > 0
    assert figures["distance_steps.small.boundary_vs_ppce"]["target"] == {"op": "<=", "value": 1.25}
    assert figures["distance_steps.small.hausdorff_dt_vs_ppce"]["target"] == {"op": "<=", "value": 1.5}
    assert figures["distance_steps.paper.boundary_vs_ppce"]["target"] is None
    for scale in ("small", "paper"):
        for name in ("ppce", "boundary", "hausdorff_dt"):
            host, device = figures[f"distance_steps.{scale}.{name}.host_ms"], figures[f"distance_steps.{scale}.{name}.device_ms"]
            assert host["median"] > 0 and device["median"] > 0
            if not torch.cuda.is_available():
                assert device["values"] == host["values"] and device["device_is_host"]
        for name in ("boundary", "hausdorff_dt"):  # the target's maps, made with the batch: their cost, and the step with it
            maps = figures[f"distance_steps.{scale}.{name}.target_maps_ms"]
            with_maps = figures[f"distance_steps.{scale}.{name}_with_maps_vs_ppce"]
            assert maps["median"] > 0 and with_maps["target"] is None
            assert with_maps["median"] > figures[f"distance_steps.{scale}.{name}_vs_ppce"]["median"]


def test_executors_section_times_both_executors_in_turns_and_holds_ray_to_twice_inline(monkeypatch):
    from benchmark.perf import executors
    from benchmark.perf.section import Context

    calls = []
    seconds = {"inline": 10.0, "ray": 25.0}

    def fake(suite, scale, executor, out, data):
        calls.append((executor, out.name))
        return seconds[executor]

    monkeypatch.setattr(executors, "_suite_seconds", fake)
    figures = {f.key: f for f in executors.measure(Context("full", executors.SIZES["full"], torch.device("cpu"), progress=False))}
    # an untimed inline pass prepares the data, then each repeat a fresh folder, the order alternating
    assert calls == [("inline", "warm-up"), ("ray", "ray-0"), ("inline", "inline-0"), ("inline", "inline-1"), ("ray", "ray-1")]
    ratio = figures["table1_smoke.ray_vs_inline"]
    assert ratio.values == [2.5, 2.5] and ratio.target == ("<=", 2.0)
    assert figures["table1_smoke.ray_s"].values == [25.0, 25.0] and figures["table1_smoke.inline_s"].values == [10.0, 10.0]


def test_loader_section_checks_both_paths_agree_and_rates_them(monkeypatch):
    """The loader section on two 2048x1024 images, one repeat: a rate per path, the ratios, the cores."""
    from benchmark.perf import loader

    figures = {f.key: f for f in loader.measure(perf.Context("quick", (2, 1), torch.device("cpu"), progress=False))}
    assert set(figures) == {"decoded_samples_s", "png_samples_s", "speedup", "read_speedup", "cores_for_a_paper_step",
                            "png_cores_for_a_paper_step"}  # fmt: skip
    assert figures["speedup"].target == (">=", 5.0) and all(f.median > 0 for f in figures.values())
    assert figures["cores_for_a_paper_step"].median == pytest.approx(400 / figures["decoded_samples_s"].median)


# --------------------------------------------------------------------------- levers, agreement


def test_levers_section_times_each_lever_against_the_default_step(monkeypatch):
    """The section on PPCE with three of its variants: a ratio per lever, a compilation time."""
    from benchmark.perf import levers

    monkeypatch.setattr(levers, "VARIANTS", levers.VARIANTS[:3])  # default, channels_last, compile
    torch._dynamo.reset()  # nothing compiled by an earlier test: the compilation is timed
    context = perf.Context("quick", (("ppce",), 2, 1), torch.device("cpu"), progress=False)
    figures = {f.key: f for f in levers.measure(context)}
    assert set(figures) == {"ppce.channels_last", "ppce.compile", "compile_s.ppce.compile", "focal_term.vs_smp", "lovasz_term.vs_smp"}
    for key in ("ppce.channels_last", "ppce.compile"):
        f = figures[key]
        assert f.unit == "x" and len(f.values) == 2 and all(v > 0 for v in f.values)
        assert f.median == pytest.approx(statistics.median(f.values)) and f.extra["default_ms_per_step"] > 0
    assert figures["ppce.compile"].extra["settings"] == {"compile": True}
    compiled = figures["compile_s.ppce.compile"]
    assert compiled.unit == "s" and compiled.median >= 0 and compiled.extra["graphs"] == 1  # PPCE's loss: one graph
    assert figures["focal_term.vs_smp"].extra["bit_identical"] and figures["lovasz_term.vs_smp"].extra["bit_identical"]


def test_agreement_rule_on_hand_computed_t_intervals():
    from benchmark.perf.agreement import agreement

    t2, t4 = 4.302653, 2.776445  # t_{0.975, 2}, t_{0.975, 4} from a table
    # mean 0.2, deviations 0, -0.3, 0.3: s = 0.3; half-width 4.302653 * 0.3 / sqrt(3) = 0.7452
    check = agreement([0.2, -0.1, 0.5])
    half = t2 * 0.3 / math.sqrt(3)
    assert check.mean == pytest.approx(0.2) and (check.low, check.high) == pytest.approx((0.2 - half, 0.2 + half), abs=1e-5)
    assert check.agree and check.extent == pytest.approx(0.9452, abs=1e-4)
    # mean 1.0 > 0.5, although the interval (0.503, 1.497) lies within 1.5
    check = agreement([1.0, 1.2, 0.8])
    assert (check.low, check.high) == pytest.approx((1 - t2 * 0.2 / math.sqrt(3), 1 + t2 * 0.2 / math.sqrt(3)), abs=1e-5)
    assert check.high < 1.5 and not check.agree
    # mean 0.4 <= 0.5, but s = 1: the interval (-2.08, 2.88) reaches past 1.5
    check = agreement([0.4, -0.6, 1.4])
    assert check.low == pytest.approx(0.4 - t2 / math.sqrt(3), abs=1e-5) and not check.agree
    # five seeds: mean 0.3, s = sqrt(0.025); half-width 2.776445 * 0.158114 / sqrt(5) = 0.1963
    check = agreement([0.1, 0.2, 0.3, 0.4, 0.5])
    assert check.high == pytest.approx(0.3 + t4 * math.sqrt(0.025) / math.sqrt(5), abs=1e-5) and check.agree
    # one pair: no interval, no agreement
    check = agreement([0.1])
    assert math.isnan(check.low) and math.isnan(check.extent) and not check.agree


def test_agreement_section_pairs_each_fast_run_with_its_default_run(tmp_path, capsys):
    from benchmark.records import write_record
    from benchmark.spec import RunSpec
    from benchmark.suites import FAST_SETTINGS

    def record(method, seed, miou, fast, status="ok", f1=0.99, **params):
        """``fast``: True for all of ``FAST_SETTINGS``, a dict for some, False for none."""
        overrides = dict(FAST_SETTINGS) if fast is True else fast or None
        spec = RunSpec.create(method, params=params, scale="smoke", seed=seed, overrides=overrides)
        edge_net = {"edge_net": {"alpha": 5.0, "sigma": 1.0, "f1": f1, "peak": 0.9}} if method == "semeda" else {}
        write_record(fast_runs if fast else default_runs, {"run_id": spec.run_id("v1"), "spec": spec.to_dict(), "data_version": "v1",
                     "status": status, "metrics": {"miou": miou} if status == "ok" else {}, **edge_net})  # fmt: skip

    # the default runs in one folder (Table 1's), the fast runs in another: read together
    default_runs, fast_runs = tmp_path / "runs", tmp_path / "fast"

    # PPCE: fast - default = +0.2, -0.1, +0.5 points (the first case above): agrees
    for seed, (default, fast) in enumerate([(0.500, 0.502), (0.520, 0.519), (0.480, 0.485)]):
        record("ppce", seed, default, False)
        record("ppce", seed, fast, True)
    # SEMEDA: seed 1's fast run failed, seed 2 has no default run, seed 3's runs read two edge nets: unpaired
    record("semeda", 0, 0.60, False, lambdas=(0, 1, 0))
    record("semeda", 0, 0.61, True, lambdas=(0, 1, 0))
    record("semeda", 1, 0.60, False, lambdas=(0, 1, 0))
    record("semeda", 1, None, True, status="failed", lambdas=(0, 1, 0))
    record("semeda", 2, 0.60, True, lambdas=(0, 1, 0))
    record("semeda", 3, 0.60, False, lambdas=(0, 1, 0))
    record("semeda", 3, 0.60, True, f1=0.98, lambdas=(0, 1, 0))
    record("ppce", 5, 0.5, False)  # a default run alone: nothing to check
    # channels-last alone, seeds 0 and 1 beside the same default runs: its own row, -0.3 and +0.4 points
    for seed, miou in ((0, 0.497), (1, 0.524)):
        record("ppce", seed, miou, {"memory_format": "channels_last"})
    out = tmp_path / "perf"
    assert perf.main(["--only", "agreement", "--records", str(default_runs), str(fast_runs), "--out", str(out), "--no-progress"]) == 0
    figures = json.loads((out / "perf.json").read_text())["figures"]
    fast = "compile=true,memory_format=channels_last,precision=bf16"
    ppce = f"agreement.streets_deeplabv2_small_smoke_scratch.ppce.{fast}"
    assert figures[f"{ppce}.mean"]["median"] == pytest.approx(0.2) and figures[f"{ppce}.mean"]["met"]
    assert figures[f"{ppce}.interval"]["median"] == pytest.approx(0.2 + 4.302653 * 0.3 / math.sqrt(3), abs=1e-4)
    assert figures[f"{ppce}.interval"]["met"] and figures[f"{ppce}.unpaired"]["met"] and figures[f"{ppce}.mean"]["agree"]
    assert figures[f"{ppce}.mean"]["differences"] == pytest.approx({"0": 0.2, "1": -0.1, "2": 0.5})
    semeda = f"agreement.streets_deeplabv2_small_smoke_scratch.semeda(0,1,0)_before_ReLU.{fast}"
    assert figures[f"{semeda}.unpaired"]["median"] == 3 and not figures[f"{semeda}.unpaired"]["met"]
    assert figures[f"{semeda}.mean"]["unpaired"] == ["s1 failed", "s2 no default run", "s3 another edge net (F1 0.98 against 0.99)"]
    assert figures[f"{semeda}.mean"]["differences"] == pytest.approx({"0": 1.0}) and not figures[f"{semeda}.mean"]["agree"]
    layout = "agreement.streets_deeplabv2_small_smoke_scratch.ppce.memory_format=channels_last"
    assert figures[f"{layout}.mean"]["differences"] == pytest.approx({"0": -0.3, "1": 0.4})
    assert figures[f"{layout}.mean"]["median"] == pytest.approx(0.05)  # |(-0.3 + 0.4) / 2|
    assert len([k for k in figures if k.startswith("agreement.")]) == 9
    assert figures[f"{ppce}.mean"]["records"] == f"{default_runs}, {fast_runs}"
    # the section keeps the commit it ran at (the file's own stamp is the latest run's under --update)
    result = json.loads((out / "perf.json").read_text())
    commit = result["versions"]["git_commit"]
    assert result["sections"]["agreement"]["commit"] == commit
    assert commit is None or f"(commit {commit[:10]})" in (out / "README.md").read_text()
    # a folder that is not there is a one-line error before anything runs
    assert perf.main(["--only", "agreement", "--records", str(tmp_path / "missing"), "--out", str(out)]) == 2
    assert "--records" in capsys.readouterr().err


def test_agreement_suite_checks_each_lever_alone_and_all_together():
    from benchmark.suites import AGREEMENT_ROWS, SUITES

    overrides = [dict(row.overrides) for row in AGREEMENT_ROWS if row.method == "ppce"]
    assert overrides == [{}, {"compile": True}, {"memory_format": "channels_last"}, {"precision": "bf16"},
                         {"compile": True, "memory_format": "channels_last", "precision": "bf16"}]
    assert [row.method for row in SUITES["agreement"].rows].count("semeda") == 5


def test_gpu_section_runs_end_to_end_on_any_device_and_times_each_precision():
    """The device check's logic on the CPU at tiny sizes (no GPU here): both runs end to end, a
    paper-scale step per precision the device runs; on CUDA every precision is timed."""
    from benchmark.perf import gpu, limits

    assert gpu.device_precisions(torch.device("cuda")) == ("fp32", "tf32", "bf16", "fp16")
    assert gpu.device_precisions(torch.device("cpu")) == ("fp32", "bf16")
    assert list(limits.step_precisions(torch.device("cuda"))) == ["fp32", "tf32", "bf16", "fp16"]
    context = perf.Context("quick", ("smoke", 1, (17, 17), 1, 1), torch.device("cpu"), progress=False)
    figures = {f.key: f for f in gpu.measure(context)}
    for run in ("ppce", "semeda_010"):
        assert 0 <= figures[f"{run}.miou"].median <= 100 and figures[f"{run}.steps_per_s"].median > 0
    assert {"paper_step_fp32_s", "paper_step_bf16_s", "paper_step_bf16_speedup"} <= set(figures)
    assert not any("fp16" in key or "tf32" in key for key in figures)  # CUDA's alone
    assert all(math.isfinite(v) and v > 0 for f in figures.values() for v in f.values if "miou" not in f.key)


def test_a_figure_next_to_its_bound_prints_the_digits_that_tell_them_apart():
    from benchmark.perf.readme import fmt

    assert fmt(1.0231) == "1.02" and fmt(1.0231, near=1.03) == "1.02"  # 3 digits already differ
    assert fmt(1.0306, near=1.03) == "1.031" and fmt(1.0333, near=1.03) == "1.033"
    assert fmt(1.03, near=1.03) == "1.03"  # the bound itself
    assert fmt(1.030004, near=1.03) == "1.03"  # 6 digits at most
    assert fmt(2132.4, near=1.03) == "2132"
