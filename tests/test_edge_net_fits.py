"""Edge nets fitted beside the runs: the same net as fitted before them, a fit that stops when
the sweep ends, and Tune's searcher that starts the first run whose preparation is ready."""

from dataclasses import replace

import pytest
import torch

import methods
from benchmark.prepare import prepare, preparation_key
from benchmark.suites import expand
from benchmark.sweep.edge_nets import EdgeNetFits


def _semeda_spec(steps: int | None = None):
    """A smoke-scale SEMEDA run (its edge net fits in a few seconds), with ``steps`` fitting steps."""
    spec = expand("smoke", methods=["semeda"])[0]
    return spec if steps is None else replace(spec, settings=replace(spec.settings, edge_net_steps=steps))


def _fits(spec, data_dir) -> EdgeNetFits:
    prepared = prepare(spec, data_dir=data_dir, edge_net=False)
    lines = []
    return EdgeNetFits({preparation_key(spec): (spec, prepared)}, say=lines.append), prepared, lines


def test_a_net_fitted_in_a_thread_is_the_net_fitted_before_the_runs(tmp_path, monkeypatch, two_threads):
    spec = _semeda_spec()
    key = preparation_key(spec)
    before, here, said_before = _fits(spec, tmp_path / "before")
    beside, there, said_beside = _fits(spec, tmp_path / "beside")
    before.run()
    assert before.ready(key) and said_before[0].startswith("fitted the edge net of streets (F1 ")
    assert not said_before[0].endswith("beside the runs")
    assert not beside.ready(key)  # not fitted yet: its runs wait
    beside.start()
    beside.wait()
    beside.close()
    assert beside.ready(key) and not beside.failed(key)
    assert said_beside[0].endswith(", beside the runs")
    a, b = here.edge_net().state_dict(), there.edge_net().state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert here.edge_net().info.f1 == there.edge_net().info.f1


def test_a_preparation_without_a_fit_is_ready_at_once(tmp_path):
    spec = _semeda_spec()
    fits, _, _ = _fits(spec, tmp_path)
    assert fits.ready("another-preparation") and not fits.failed("another-preparation")
    assert not EdgeNetFits({})  # nothing to fit: the sweep neither fits nor waits


def test_closing_stops_a_fit_at_its_next_step_and_leaves_no_net(tmp_path):
    spec = _semeda_spec(steps=100_000)  # hours: only the stop ends it
    fits, prepared, said = _fits(spec, tmp_path)
    fits.start()
    fits.close()
    with pytest.raises(methods.FitStopped):
        fits.wait()
    key = preparation_key(spec)
    assert fits.failed(key) and not fits.ready(key)
    assert not prepared.edge_net_path.exists() and said == []


def test_the_searcher_starts_the_first_run_that_can_start():
    from ray.tune.search import Searcher

    from benchmark.sweep.ready_first import ReadyFirst

    runs = [({"name": "a"}, "streets-1"), ({"name": "b"}, None), ({"name": "c"}, "streets-1"), ({"name": "d"}, None)]
    state = {"fitted": False, "failed": False}
    searcher = ReadyFirst(runs, ready=lambda key: state["fitted"], failed=lambda key: state["failed"])
    # While the net is fitted, the runs that need none go, in the list's order.
    assert [searcher.suggest(str(i))["spec"]["name"] for i in range(2)] == ["b", "d"]
    assert searcher.suggest("2") is None  # nothing can start yet: Tune asks again later
    state["fitted"] = True
    assert [searcher.suggest(str(i))["spec"]["name"] for i in range(3, 5)] == ["a", "c"]
    assert searcher.suggest("5") == Searcher.FINISHED


def test_the_searcher_finishes_when_what_is_left_waits_for_a_failed_fit():
    from ray.tune.search import Searcher

    from benchmark.sweep.ready_first import ReadyFirst

    state = {"failed": False}
    searcher = ReadyFirst([({"net": True}, "streets-1"), ({"net": True}, "streets-1")], ready=lambda key: False,
                          failed=lambda key: state["failed"])  # fmt: skip
    assert searcher.suggest("0") is None
    state["failed"] = True
    assert searcher.suggest("1") == Searcher.FINISHED
    # What Tune pickles of it is the list left; a restored copy takes every run as ready.
    import pickle

    restored = pickle.loads(pickle.dumps(searcher))
    assert restored.runs == [({"net": True}, "streets-1")] * 2 and restored.suggest("2") == {"spec": {"net": True}}


def test_a_fit_span_counts_the_seconds_a_run_spent_beside_the_fits(monkeypatch):
    import pickle
    import time

    from benchmark.sweep.edge_nets import FitSpan

    assert FitSpan().overlap(0.0, 100.0) == 0.0  # no fit went beside the runs
    span = FitSpan(began=10.0, ended=50.0)
    assert span.overlap(0.0, 100.0) == 40.0 and span.overlap(30.0, 100.0) == 20.0
    assert span.overlap(20.0, 35.0) == 15.0 and span.overlap(60.0, 100.0) == 0.0
    monkeypatch.setattr(time, "time", lambda: 45.0)
    assert FitSpan(began=10.0).overlap(30.0, 100.0) == 15.0  # still going: up to now
    assert pickle.loads(pickle.dumps(span)) == span  # what holds it pickles
