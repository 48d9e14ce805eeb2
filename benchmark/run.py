"""Command line: run one spec, or a whole suite.

    python -m benchmark.run --method semeda --lambdas 0,1,0 --dataset streets --seed 0
    python -m benchmark.run --suite table1 [--seeds 3] [--address auto]

Records go to ``--out`` (default ``runs/``), one JSON file per run.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch

import methods
from benchmark.cli import (ArgumentParser, UserError, add_import_option, import_from_argv, import_plugins, main_guard, one_line,
                           parse_assignments, parse_overrides)  # fmt: skip
from benchmark.data import dataset_info
from benchmark.models import list_backbones
from benchmark.records import PREDICTIONS_KEY, CorruptRecord, read_record, record_path, write_predictions, write_record
from benchmark.spec import DEFAULT_BACKBONES, SCALES, RunSpec
from benchmark.suites import SUITES, expand, get_suite, inits, list_suites
from benchmark.sweep.options import EXECUTORS
from benchmark.validate import check_flags, check_outputs, check_resources, check_specs



def build_parser() -> argparse.ArgumentParser:
    p = ArgumentParser(
        prog="python -m benchmark.run",
        description="Train and evaluate structure-loss runs; one JSON record per run in --out.",
    )
    what = p.add_argument_group("what to run")
    what.add_argument("--suite", help=f"run a whole suite through Ray Tune: {', '.join(list_suites())}")
    what.add_argument("--method", default="ppce", help=f"method of a single run: {', '.join(methods.list_methods())} (default: ppce)")
    what.add_argument("--lambdas", help="comma-separated loss weights, e.g. 0,1,0 for semeda (default: the method's); "
                      "short for --param lambdas=...")  # fmt: skip
    what.add_argument("--relu", action="store_true", help="short for --param relu=true (semeda: match the edge-net embeddings after ReLU)")
    what.add_argument("--param", action="append", metavar="KEY=VALUE",
                      help="a parameter of the method of a single run (repeatable; not with --suite, whose rows carry "
                      "their own): the value is read as JSON where it parses, else as text, e.g. --param gamma=2, "
                      "--param lambdas=[0,1,0], --param relu=true, --param channels=mean")  # fmt: skip
    what.add_argument("--dataset", default="streets", help="streets, shapes (embedded synthetic), cityscapes, voc (from --data-root); default: streets")
    what.add_argument("--backbone", help="deeplabv2_small, deeplabv2_resnet101 or smp:<Arch>:<encoder> (default: by scale)")
    what.add_argument("--scale", choices=list(SCALES), help="smoke (tests), small (embedded default), paper (default: small, or the suite's)")
    what.add_argument("--seed", type=int, default=0, help="seed of one run: initialisation, data order, augmentation (default: 0)")
    what.add_argument("--init", help="name of the initialisation, recorded with the run (default: scratch, or with --weights the "
                      "weights file's name without its extension)")  # fmt: skip
    what.add_argument("--weights", help="pre-trained weights file (torchvision ResNet-101 state dict, or a saved model)")
    what.add_argument("--set", action="append", metavar="KEY=VALUE",
                      help="override a setting, e.g. --set steps=200, --set crop=64,64, --set grad_clip=none (repeatable)")  # fmt: skip
    suite = p.add_argument_group("suites (with --suite)")
    suite.add_argument("--seeds", type=int, help="seeds per row: 0..N-1 (default: the suite's, 3 for the tables; table1 adds "
                       "seeds up to 10 where a verdict hinges, by the rule of docs/protocol.md)")
    suite.add_argument("--methods", help="comma-separated methods to keep from the suite")
    suite.add_argument("--datasets", help="comma-separated datasets instead of the suite's")
    suite.add_argument("--backbones", help="comma-separated backbones (default: by scale)")
    suite.add_argument("--weights-imagenet", help="paper scale: torchvision ResNet-101 ImageNet state dict")
    suite.add_argument("--weights-coco", help="paper scale: ImageNet+COCO weights converted to the torchvision layout")
    suite.add_argument("--grid", help="leaderboard: multipliers on each loss's default lambdas to search, e.g. 1/9,1,9 "
                       "(default: 1/27,1/9,1/3,1,3,9,27)")
    suite.add_argument("--dry-run", action="store_true", help="print the run list (and which records exist), run nothing")
    suite.add_argument("--executor", choices=EXECUTORS, default=EXECUTORS[0],
                       help="ray: runs as Ray Tune trials, on this machine or --address (default); inline: one run at a time "
                       "in this process, Ray never imported (a debugger, the smallest machines, a GPU box without Ray)")  # fmt: skip
    suite.add_argument("--address", help="Ray cluster to run on (auto, ray://host:port, host:port; or RAY_ADDRESS); default: local Ray")
    suite.add_argument("--cpus-per-trial", type=float, default=1, help="CPUs (and torch threads) per trial (default: 1)")
    suite.add_argument("--gpus-per-trial", type=float, help="GPUs per trial (default: none on a cluster without GPUs; 1/4 at the smoke and small "
                       "scales, whose runs share a GPU; 1 at the paper scale)")
    suite.add_argument("--max-concurrent", type=int, help="cap on trials running at once (default: as resources allow)")
    suite.add_argument("--retries", type=int, default=2, help="times a failed trial is retried before it is recorded as failed (default: 2)")
    suite.add_argument("--retry-failed", action="store_true", help="re-run runs whose record says failed (a single run's too)")
    suite.add_argument("--redo-outdated", action="store_true",
                       help="re-run runs whose record holds a metric made under an earlier definition (its tables mark "
                       "such cells '(def. k)'); the new record replaces the old one")  # fmt: skip
    suite.add_argument("--storage-path", help="Ray Tune's trial state and checkpoints; on a cluster, storage every node sees")
    suite.add_argument("--no-report", action="store_true", help="do not rebuild the suite's tables after it")
    suite.add_argument("--verbose", action="store_true", help="Ray Tune's own console reporting too (default: one line per run)")
    io = p.add_argument_group("input and output")
    io.add_argument("--data-root", help="root of a real dataset in its official layout (cityscapes, voc)")
    io.add_argument("--out", default="runs", help="folder of the run records (default: runs)")
    io.add_argument("--save-weights", metavar="PATH", help="keep the final weights of a single run in PATH")
    io.add_argument("--force", action="store_true", help="re-run even when the record exists")
    io.add_argument("--keep-predictions", action="store_true",
                    help="keep every validation prediction beside the record (<run_id>.pred.npz), so a metric added "
                         "later can be computed without training again")
    io.add_argument("--threads", type=int, help="torch CPU threads of a single run (default: 1, as each trial of a suite; the "
                    "thread count changes a CPU run's last bits)")  # fmt: skip
    io.add_argument("--device", default="auto", help="where runs train: auto (CUDA where there is a GPU, else the CPU), cpu, cuda, "
                    "or cuda:K (default: auto); a suite's trials given no GPU run on the CPU")  # fmt: skip
    io.add_argument("--no-progress", action="store_true", help="no progress bars")
    add_import_option(io)
    return p


def spec_from_args(args) -> RunSpec:
    params = parse_assignments(args.param, "--param", "gamma=2")
    # The shorthands; the registry rejects a parameter the method does not take.
    for key, value in (("lambdas", args.lambdas), ("relu", True if args.relu else None)):
        if value is not None:
            if key in params:
                raise UserError(f"--{key} and --param {key}=... both given; give one")
            params[key] = value
    scale = args.scale or "small"
    backbone = args.backbone or DEFAULT_BACKBONES[scale]
    if not backbone.startswith("smp:") and backbone not in list_backbones():
        raise ValueError(f"unknown backbone {backbone!r}; valid: {', '.join(list_backbones())}, smp:<Arch>:<encoder>")
    if args.weights and not Path(args.weights).is_file():
        raise FileNotFoundError(f"weights file not found: {args.weights} (pass --weights with an existing file)")
    return RunSpec.create(
        args.method, params=params, scale=scale, dataset=args.dataset, overrides=parse_overrides(args.set),
        backbone=backbone, seed=args.seed, init=init_name(args.init, args.weights),
        weights=str(Path(args.weights).resolve()) if args.weights else None,
    )  # fmt: skip


def init_name(init: str | None, weights: str | None) -> str:
    """The initialisation a single run records: ``--init`` as given; without it, ``scratch``, or
    with ``--weights`` the weights file's name without its extension (``m.pt`` -> ``m``), so a
    run from weights is never counted as one from scratch."""
    if not weights:
        return init or "scratch"
    name = init or Path(weights).stem
    if name == "scratch":
        raise UserError(f"--weights {weights} loads pre-trained weights, which is not scratch: name the initialisation with "
                        "--init NAME (e.g. --init imagenet), or drop --weights")  # fmt: skip
    return name


def note_reference(existing: Path | None, run_id: str, here: dict) -> None:
    """Before a run trains: one line when the record it replaces (``existing``), or else the
    committed record of the same run id (``rounding.reference_record``), was made under another
    rounding environment, so its numbers may not be reproduced to the last bit."""
    from benchmark.records import CorruptRecord
    from benchmark.rounding import difference_text, differences, recorded_environment, reference_record

    path = existing or reference_record(run_id)
    try:
        found = differences(recorded_environment(read_record(path)), here) if path else []
    except CorruptRecord:
        return
    if found:
        print(f"note: {path} was made under another rounding environment ({difference_text(found)}): this run can differ from it "
              "in the last bits, and a long run by more", flush=True)  # fmt: skip


def print_summary(record: dict, path: Path, here: dict | None = None) -> None:
    """The run's metrics on the console; with ``here`` (the environment a run here would have,
    ``rounding.expected_environment``), a line first when the record was made under another."""
    from benchmark.rounding import reuse_note

    note = reuse_note(record, here) if here else None
    if note:
        print(note)
    m = record.get("metrics") or {}
    if record["status"] != "ok":
        print(f"{record['run_id']}: FAILED ({record.get('reason')})  -> {path}")
        return
    t = m.get("trimap") or {}
    wall = (record.get("timing") or {}).get("wall_s")
    print(f"{record.get('label') or record['run_id']}  [{record['run_id']}]")
    print(f"  mIoU {_percent(m.get('miou'), '.2f')}   wall {f'{wall:.0f}' if wall is not None else '-'} s on {record.get('device')}")
    if t.get("widths"):
        print("  trimap width   " + "  ".join(f"{w:>5g}" for w in t["widths"]))
        print("  boundary mIoU  " + "  ".join(_percent(v, '5.1f') for v in t.get("boundary_miou") or ()))
        print("  interior mIoU  " + "  ".join(_percent(v, '5.1f') for v in t.get("interior_miou") or ()))
    boundary = [f"{name} {100 * value:.1f}" for name, value in sorted(m.items())
                if name.startswith(("biou_d", "bf_t")) and value is not None]  # fmt: skip
    if boundary:
        print("  boundary metrics  " + "   ".join(boundary))
    print(f"  record: {path}")


def _percent(value, spec: str) -> str:
    return format(100 * value, spec) if value is not None else "-"


def reuse_record(path: Path, retry_failed: bool = False, here: dict | None = None) -> int | None:
    """A single run whose record exists: its summary and 0 when it is a finished run; when it
    failed, None (run it again) with ``retry_failed``, else 1, saying how to run it again (a
    failed record is never reused silently); a ``UserError`` naming the file when it cannot
    be read or holds no metrics."""
    try:
        record = read_record(path)
    except CorruptRecord as err:
        raise UserError(f"{err}; re-run with --force to replace it") from None
    if record["status"] != "ok":
        if retry_failed:
            return None
        print(f"record exists: {path} says the run FAILED ({one_line(str(record.get('reason')))[:300]}); to run it again, give "
              "the same command with --retry-failed or --force", file=sys.stderr)  # fmt: skip
        return 1
    if not isinstance(record.get("metrics"), dict) or record["metrics"].get("miou") is None:
        raise UserError(f"{path}: the record of a finished run without metrics (made by hand or by another tool?); "
                        "re-run with --force to replace it")  # fmt: skip
    print("record exists (use --force to re-run):")
    print_summary(record, path, here)
    return 0


def run_single(args) -> int:
    from benchmark.arithmetic import check_precision, pick_device
    from benchmark.prepare import prepare
    from benchmark.rounding import expected_environment
    from benchmark.train import train

    spec = spec_from_args(args)
    device = pick_device(args.device)
    check_precision(spec.settings.precision, device.type)
    out = check_single_run(args, spec)
    torch.set_num_threads(args.threads or 1)  # as a suite's trial: the same floats as its record
    prepared = prepare(spec, data_root=args.data_root, progress=not args.no_progress)
    run_id = spec.run_id(prepared.data_version)
    path = record_path(out, run_id)
    here = expected_environment(device.type, torch.get_num_threads(), spec.settings.precision, device)
    if path.exists() and not args.force:
        code = reuse_record(path, args.retry_failed, here)
        if code is not None:
            return code
    note_reference(path if path.exists() else None, run_id, here)
    started = time.time()
    try:
        record = train(spec, prepared=prepared, progress=not args.no_progress, save_weights=args.save_weights,
                       keep_predictions=args.keep_predictions, device=device)  # fmt: skip
    except (ValueError, FileNotFoundError, KeyboardInterrupt):
        raise  # user errors and Ctrl-C: no record
    except Exception as err:  # a crash inside training is recorded as a failed run
        record = {"run_id": run_id, "spec": spec.to_dict(), "label": spec.label(), "status": "failed",
                  "reason": f"{type(err).__name__}: {err}", "timing": {"wall_s": time.time() - started}}  # fmt: skip
    kept = record.pop(PREDICTIONS_KEY, None)
    if kept is not None:
        write_predictions(out, record["run_id"], kept)
    path = write_record(out, record)
    print_summary(record, path)
    return 0 if record["status"] == "ok" else 1


def _csv(text: str | None) -> list[str] | None:
    return [t.strip() for t in text.split(",") if t.strip()] if text else None


def suite_specs(args, *, pretrain: bool = True) -> list[RunSpec]:
    """The suite's specs; at the embedded scale its "synthetic-pretrained" column is
    pre-trained first (skipped with ``pretrain=False``, e.g. for a dry run, unless done)."""
    weights = {}
    for init, path in (("imagenet", args.weights_imagenet), ("imagenet+coco", args.weights_coco)):
        if path:
            if not Path(path).is_file():
                raise FileNotFoundError(f"weights file not found: {path}")
            weights[init] = str(Path(path).resolve())
    backbones = _csv(args.backbones) or [None]
    specs = []
    for backbone in backbones:
        if "synthetic-pretrained" in inits(args.suite, args.scale):
            weights["synthetic-pretrained"] = _pretrained(args, backbone, pretrain)
        specs += expand(
            args.suite, scale=args.scale, seeds=args.seeds, methods=_csv(args.methods), datasets=_csv(args.datasets),
            backbone=backbone, weights=weights, overrides=parse_overrides(args.set),
        )  # fmt: skip
    if not specs:  # every initialisation of the suite at this scale needs a weights file
        flags = {"imagenet": "--weights-imagenet FILE", "imagenet+coco": "--weights-coco FILE"}
        needed = [flags.get(i, i) for i in inits(args.suite, args.scale) if i != "scratch"]
        raise UserError(f"--suite {args.suite} at the {args.scale or get_suite(args.suite).scale} scale starts from pre-trained "
                        f"weights: pass {' or '.join(needed)} (a torchvision ResNet-101 state dict; --weights FILE for one run)")  # fmt: skip
    steps = get_suite(args.suite).seed_steps
    if steps and args.seeds is None:
        # Seeds added where a verdict hinges, read from the records in --out (a given --seeds overrides the rule).
        from benchmark.seed_rule import recorded_miou, widen

        specs = widen(specs, recorded_miou(Path(args.out).resolve(), _data_versions(specs, args)), steps)
    return specs


def _pretrained(args, backbone: str | None, train_missing: bool) -> dict[str, str]:
    from benchmark.pretrain import ensure_pretrained, pretrain_spec
    from benchmark.prepare import prepare

    scale = args.scale or "small"
    paths = {}
    for dataset in _csv(args.datasets) or SUITES[args.suite].datasets["embedded"]:
        if train_missing:
            paths[dataset] = str(ensure_pretrained(dataset, scale, args.out, backbone=backbone, progress=not args.no_progress))
        else:
            spec = pretrain_spec(dataset, scale, backbone)
            path = Path(args.out).resolve() / "pretrained" / f"{spec.run_id(prepare(spec, edge_net=False, check=False).data_version)}.pt"
            if path.exists():
                paths[dataset] = str(path)
            else:
                print(f"note: the synthetic-pretrained runs of {dataset} are listed once pre-training has run")
    return paths


def check_suite_args(args) -> None:
    """What can be checked of a suite's command line before any work (pre-training, data,
    Ray): its flags, names, seeds and setting values; the trials' resources, the output
    paths, the weights files and the losses of one's own (``benchmark.validate``)."""
    for flag, given in (("--param", args.param), ("--lambdas", args.lambdas), ("--relu", args.relu)):
        if given:
            raise UserError(f"{flag} applies to single runs; a suite's rows carry their own parameters (narrow them with --methods)")
    suite = get_suite(args.suite)  # an unknown name raises, listing the valid ones
    for backbone in _csv(args.backbones) or [None]:
        # Without weights files only the scratch columns are built: names, seeds and settings are checked, nothing runs.
        expand(args.suite, scale=args.scale or suite.scale, seeds=args.seeds, methods=_csv(args.methods),
               datasets=_csv(args.datasets), backbone=backbone, overrides=parse_overrides(args.set))  # fmt: skip
    check_resources(sweep_options(args))
    check_suite_specs(args)
    check_outputs(args)  # last: it creates the folders


def check_single_run(args, spec: RunSpec) -> Path:
    """What a single run's command line names, checked before any work (``benchmark.validate``);
    returns ``--out``, resolved."""
    if args.data_root and dataset_info(spec.dataset).synthetic and spec.scale != "paper":
        raise UserError(f"--data-root is read by the real datasets; {spec.dataset} is synthetic: give --dataset cityscapes or "
                        "--dataset voc, or leave out --data-root")  # fmt: skip
    check_specs([spec], {spec.weights: "--weights"} if spec.weights else None)
    spec.check_trainable()  # after check_specs: a synthetic set at the paper scale is named first
    return check_outputs(args)  # last: it creates the folders


def check_suite_specs(args) -> None:
    """A suite's runs as the weights files given make them (the synthetic-pretrained column,
    which pre-training makes, aside), checked before any work (``benchmark.validate``)."""
    suite = get_suite(args.suite)
    given = {"imagenet": ("--weights-imagenet", args.weights_imagenet), "imagenet+coco": ("--weights-coco", args.weights_coco)}
    weights = {init: str(Path(path).resolve()) for init, (_, path) in given.items() if path}
    flags = {str(Path(path).resolve()): flag for flag, path in given.values() if path}
    for path, flag in flags.items():
        if not Path(path).is_file():
            raise UserError(f"{flag} {path}: no such file; give the path of a weights file")
    specs = []
    for backbone in _csv(args.backbones) or [None]:
        specs += expand(args.suite, scale=args.scale or suite.scale, seeds=1, methods=_csv(args.methods),
                        datasets=_csv(args.datasets), backbone=backbone, weights=weights, overrides=parse_overrides(args.set))  # fmt: skip
    check_specs(specs, flags)


def leaderboard_of(args):
    """The ``Leaderboard`` a ``--suite`` command of a tuned suite describes."""
    from benchmark.leaderboard import Leaderboard, all_methods
    from benchmark.tuning import DEFAULT_GRID, parse_grid

    suite = get_suite(args.suite)
    scale = args.scale or suite.scale
    backbones = _csv(args.backbones) or [DEFAULT_BACKBONES[scale]]
    if len(backbones) > 1:
        raise UserError("--suite leaderboard searches one backbone at a time; give one --backbones")
    family = "paper" if scale == "paper" else "embedded"
    init = suite.inits[family][0]
    weights = None
    if init != "scratch":
        if not args.weights_imagenet:
            raise UserError(f"--suite {args.suite} at the {scale} scale starts from {init} weights: pass --weights-imagenet FILE")
        if not Path(args.weights_imagenet).is_file():
            raise FileNotFoundError(f"weights file not found: {args.weights_imagenet}")
        weights = str(Path(args.weights_imagenet).resolve())
    chosen = _csv(args.methods)  # names checked by check_suite_args
    return Leaderboard(
        methods=tuple(m for m in all_methods() if not chosen or m in chosen or m == "ppce"),
        datasets=tuple(_csv(args.datasets) or suite.datasets[family]), init=init, weights=weights,
        grid=parse_grid(args.grid) if args.grid else DEFAULT_GRID, scale=scale, backbone=backbones[0],
        seeds=args.seeds or suite.seeds, overrides=tuple(sorted(parse_overrides(args.set).items())),
    )  # fmt: skip


def sweep_options(args):
    """The ``SweepOptions`` of a suite's command line (checked: one line for a bad combination)."""
    from benchmark.sweep import SweepOptions

    try:
        return SweepOptions.from_args(args)
    except ValueError as err:
        raise UserError(str(err)) from None


def run_tuned_suite(args) -> int:
    from benchmark.leaderboard import print_plan, run_leaderboard

    check_suite_args(args)
    lb = leaderboard_of(args)
    out = Path(args.out).resolve()
    versions = _data_versions([lb.seed_specs("ppce", d, None)[0] for d in lb.datasets], args)
    if args.dry_run:
        print_plan(lb, out, versions, redo_outdated=args.redo_outdated)
        return 0
    code = run_leaderboard(lb, sweep_options(args), versions=versions)
    if not args.no_report:
        from benchmark.report import build_report

        report = build_report(out, suite=args.suite)
        print(f"report: {report.out}")
    return code


def run_suite(args) -> int:
    from benchmark.sweep import order_longest_first, pending, run_name, run_specs, settings_text

    if args.grid and not get_suite(args.suite).tuned:
        raise UserError(f"--grid applies to a suite whose weights are searched (leaderboard), not to {args.suite}")
    if get_suite(args.suite).tuned:
        return run_tuned_suite(args)
    check_suite_args(args)
    specs = suite_specs(args, pretrain=not args.dry_run)
    out = Path(args.out).resolve()
    if args.dry_run:
        versions = _data_versions(specs, args)
        todo, _ = pending(specs, out, versions, args.retry_failed, args.redo_outdated)
        todo_ids = {id(s) for s in todo}
        width = max((len(run_name(s)) for s in specs), default=0)
        id_width = max((len(s.run_id(versions[s.dataset])) for s in specs), default=0)
        settings = settings_text(specs)
        for s in specs:
            state = "todo" if id(s) in todo_ids else "exists"
            line = f"{state:6s}  {s.run_id(versions[s.dataset]):{id_width}s}  {run_name(s):{width}s}  {s.dataset:10s} {s.init} {settings[id(s)]}"
            print(line.rstrip(), flush=True)
        first = order_longest_first(todo, out)[:1]
        start = f", the longest first ({run_name(first[0])})" if first else ""
        print(f"{len(specs)} runs, {len(todo)} to do{start}; records in {out}", flush=True)
        return 0
    summary = run_specs(specs, sweep_options(args), name=args.suite)
    print(summary.line(), flush=True)
    for line in summary.failures:
        print(f"  failed: {line}", flush=True)
    failed_before = skipped_failures(out, summary)
    if failed_before:
        print(f"{len(failed_before)} of the skipped runs failed in an earlier sweep: run them again with --retry-failed", flush=True)
        for line in failed_before:
            print(f"  failed before: {line}", flush=True)
    print_suite_metrics(out, summary.run_ids)
    if not args.no_report:
        from benchmark.report import build_report

        report = build_report(out, suite=args.suite)
        print(f"report: {report.out}")
    return 0 if summary.failed == 0 and not failed_before else 1


def skipped_failures(out: Path, summary) -> list[str]:
    """``<label> s<seed> [<run id>]: <reason>`` of each run of the sweep that it skipped
    because its record, of an earlier sweep, says failed: never reused silently."""
    from benchmark.records import load_records

    written = set(summary.records)
    return [f"{r.get('label')} s{(r.get('spec') or {}).get('seed')} [{r['run_id']}]: {one_line(str(r.get('reason')))[:200]}"
            for r in load_records(out)[0]
            if r["run_id"] in summary.run_ids and r.get("status") != "ok" and str(record_path(out, r["run_id"])) not in written]  # fmt: skip


def _data_versions(specs: list[RunSpec], args) -> dict[str, str]:
    """The data version of each dataset of ``specs``, read without preparing it (a synthetic set
    is drawn by the sweep's preparation, which says how long it took)."""
    from benchmark.prepare import data_version_of
    from benchmark.sweep import one_per_dataset

    return {d: data_version_of(s, args.data_root) for d, s in one_per_dataset(specs).items()}


def print_suite_metrics(out: Path, run_ids: set[str]) -> None:
    """The suite's runs as a tidy table: mIoU and boundary/interior mIoU at the narrowest
    band, mean and std over seeds, per (dataset, initialisation, row)."""
    from benchmark.report import load_tidy

    tidy, _ = load_tidy(out)
    tidy = tidy[tidy["run_id"].isin(run_ids) & (tidy["status"] == "ok")]
    if tidy.empty:
        return
    narrowest = sorted((c for c in tidy.columns if c.startswith("boundary_miou_w")), key=lambda c: float(c.rsplit("w", 1)[1]))[0]
    width = narrowest.rsplit("w", 1)[1]
    cols = {"miou": "mIoU", narrowest: f"boundary w{width}", f"interior_miou_w{width}": f"interior w{width}"}
    table = (100 * tidy.set_index(["dataset", "init", "label"])[list(cols)]).rename(columns=cols)
    stats = table.groupby(level=[0, 1, 2], sort=False).agg(["mean", "std", "count"])
    text = stats.round(1).to_string()
    print(text)


#: Options whose value may start with "-": argparse takes ``--lambdas -1,0,0`` for two
#: options ("expected one argument"); joined as ``--lambdas=-1,0,0`` the value reaches
#: its own check and its own message.
_DASH_VALUES = ("--lambdas",)


def _join_dash_values(argv: list[str]) -> list[str]:
    out = list(argv)
    for i in range(len(out) - 2, -1, -1):
        value = out[i + 1]
        if out[i] in _DASH_VALUES and value.startswith("-") and value[1:2] in (*"0123456789", "."):
            out[i : i + 2] = [f"{out[i]}={value}"]
    return out


@main_guard
def main(argv: list[str] | None = None) -> int:
    argv = _join_dash_values(sys.argv[1:] if argv is None else argv)
    import_from_argv(argv)  # first: the parser's help lists what they register
    args = build_parser().parse_args(argv)
    import_plugins(args.imports)
    check_flags(args)
    if args.suite:
        return run_suite(args)
    if args.grid:
        raise UserError("--grid applies to a suite whose weights are searched: --suite leaderboard")
    return run_single(args)


if __name__ == "__main__":
    sys.exit(main())
