"""Running a list of RunSpecs to records: the sweep.

- ``options``: how a sweep runs (``SweepOptions``, built once from the command line);
- ``schedule``: which runs are to do (``pending``) and in what order (a cost model, longest first);
- ``balance``: which run a free worker takes next, so that the workers end together;
- ``resume``: what interrupted and staged runs continue from;
- ``console``: one line per finished run, progress with an ETA, the summary;
- ``runner``: ``run_specs``, the stages every executor shares;
- ``ray_executor`` (Ray Tune: this machine, or an existing cluster; the default) and
  ``inline`` (this process, one run at a time, Ray never imported): the executors.
"""

from benchmark.sweep.console import SuiteConsole, SweepSummary, clock_text, run_name, run_status, settings_text, tally
from benchmark.sweep.options import EXECUTORS, SMALL_RUNS_PER_GPU, SweepOptions, default_gpus_per_trial
from benchmark.sweep.resume import STATES_FOLDER, earlier_checkpoints, load_earlier, saved_states
from benchmark.sweep.runner import executor_for, executor_session, run_specs
from benchmark.sweep.schedule import estimate_costs, one_per_dataset, one_per_preparation, order_longest_first, pending

__all__ = ["EXECUTORS", "SMALL_RUNS_PER_GPU", "STATES_FOLDER", "SuiteConsole", "SweepOptions", "SweepSummary", "clock_text",
           "default_gpus_per_trial", "earlier_checkpoints", "estimate_costs", "executor_for", "executor_session", "load_earlier", "one_per_dataset", "one_per_preparation",
           "order_longest_first", "pending", "run_name", "run_specs", "run_status", "saved_states", "settings_text", "tally"]  # fmt: skip
