"""The Ray Tune executor: every run a trial, on this machine or an existing cluster.

- Trials report their record through Ray (``tune.report``); a driver-side callback
  writes each record atomically as soon as its trial reports, so no shared disk is
  assumed and a killed driver loses at most the runs in flight.
- Trials reuse their worker processes (Tune's ``reuse_actors``): a process starts once per
  concurrent trial, not once per run, and each trial puts it back in the state its first
  trial started from (``worker_state``).
- The per-dataset preparation is made once in the driver. On one machine the trials read
  its files where they are; on a cluster of several nodes its small files (an edge net is
  ~25 kB, distance maps are uint8) and the weights files named by the specs are put once
  in Ray's object store, and a node that lacks them fetches them once into its temporary
  folder, so no node needs to see the driver's disk. Synthetic sets are regenerated on a
  node that lacks them (deterministic, seconds); real datasets must be at the same
  ``--data-root`` path on every node, and a node that cannot see the driver's decoded
  images decodes its own copy once.
- Long runs checkpoint every ``checkpoint_every`` steps through Ray, so a trial retried
  after a lost worker continues from its last checkpoint; failures are retried
  ``retries`` times and then recorded as failed. A run that was in flight when the
  driver itself died continues, in the next sweep, from the furthest checkpoint an
  earlier sweep left in the storage folder (``<out>/.ray`` by default), when its node
  can read that folder (one machine, or a storage path every node sees); else it
  starts again from step 0.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import torch

import methods
from benchmark.prepare import Prepared, decode_splits, is_real, prepare, preparation_key
from benchmark.records import PREDICTIONS_KEY, predictions_bytes, write_predictions_bytes, write_record
from benchmark.spec import RunSpec
from benchmark.sweep.console import SuiteConsole, SweepSummary, run_name, tally
from benchmark.sweep.edge_nets import EdgeNetFits
from benchmark.sweep.options import SweepOptions, default_gpus_per_trial
from benchmark.sweep.resume import keep_final_state, load_earlier, write_atomically
from benchmark.sweep.schedule import RunCosts, reads_edge_net, whole_run_seconds
from benchmark.validate import check_trial_resources
from benchmark.sweep.worker_state import start_trial


#: Files of a preparation a trial needs on its node: the edge net and the distance maps
#: (kilobytes to a few hundred megabytes). A real set's decoded images are not shipped (they
#: are gigabytes): a node that cannot see them decodes its own copy once (``prepare``).
def _shipped_files(prepared: Prepared) -> list[Path]:
    return [prepared.edge_net_path, prepared.distance_path]


def _driver_is_the_only_node() -> bool:
    """True when the cluster is this process's node alone: every trial then sees the driver's files."""
    import ray

    try:
        alive = [n["NodeID"] for n in ray.nodes() if n.get("Alive")]
        return alive == [ray.get_runtime_context().get_node_id()]
    except Exception:  # a Ray client driver, say: it has no node of its own
        return False


def _payload(prepared: Prepared, ship: bool) -> dict:
    """What a trial needs to rebuild ``prepared`` on its node: the paths, and, when the cluster
    has other nodes, a reference to the files' bytes in Ray's object store, put there once
    and fetched only by a node that lacks the files (once per worker process, see ``_materialise``)."""
    import ray

    files = {path.name: path.read_bytes() for path in _shipped_files(prepared) if path.exists()} if ship else {}
    return {"prepared": prepared, "files": ray.put(files) if files else None}


#: Preparations this worker process has made available, by (preparation key, driver's cache
#: folder): a reused process checks (and fetches) a preparation once, not once per trial.
_MATERIALISED: dict[tuple[str, str], Prepared] = {}


def _materialise(payload: dict, spec: RunSpec) -> Prepared:
    """The driver's preparation on this node: its files where this node sees them, else a
    copy in this node's temporary folder written once (atomically: the node's other trials
    read it or write the same bytes). A synthetic set missing here is drawn again at the
    driver's path (deterministic, seconds); a real set must be mounted at the same path."""
    prepared: Prepared = payload["prepared"]
    key = (preparation_key(spec), str(prepared.cache))
    if key not in _MATERIALISED:
        _MATERIALISED[key] = _on_this_node(payload, spec)
    return _MATERIALISED[key]


def _on_this_node(payload: dict, spec: RunSpec) -> Prepared:
    import ray

    prepared: Prepared = payload["prepared"]
    roots = (prepared.root, prepared.eval_source[0])
    if payload["files"] is None or (all(p.exists() for p in _shipped_files(prepared)) and all(r.exists() for r in roots)):
        return prepared
    local = replace(prepared, cache=Path(tempfile.gettempdir()) / "semeda-prepared" / prepared.cache.name)
    local.cache.mkdir(parents=True, exist_ok=True)
    missing = [path for path in _shipped_files(local) if not path.exists()]
    if missing:
        files = ray.get(payload["files"])
        for path in missing:
            if path.name in files:
                write_atomically(path, files[path.name])
    if not all(root.exists() for root in roots):
        if is_real(prepared.data_version):
            raise FileNotFoundError(f"dataset root {prepared.root} is not on this node; mount it at the same path on every node")
        # the synthetic set at the driver's path (the folder the driver generated it in)
        prepare(spec, data_dir=prepared.root.parent, cache_dir=local.cache.parent, edge_net=False, check=False)
    decode_splits(local, spec.settings.resize)  # a real set's images, decoded once on this node (one trial decodes, the others wait)
    return local


def _ensure_weights(spec: RunSpec, weights: dict) -> None:
    """Write the spec's weights file at its path on this node when only the driver has it
    (``weights``: path -> reference to its bytes in Ray's object store, fetched only here)."""
    import ray

    if spec.weights and not Path(spec.weights).exists() and spec.weights in weights:
        write_atomically(Path(spec.weights), ray.get(weights[spec.weights]))


def trial_device(gpus: float) -> torch.device:
    """The device of a trial given ``gpus`` GPUs, before anything touches CUDA: with none, the
    CPU, and ``CUDA_VISIBLE_DEVICES`` emptied so that nothing in the trial sees a GPU (Ray leaves
    it as it is for a trial without GPUs, and every such trial would otherwise share the node's
    first GPU, unknown to Ray); with some, the first GPU Ray assigned it (``cuda:0`` of those
    it makes visible)."""
    if not gpus:
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
        return torch.device("cpu")
    return torch.device("cuda")


def _trial(config: dict, payloads: dict, weights: dict, earlier: dict, threads: int, checkpoint_every: int,
           keep_predictions: bool = False, states: dict | None = None, imports: tuple[str, ...] = (), gpus: float = 0) -> None:
    """One Ray Tune trial: train one spec, report its record (and checkpoints) through Ray.
    Kept predictions travel with the result as compressed npz bytes (base64), so the driver
    writes them beside the record without a shared disk. Each checkpoint's report carries
    the loss terms of the last logged window (``loss/<term>``), which Tune's TensorBoard
    logger writes under the storage folder. A run stopped early (``stop_at``) resumes from
    the furthest state its schedule left (``states``: schedule id -> paths), or starts
    again from step 0 where this node cannot read one (the same numbers, more time).
    ``imports``: the modules of the driver's ``--import`` (which Ray's ``runtime_env``
    ships), imported first, so that the spec's method is registered here too. ``gpus``: the
    trial's GPUs (``trial_device``).
    The worker process may have run other trials before (actor reuse): ``start_trial``
    puts it back in the state its first trial started from."""
    from ray import tune

    from benchmark.train import train

    start_trial(threads)
    device = trial_device(gpus)
    methods.import_modules(imports)
    spec = RunSpec.from_dict(config["spec"])
    spec.check_code()
    prepared = _materialise(payloads[preparation_key(spec)], spec)
    _ensure_weights(spec, weights)
    resume = None
    ckpt = tune.get_checkpoint()
    if ckpt is not None:
        with ckpt.as_directory() as d:
            resume = torch.load(Path(d) / "state.pt", weights_only=False)
    else:
        run_id, schedule_id = spec.run_id(prepared.data_version), spec.schedule_id(prepared.data_version)
        resume = load_earlier(earlier.get(run_id, []) + (states or {}).get(schedule_id, []), schedule_id)

    def save(state: dict) -> None:
        losses = {f"loss/{term}": values[-1] for term, values in state["curve"]["values"].items() if values}
        with tempfile.TemporaryDirectory() as d:
            torch.save(state, Path(d) / "state.pt")
            (Path(d) / "step").write_text(str(state["step"]))
            if state.get("final"):
                (Path(d) / "final").write_text(state["run_id"])
            tune.report({"step": state["step"], **losses}, checkpoint=tune.Checkpoint.from_directory(d))

    record = train(spec, prepared=prepared, progress=False, resume=resume, checkpoint=save, checkpoint_every=checkpoint_every,
                   keep_predictions=keep_predictions, device=device, loader_workers=threads)  # fmt: skip
    result = {"step": spec.last_step, "miou": record.get("metrics", {}).get("miou"), "wall_s": whole_run_seconds(record)}
    kept = record.pop(PREDICTIONS_KEY, None)
    if kept is not None:
        result["predictions"] = base64.b64encode(predictions_bytes(kept)).decode()
    tune.report({**result, "record": json.dumps(record)})


def _make_callback(out: Path, summary: SweepSummary, data_versions: dict[str, str], console: SuiteConsole | None = None):
    from ray import tune

    console = console or SuiteConsole({}, 1, enabled=False)

    def keep_final(checkpoint) -> None:
        """The state a run stopped early ends with, kept under ``<out>/states`` (see ``resume.keep_final_state``)."""
        with checkpoint.as_directory() as d:
            marker = Path(d) / "final"
            if marker.exists():
                keep_final_state(out, marker.read_text().strip(), int((Path(d) / "step").read_text()), Path(d) / "state.pt")

    def run_id_of(trial) -> str:
        spec = trial.config["spec"]
        return RunSpec.from_dict(spec).run_id(data_versions[spec["dataset"]])

    class WriteRecords(tune.Callback):
        """Runs in the driver: writes each record when its trial reports it, and tells the console."""

        def __init__(self):
            #: Checkpoints that a newer one of their trial supersedes, removed once Tune has
            #: registered the newer one (see ``on_step_end``).
            self._superseded: list[tuple[object, object]] = []
            self._latest: dict[str, object] = {}

        def on_trial_start(self, iteration, trials, trial, **info):
            console.started_run(run_id_of(trial))

        def on_trial_result(self, iteration, trials, trial, result, **info):
            if "record" in result:
                record = json.loads(result["record"])
                if result.get("predictions"):
                    write_predictions_bytes(out, record["run_id"], base64.b64decode(result["predictions"]))
                path = write_record(out, record)
                summary.records.append(str(path))
                tally(summary, console, record)

        def on_trial_error(self, iteration, trials, trial, **info):
            spec = RunSpec.from_dict(trial.config["spec"])
            run_id = spec.run_id(data_versions[spec.dataset])
            reason = "trial failed after its retries"
            if trial.error_file and os.path.exists(trial.error_file):
                reason = Path(trial.error_file).read_text().strip().splitlines()[-1][:500]
            record = {"run_id": run_id, "spec": spec.to_dict(), "label": spec.label(), "status": "failed", "reason": reason}
            summary.records.append(str(write_record(out, record)))
            tally(summary, console, record)

        def on_checkpoint(self, iteration, trials, trial, checkpoint, **info):
            keep_final(checkpoint)
            # Tune keeps every checkpoint (CheckpointConfig(num_to_keep=None), see run_specs);
            # a trial's older one is removed here instead, once the newer one is its latest.
            previous = self._latest.get(trial.trial_id)
            if previous is not None:
                self._superseded.append((trial, previous))
            self._latest[trial.trial_id] = checkpoint

        def _remove_superseded(self, final: bool = False) -> None:
            keep = []
            for trial, old in self._superseded:
                latest = trial.checkpoint
                if not final and (latest is None or latest.path == old.path):
                    keep.append((trial, old))  # the newer one is not registered yet
                    continue
                try:
                    old.filesystem.delete_dir(old.path)
                except Exception:  # already gone, or storage that refuses: the next sweep copes with either
                    pass
            self._superseded = keep

        def on_step_end(self, iteration, trials, **info):
            self._remove_superseded()
            console.tick()

        def on_experiment_end(self, trials, **info):
            self._remove_superseded(final=True)
            console.close()

    return WriteRecords()


class _SaidBetterHere(logging.Filter):
    """Drops Ray Tune's closing messages that the suite's own lines say better: the list of
    trials that did not complete (the failed runs are repeated under the summary line with
    their reasons), the hint to resume with ``Tuner.restore`` (a suite resumes by running
    the same command again), and, after an interruption, the list of trials that never
    started and so have no metrics to fetch (the suite says how many runs are left)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(("Trials did not complete", "Experiment has been interrupted", "Failed to fetch metrics"))


@contextmanager
def _environment(settings: dict[str, str]):
    """``settings`` in ``os.environ`` for the block, the previous values restored after."""
    before = {key: os.environ.get(key) for key in settings}
    os.environ.update(settings)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


#: Tune's settings for every sweep: no per-trial result files (result.json, progress.csv,
#: params, TensorBoard events), which nothing reads (a run's record is written by the suite's
#: own callback) and which cost a short trial a good part of its scheduling time.
_TUNE_SETTINGS = {"TUNE_DISABLE_AUTO_CALLBACK_LOGGERS": "1"}


@contextmanager
def _quiet_tune(quiet: bool):
    """Ray Tune's own console reporting off while a sweep runs (``quiet``), restored after."""
    if not quiet:
        yield
        return
    loggers, said = [logging.getLogger(name) for name in ("ray.tune.tune", "ray.tune.analysis.experiment_analysis")], _SaidBetterHere()
    settings = {
        # Tune's newer output engine prints its experiment header and paths even at
        # verbose=0; the classic one, at verbose=0, prints nothing.
        "RAY_AIR_NEW_OUTPUT": "0",
        # A failed trial's traceback stays in its error file, and its last line in its record
        # and on the console; Tune would print the whole traceback of every attempt.
        "TUNE_PRINT_ALL_TRIAL_ERRORS": "0",
    }
    for logger in loggers:
        logger.addFilter(said)
    try:
        with _environment(settings):
            yield
    finally:
        for logger in loggers:
            logger.removeFilter(said)


def init_ray(address: str | None, num_cpus: int | None, timeout_s: float = 60.0, quiet: bool = True) -> bool:
    """Connect to ``address`` or start a local Ray confined to 127.0.0.1. True when started here.
    Either way the code of ``--import`` goes with it (``plugin_runtime_env``).

    ``quiet``: Ray's driver logs at WARNING and above only (its INFO lines say where it
    started and where Tune wrote its state).
    """
    if "ray" not in sys.modules and "RAY_AUTH_MODE" not in os.environ:
        # With RAY_AUTH_MODE unset, a Ray that starts its own cluster turns token
        # authentication on, and one that joins a cluster turns it on when it finds a token;
        # both warn that they did. The same choice is made here explicitly, which Ray takes
        # without a warning (a local start creates ~/.ray/auth_token when missing, as Ray's
        # default does). Ray reads the mode once, when it is imported, hence before that; a
        # process that imported Ray earlier keeps Ray's own choice, and its warning.
        token_file = Path(os.environ.get("RAY_AUTH_TOKEN_PATH") or Path.home() / ".ray" / "auth_token")
        if not address or os.environ.get("RAY_AUTH_TOKEN") or token_file.is_file():
            os.environ["RAY_AUTH_MODE"] = "token"
    if not address:
        # A local Ray on Linux otherwise binds this machine's other interfaces too, whatever
        # ``_node_ip_address`` says: Ray reads this variable once, when it is imported.
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    import ray

    if ray.is_initialized():
        return False
    level = logging.WARNING if quiet else logging.INFO
    runtime_env = plugin_runtime_env()
    if address:
        ray.init(address=address, log_to_driver=False, logging_level=level, runtime_env=runtime_env)
        return False
    # address="local": always a new instance, never the last cluster `ray start` left behind.
    ray.init(address="local", num_cpus=num_cpus or os.cpu_count(), include_dashboard=False, _node_ip_address="127.0.0.1",
             object_store_memory=256 * 1024**2, log_to_driver=False, logging_level=level, runtime_env=runtime_env)  # fmt: skip
    return True


def trial_imports(specs: list[RunSpec]) -> tuple[str, ...]:
    """The modules a trial imports at its start: the driver's ``--import`` modules, then the
    module of every method of ``specs`` from outside the package that is not among them (one
    a script imported itself), so that a trial that cannot find it says which module is missing."""
    names = [p.module for p in methods.imported_plugins()]
    for spec in specs:
        module = dict(spec.origin or ()).get("module")
        if module and module != "__main__":
            names.append(module)
    return tuple(dict.fromkeys(names))


def plugin_runtime_env() -> dict | None:
    """Ray's ``runtime_env`` for the code of ``--import``: each file or package folder in
    ``py_modules``, so that every worker, on any node, imports it without the driver's disk."""
    ship = [p.ship for p in methods.imported_plugins() if p.ship]
    return {"py_modules": list(dict.fromkeys(ship))} if ship else None


def _workers(todo: int, cpus_per_trial: float, gpus: float, max_concurrent: int | None) -> int:
    """How many trials run at once: as the cluster's resources, ``max_concurrent`` and the runs allow."""
    import ray

    resources = ray.cluster_resources()
    n = int(resources.get("CPU", 1) // cpus_per_trial) if cpus_per_trial else todo
    if gpus:
        n = min(n, int(resources.get("GPU", 0) // gpus))
    if max_concurrent:
        n = min(n, max_concurrent)
    return max(1, min(n, todo))


class RayExecutor:
    """Runs a sweep's specs as Ray Tune trials. A context manager: entering starts a local
    Ray confined to 127.0.0.1, or joins ``options.address``; leaving stops what it started."""

    def __init__(self, options: SweepOptions):
        self.options = options
        self.started_here = False

    def __enter__(self) -> "RayExecutor":
        self.started_here = init_ray(self.options.address, None, quiet=self.options.verbose == 0)
        import ray  # after init_ray, which settles Ray's authentication mode before Ray is imported

        # A trial the cluster can never place would wait forever ("insufficient resources").
        where = f"the Ray cluster at {self.options.address}" if self.options.address else "the local Ray"
        try:
            check_trial_resources(self.options.cpus_per_trial, self.gpus(), ray.cluster_resources(), where)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc) -> None:
        if self.started_here:
            import ray

            ray.shutdown()
            self.started_here = False

    def gpus(self, todo: list[RunSpec] = ()) -> float:
        """GPUs per trial: none under ``--device cpu``; else as given; else
        ``default_gpus_per_trial`` for the scales of the runs ``todo`` and the GPUs of the
        cluster Ray runs on (``ray.cluster_resources()``, whatever the driver's machine has):
        the largest share any of them asks for (every trial asks alike), a whole GPU when no
        run is named, none where the cluster has no GPU. ``--device cuda`` on a cluster
        without GPUs is a ``ValueError``."""
        import ray

        if self.options.device == "cpu":
            return 0
        gpus = self.options.gpus_per_trial
        if gpus is None:
            cluster_gpus = ray.cluster_resources().get("GPU", 0)
            gpus = max(default_gpus_per_trial(scale, cluster_gpus) for scale in {s.scale for s in todo} or {None})
        if not gpus and self.options.device == "cuda":
            raise ValueError("--device cuda: the Ray cluster has no GPU (ray.cluster_resources()); use --device auto or cpu")
        return gpus

    def device_type(self) -> str:
        """``cuda`` when trials are given GPUs, else ``cpu`` (``trial_device``; a share of a GPU is a GPU)."""
        return "cuda" if self.gpus() else "cpu"

    def workers(self, todo: list[RunSpec]) -> int:
        """How many of the runs ``todo`` run at once."""
        return _workers(len(todo), self.options.cpus_per_trial, self.gpus(todo), self.options.max_concurrent)

    #: The trials are other processes: edge nets are fitted in the driver while the runs that
    #: need none train (``benchmark.sweep.edge_nets``).
    fits_beside_runs = True
    #: Each free worker takes the run that evens out the workers' ends (``ReadyFirst``).
    evens_out_workers = True

    def run(self, todo: list[RunSpec], *, prepared: dict[str, Prepared], versions: dict[str, str], earlier: dict[str, list[str]],
            states: dict[str, list[str]], summary: SweepSummary, console: SuiteConsole, name: str, storage: str | Path,
            fits: EdgeNetFits | None = None, costs: RunCosts | None = None) -> None:  # fmt: skip
        """Run ``todo`` as one Tune experiment, records written as trials report: each free
        worker takes a run of ``todo`` whose preparation is ready (edge nets of ``fits`` are
        fitted in this process, beside the runs), the one that ``costs`` (a ``RunCosts`` of
        ``todo``, learning as runs end) says evens out the workers' ends (``ReadyFirst``);
        without ``costs``, the first in the list's order.

        Trials reuse their worker processes (``reuse_actors``): every trial asks for the same
        resources, so a process that ends a run takes the next one, and a process starts (and
        imports torch and the package) once per concurrent trial, not once per run (see
        ``worker_state`` for what each trial resets)."""
        import ray
        from ray import tune

        from benchmark.sweep.ready_first import ReadyFirst

        options, out = self.options, Path(self.options.out).resolve()
        every = options.checkpoint_every if options.checkpoint_every is not None else max(100, todo[0].settings.steps // 10)
        # Files go through Ray's object store only where another node may need them.
        ship = not _driver_is_the_only_node()
        if ship and fits:
            fits.wait()  # the nets go to the other nodes with the preparation's other files

        fits = fits or EdgeNetFits({})  # none to fit: every run is ready
        # Each run with the preparation whose edge net it waits for (None: it reads none).
        waits = [preparation_key(s) if reads_edge_net(s.method) else None for s in todo]
        searcher = ReadyFirst([(s.to_dict(), w) for s, w in zip(todo, waits)], ready=fits.ready, failed=fits.failed,
                              workers=self.workers(todo), costs=costs, overlap=fits.span.overlap)  # fmt: skip
        weights = {w: ray.put(Path(w).read_bytes()) for w in {s.weights for s in todo if s.weights}} if ship else {}
        trainable = tune.with_resources(
            tune.with_parameters(
                _trial, payloads={k: _payload(p, ship) for k, p in prepared.items()}, weights=weights,
                earlier=earlier, threads=options.threads(), checkpoint_every=every, keep_predictions=options.keep_predictions,
                states=states, imports=trial_imports(todo), gpus=self.gpus(todo),
            ),  # fmt: skip
            {"cpu": options.cpus_per_trial, "gpu": self.gpus(todo)},
        )
        tuner = tune.Tuner(
            trainable,
            tune_config=tune.TuneConfig(search_alg=searcher, num_samples=len(todo), max_concurrent_trials=options.max_concurrent, reuse_actors=True,
                                        trial_name_creator=lambda t: run_name(RunSpec.from_dict(t.config["spec"])),
                                        trial_dirname_creator=lambda t: RunSpec.from_dict(t.config["spec"]).run_id(versions[t.config["spec"]["dataset"]])),
            run_config=tune.RunConfig(
                name=f"{name}-{time.strftime('%Y%m%d-%H%M%S')}", storage_path=str(storage), verbose=options.verbose,
                failure_config=tune.FailureConfig(max_failures=options.retries),
                # num_to_keep=None: with num_to_keep=k Tune forces a snapshot of the whole
                # experiment state after every k-th checkpoint of each trial (so that
                # Tuner.restore never names a deleted checkpoint), which concurrent trials
                # checkpointing together trigger seconds apart ("Experiment state
                # snapshotting has been triggered multiple times ..."). A suite resumes from
                # its records and its trials' last checkpoints, not through Tuner.restore,
                # so the experiment state is left to Tune's periodic snapshot
                # (TUNE_GLOBAL_CHECKPOINT_S, "auto": at least every 10 s) and each trial's
                # superseded checkpoint is removed by the callback (WriteRecords.on_checkpoint).
                checkpoint_config=tune.CheckpointConfig(num_to_keep=None),
                callbacks=[_make_callback(out, summary, versions, console)],
            ),
        )  # fmt: skip
        # Tune keeps one trial of a searcher pending at a time unless told how many may run
        # (max_concurrent_trials): the workers' processes would then start one after the other.
        pending = {} if options.max_concurrent or "TUNE_MAX_PENDING_TRIALS_PG" in os.environ else {
            "TUNE_MAX_PENDING_TRIALS_PG": str(self.workers(todo))}  # fmt: skip
        with _environment({**_TUNE_SETTINGS, **pending}), _quiet_tune(options.verbose == 0):
            tuner.fit()
