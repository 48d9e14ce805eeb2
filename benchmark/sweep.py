"""Ray Tune scheduling of a list of RunSpecs: local by default, an existing cluster on request.

- One trial per spec whose record does not exist yet in the output folder; re-running
  the same command after an interruption runs only the missing ones.
- Trials report their record through Ray (``tune.report``); a driver-side callback
  writes each record atomically as soon as its trial reports, so no shared disk is
  assumed and a killed driver loses at most the runs in flight.
- The per-dataset preparation (synthetic data, edge net, validation distance maps) runs
  once in the driver. Its artefacts reach the trials through Ray's object store
  (``tune.with_parameters``): they are small (an edge net is ~25 kB, distance maps are
  uint8) and no node needs to see the driver's disk. Weights files named by the specs
  travel the same way. Synthetic sets are regenerated on a node that lacks them
  (deterministic, seconds); real datasets must be at the same ``--data-root`` path on
  every node.
- Long runs checkpoint every ``checkpoint_every`` steps through Ray, so a trial retried
  after a lost worker continues from its last checkpoint; failures are retried
  ``retries`` times and then recorded as failed. A run that was in flight when the
  driver itself died continues, in the next sweep, from the furthest checkpoint an
  earlier sweep left in the storage folder (``<out>/.ray`` by default), when its node
  can read that folder (one machine, or a storage path every node sees); else it
  starts again from step 0.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

import methods
from benchmark.prepare import Prepared, prepare, preparation_key
from benchmark.records import CorruptRecord, read_record, record_path, write_record
from benchmark.spec import RunSpec

__all__ = ["earlier_checkpoints", "load_earlier", "one_per_dataset", "one_per_preparation", "pending", "run_specs", "SweepSummary"]


@dataclass
class SweepSummary:
    done: int = 0
    skipped: int = 0
    failed: int = 0
    wall_s: float = 0.0
    out: str = ""
    records: list[str] = field(default_factory=list)
    #: Run ids of all the sweep's specs (run, skipped or failed).
    run_ids: set[str] = field(default_factory=set)

    def line(self) -> str:
        return (f"{self.done} done, {self.skipped} skipped (record exists), {self.failed} failed "
                f"in {self.wall_s:.0f} s; records in {self.out}")  # fmt: skip


def one_per_dataset(specs: list[RunSpec]) -> dict[str, RunSpec]:
    """Dataset -> its first spec: the one whose preparation stands for the dataset's."""
    first: dict[str, RunSpec] = {}
    for spec in specs:
        first.setdefault(spec.dataset, spec)
    return first


def one_per_preparation(specs: list[RunSpec]) -> dict[str, RunSpec]:
    """Preparation key -> its first spec: specs on one dataset with different preparation
    settings (an edge net fitted on another input, say) never share a preparation."""
    first: dict[str, RunSpec] = {}
    for spec in specs:
        first.setdefault(preparation_key(spec), spec)
    return first


def _bytes(path: Path) -> bytes | None:
    return path.read_bytes() if path.exists() else None


def _payload(prepared: Prepared) -> dict:
    """What a trial on another node needs to rebuild ``prepared`` locally."""
    return {"prepared": prepared, "edge_net": _bytes(prepared.edge_net_path), "distances": _bytes(prepared.distance_path)}


def _materialise(payload: dict, spec: RunSpec) -> Prepared:
    """The driver's preparation on this node: reuse its files when visible, else write them."""
    prepared: Prepared = payload["prepared"]
    needed = [(prepared.distance_path, payload["distances"]), (prepared.edge_net_path, payload["edge_net"])]
    if all(blob is None or path.exists() for path, blob in needed) and prepared.root.exists():
        return prepared
    local = Prepared(prepared.dataset, prepared.root, Path(tempfile.gettempdir()) / "semeda-prepared" / prepared.cache.name,
                     prepared.data_version, prepared.in_memory)  # fmt: skip
    local.cache.mkdir(parents=True, exist_ok=True)
    for path, blob in ((local.distance_path, payload["distances"]), (local.edge_net_path, payload["edge_net"])):
        if blob is not None and not path.exists():
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            tmp.write_bytes(blob)
            os.replace(tmp, path)
    if not prepared.root.exists():
        if prepared.data_version == "real":
            raise FileNotFoundError(f"dataset root {prepared.root} is not on this node; mount it at the same path on every node")
        prepare(spec, edge_net=False, check=False)  # regenerates the synthetic set at the same path
    return local


def _ensure_weights(spec: RunSpec, weights: dict[str, bytes]) -> None:
    """Write the spec's weights file at its path on this node when only the driver has it."""
    if spec.weights and not Path(spec.weights).exists() and spec.weights in weights:
        path = Path(spec.weights)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(weights[spec.weights])
        os.replace(tmp, path)


def earlier_checkpoints(storage: Path, run_ids: set[str]) -> dict[str, list[str]]:
    """Run id -> checkpoint files that earlier sweeps left under ``storage``, furthest first.

    Trial folders are named by run id (``<storage>/<experiment>/<run_id>/checkpoint_*``),
    so a run interrupted with its driver is found again by the next sweep. Each
    checkpoint folder holds a ``step`` file beside ``state.pt``; checkpoints are ordered
    by that step (then by age), so a later sweep that restarted a run from step 0 does not
    hide an older, further checkpoint.
    """

    def step_of(path: Path) -> int:
        try:
            return int((path.parent / "step").read_text())
        except (OSError, ValueError):
            return -1

    found: dict[str, list[Path]] = {}
    for path in storage.glob("*/*/checkpoint_*/state.pt"):
        if path.parent.parent.name in run_ids:
            found.setdefault(path.parent.parent.name, []).append(path)
    return {
        run_id: [str(p) for p in sorted(paths, key=lambda p: (step_of(p), p.stat().st_mtime), reverse=True)]
        for run_id, paths in found.items()
    }


def load_earlier(paths: list[str], run_id: str) -> dict | None:
    """The first of ``paths`` that loads and belongs to ``run_id``; None when none does
    (a driver killed mid-copy can leave a truncated file; a node may not see the folder)."""
    for path in paths:
        try:
            state = torch.load(path, map_location="cpu", weights_only=False)
        except Exception as err:  # unreadable or missing on this node: try the next one
            print(f"warning: checkpoint {path} not usable ({type(err).__name__})")
            continue
        if isinstance(state, dict) and state.get("run_id") == run_id:
            return state
        print(f"warning: checkpoint {path} is not one of run {run_id}")
    return None


def _trial(config: dict, payloads: dict, weights: dict, earlier: dict, threads: int, checkpoint_every: int) -> None:
    """One Ray Tune trial: train one spec, report its record (and checkpoints) through Ray."""
    from ray import tune

    from benchmark.train import train

    torch.set_num_threads(threads)
    spec = RunSpec.from_dict(config["spec"])
    prepared = _materialise(payloads[preparation_key(spec)], spec)
    _ensure_weights(spec, weights)
    resume = None
    ckpt = tune.get_checkpoint()
    if ckpt is not None:
        with ckpt.as_directory() as d:
            resume = torch.load(Path(d) / "state.pt", weights_only=False)
    else:
        run_id = spec.run_id(prepared.data_version)
        resume = load_earlier(earlier.get(run_id, []), run_id)

    def save(state: dict) -> None:
        with tempfile.TemporaryDirectory() as d:
            torch.save(state, Path(d) / "state.pt")
            (Path(d) / "step").write_text(str(state["step"]))
            tune.report({"step": state["step"]}, checkpoint=tune.Checkpoint.from_directory(d))

    record = train(spec, prepared=prepared, progress=False, resume=resume, checkpoint=save, checkpoint_every=checkpoint_every)
    tune.report({"step": spec.settings.steps, "record": json.dumps(record), "miou": record.get("metrics", {}).get("miou")})


def pending(specs: list[RunSpec], out: Path, data_versions: dict[str, str], retry_failed: bool = False):
    """Split ``specs`` into (to run, already recorded). Corrupt records are reported and redone."""
    todo, existing = [], []
    for spec in specs:
        path = record_path(out, spec.run_id(data_versions[spec.dataset]))
        if not path.exists():
            todo.append(spec)
            continue
        try:
            record = read_record(path)
        except CorruptRecord as err:
            print(f"warning: {err}; running it again")
            todo.append(spec)
            continue
        if retry_failed and record["status"] != "ok":
            todo.append(spec)
        else:
            existing.append(spec)
    return todo, existing


def _make_callback(out: Path, summary: SweepSummary, data_versions: dict[str, str]):
    from ray import tune

    class WriteRecords(tune.Callback):
        """Runs in the driver: writes each record when its trial reports it."""

        def on_trial_result(self, iteration, trials, trial, result, **info):
            if "record" in result:
                record = json.loads(result["record"])
                path = write_record(out, record)
                summary.records.append(str(path))
                if record["status"] == "ok":
                    summary.done += 1
                else:
                    summary.failed += 1

        def on_trial_error(self, iteration, trials, trial, **info):
            spec = RunSpec.from_dict(trial.config["spec"])
            run_id = spec.run_id(data_versions[spec.dataset])
            reason = "trial failed after its retries"
            if trial.error_file and os.path.exists(trial.error_file):
                reason = Path(trial.error_file).read_text().strip().splitlines()[-1][:500]
            write_record(out, {"run_id": run_id, "spec": spec.to_dict(), "label": spec.label(), "status": "failed", "reason": reason})
            summary.failed += 1

    return WriteRecords()


def _init_ray(address: str | None, num_cpus: int | None, timeout_s: float = 60.0) -> bool:
    """Connect to ``address`` or start a local Ray confined to 127.0.0.1. True when started here."""
    import ray

    if ray.is_initialized():
        return False
    if address:
        ray.init(address=address, log_to_driver=False)
        return False
    # A local Ray otherwise binds this machine's other interfaces too.
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    # address="local": always a new instance, never the last cluster `ray start` left behind.
    ray.init(address="local", num_cpus=num_cpus or os.cpu_count(), include_dashboard=False, _node_ip_address="127.0.0.1",
             object_store_memory=256 * 1024**2, log_to_driver=False)  # fmt: skip
    return True


def run_specs(
    specs: list[RunSpec],
    *,
    out: str | os.PathLike = "runs",
    data_root: str | None = None,
    address: str | None = None,
    cpus_per_trial: float = 1,
    gpus_per_trial: float | None = None,
    max_concurrent: int | None = None,
    retries: int = 2,
    storage_path: str | None = None,
    checkpoint_every: int | None = None,
    retry_failed: bool = False,
    name: str = "sweep",
    verbose: int = 1,
) -> SweepSummary:
    """Run every spec without a record in ``out`` as a Ray Tune trial; returns the summary."""
    import ray
    from ray import tune

    started = time.time()
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    summary = SweepSummary(out=str(out))
    # Preparation: once per (dataset, preparation settings), in the driver (the edge net
    # fitted when any run of that preparation needs it).
    prepared = {}
    for key, spec in one_per_preparation(specs).items():
        needs = any(preparation_key(s) == key and methods.method_class(s.method).needs_edge_net for s in specs)
        prepared[key] = prepare(spec, data_root=data_root, edge_net=needs, progress=verbose > 0)
    versions = {p.dataset: p.data_version for p in prepared.values()}
    summary.run_ids = {s.run_id(versions[s.dataset]) for s in specs}
    todo, existing = pending(specs, out, versions, retry_failed)
    summary.skipped = len(existing)
    if not todo:
        summary.wall_s = time.time() - started
        return summary
    started_here = _init_ray(address, None)
    try:
        gpus = gpus_per_trial if gpus_per_trial is not None else (1 if torch.cuda.is_available() else 0)
        threads = max(1, int(cpus_per_trial))
        every = checkpoint_every if checkpoint_every is not None else max(100, todo[0].settings.steps // 10)
        # A bucket URI goes to Ray as it is; only a local (or mounted) folder is searched
        # for what earlier sweeps left. Runs with a record (a failed one, re-run with
        # --retry-failed, or a corrupt one) start again from step 0.
        is_uri = bool(storage_path) and "://" in storage_path
        storage = storage_path if is_uri else Path(storage_path).resolve() if storage_path else out / ".ray"
        todo_ids = (s.run_id(versions[s.dataset]) for s in todo)
        unrecorded = {run_id for run_id in todo_ids if not record_path(out, run_id).exists()}
        earlier = {} if is_uri else earlier_checkpoints(storage, unrecorded)
        trainable = tune.with_resources(
            tune.with_parameters(
                _trial, payloads={k: _payload(p) for k, p in prepared.items()},
                weights={w: Path(w).read_bytes() for w in {s.weights for s in todo if s.weights}},
                earlier=earlier, threads=threads, checkpoint_every=every,
            ),  # fmt: skip
            {"cpu": cpus_per_trial, "gpu": gpus},
        )
        tuner = tune.Tuner(
            trainable,
            param_space={"spec": tune.grid_search([s.to_dict() for s in todo])},
            tune_config=tune.TuneConfig(max_concurrent_trials=max_concurrent, reuse_actors=False,
                                        trial_dirname_creator=lambda t: RunSpec.from_dict(t.config["spec"]).run_id(versions[t.config["spec"]["dataset"]])),
            run_config=tune.RunConfig(
                name=f"{name}-{time.strftime('%Y%m%d-%H%M%S')}", storage_path=str(storage), verbose=verbose,
                failure_config=tune.FailureConfig(max_failures=retries),
                checkpoint_config=tune.CheckpointConfig(num_to_keep=1),
                callbacks=[_make_callback(out, summary, versions)],
            ),
        )  # fmt: skip
        tuner.fit()
    finally:
        if started_here:
            ray.shutdown()
    summary.wall_s = time.time() - started
    return summary
