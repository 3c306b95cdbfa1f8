"""The depth experiment's default run (the Experiments page, exp=depth): wall time against
its 30 s budget, and what the run says.

Trains SweepConfig.default("depth") end to end (4 stacks, one per depth, each of 2 networks ×
10 seeds, 300 steps, every layer recorded at every snapshot) with bn_core.experiments.training
.run_sweep, as the page does, after a tiny warm-up run (imports and the compiled kernels, which
the page's server has already paid for). Repeats report the median; this machine is shared and
noisy, so the ratio against the budget is what to compare.

    python benchmarks/bench_depth.py [--repeats 1] [--verdicts]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bn_core.experiments import training, verdicts  # noqa: E402
from bn_core.experiments.config import SweepConfig  # noqa: E402

BUDGET_S = 30.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--verdicts", action="store_true", help="print the verdicts' headlines")
    args = parser.parse_args()
    config = SweepConfig.default("depth")
    training.run_sweep(config.replace(seeds=2, steps=10, depths=(1, 2), width=8))   # warm-up
    times, result = [], None
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        result = training.run_sweep(config)
        times.append(time.perf_counter() - t0)
    seconds = statistics.median(times)
    networks = len(result.networks)
    print(f"depth experiment, default ({networks} networks: depths {config.depths}, "
          f"{config.seeds} seeds, {config.steps} steps, width {config.width}): "
          f"{seconds:.1f} s (median of {len(times)}); budget {BUDGET_S:.0f} s: "
          f"{seconds / BUDGET_S:.2f}× the budget")
    if args.verdicts:
        for v in verdicts.verdict(result):
            print("-", v.headline)


if __name__ == "__main__":
    main()
