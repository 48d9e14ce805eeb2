"""A reused worker process starts each trial as its first trial started (``benchmark.sweep.worker_state``)."""

import random

import numpy as np
import torch

from benchmark.sweep import worker_state


def test_a_second_trial_starts_from_the_first_trials_generators_switches_and_threads(monkeypatch):
    monkeypatch.setattr(worker_state, "_FIRST", None)
    threads, precision = torch.get_num_threads(), torch.get_float32_matmul_precision()
    try:
        assert worker_state.start_trial(1) is False  # the first trial: state captured, nothing restored
        first = (torch.rand(3), np.random.rand(3), random.random())
        # What a run may leave behind: generators drawn from, switches turned, other threads.
        torch.manual_seed(123)
        torch.rand(10)
        np.random.seed(5)
        random.seed(7)
        torch.set_float32_matmul_precision("medium")
        torch.backends.cudnn.benchmark = not torch.backends.cudnn.benchmark
        torch.set_num_threads(2)
        assert worker_state.start_trial(1) is True
        again = (torch.rand(3), np.random.rand(3), random.random())
        assert torch.equal(first[0], again[0]) and np.array_equal(first[1], again[1]) and first[2] == again[2]
        assert torch.get_float32_matmul_precision() == precision and torch.get_num_threads() == 1
        assert worker_state._switches() == worker_state._FIRST.switches
    finally:
        torch.set_num_threads(threads)
        torch.set_float32_matmul_precision(precision)
