"""``python -m benchmark.perf``: see ``benchmark.perf.cli``."""

import sys

from benchmark.perf.cli import main

sys.exit(main())
