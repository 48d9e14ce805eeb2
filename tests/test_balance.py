"""The sweep's plan for the workers' next runs, on small lists worked out by hand."""

from benchmark.sweep.balance import next_run, share_out


def test_runs_are_shared_out_longest_first_then_evened_by_a_swap():
    # Longest first: 5 -> w0, 4 -> w1, 3 -> w1 (7), 3 -> w0 (8), 3 -> w1 (10): 8 against 10.
    # Swapping the 4 of w1 for a 3 of w0 gives 9 and 9.
    assert share_out([5, 4, 3, 3, 3], [0, 0]) == [[0, 1], [2, 3, 4]]


def test_a_share_counts_what_is_left_of_the_run_in_flight():
    # 30 s left on the busy worker; longest first would give it 30 + 50 = 80 and the free
    # one 70 + 50 = 120; swapping the 70 for a 50 gives 100 and 100.
    assert share_out([70, 50, 50], [30, 0]) == [[0], [1, 2]]


def test_nothing_moves_when_no_move_lowers_the_larger_load():
    # Longest first: 70 -> free (70), 70 -> busy (110), 30 -> free (100); moving or swapping
    # anything makes the larger of 110 and 100 no smaller.
    assert share_out([70, 70, 30], [40, 0]) == [[1], [0, 2]]


def test_the_free_worker_takes_the_longest_ready_run_of_its_share():
    # Its share is the two 50 s runs (above): it takes one of them, not the 70 s run that
    # longest-first would give it, so that both workers end at 100 s.
    assert next_run([70, 50, 50], [True, True, True], busy=[30], free=1) == 1
    assert next_run([70, 50, 50], [True, False, True], busy=[30], free=1) == 2
    # None of its share can start yet: the longest run that can.
    assert next_run([70, 50, 50], [True, False, False], busy=[30], free=1) == 0
    assert next_run([70, 50, 50], [False, False, False], busy=[30], free=1) is None
    # Every worker free: the longest run (ties in list order).
    assert next_run([50, 70, 70], [True, True, True], busy=[], free=2) == 1


def test_the_searcher_plans_each_free_workers_run_and_learns_from_the_runs_that_end():
    from benchmark.sweep.ready_first import ReadyFirst

    class Costs:  # the sweep's cost model, held still: estimates in seconds, measurements kept
        def __init__(self):
            self.observed = []

        def estimates(self):
            return [100.0, 70.0, 70.0, 50.0, 50.0]

        def observe(self, index, seconds):
            self.observed.append((index, seconds))

    now, costs = [0.0], Costs()
    runs = [({"name": name}, None) for name in ("p", "a1", "a2", "b1", "b2")]
    fit = (0.0, 20.0)  # a fit beside the runs from 0 s to 20 s

    def planner(costs):
        return ReadyFirst(runs, ready=lambda key: True, failed=lambda key: False, workers=2, costs=costs,
                          overlap=lambda start, end: max(0.0, min(end, fit[1]) - max(start, fit[0])), clock=lambda: now[0])  # fmt: skip

    searcher = planner(costs)
    # Both workers free: the 100 s run. Then, against its 100 s: the shares {a1, 100 s} and
    # {a2, b1, b2} (170 s each) give the free worker a 70 s run.
    assert [searcher.suggest(t)["spec"]["name"] for t in ("t0", "t1")] == ["p", "a2"]
    assert searcher.suggest("t2") is None  # both workers busy: Tune asks again later
    # a2 ends at 70 s after 65 s of training, 15 s of it beside the fit: it taught 50 s.
    now[0] = 70.0
    searcher.on_trial_complete("t1", {"wall_s": 65.0})
    assert costs.observed == [(2, 50.0)]
    # p has 30 s left: the free worker takes a 50 s run, then p's worker a1 and this one b2,
    # both ending at 170 s; a1 now would end one of them at 190 s.
    assert searcher.suggest("t3")["spec"]["name"] == "b1"
    # A run that failed frees its worker and teaches nothing.
    searcher.on_trial_complete("t3", None, error=True)
    # Left: a1 and b2, p's 30 s: a1 here (70 s) and b2 after p (80 s).
    assert costs.observed == [(2, 50.0)] and searcher.suggest("t4")["spec"]["name"] == "a1"
    # A run wholly beside the fit (from 0 s to 15 s) says nothing of its time alone.
    now[0], alone = 0.0, Costs()
    searcher = planner(alone)
    searcher.suggest("u0")
    now[0] = 15.0
    searcher.on_trial_complete("u0", {"wall_s": 15.0})
    assert alone.observed == []
