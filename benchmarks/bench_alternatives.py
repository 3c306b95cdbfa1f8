"""The regularisation-and-alternatives lesson (bn_core.alternatives): each experiment's default
wall time, batched (one Run per batch size, all seeds and networks in lockstep, as the page
trains) against sequential (the same networks, one Run each, one after the other), side by side
in one process.

    python benchmarks/bench_alternatives.py [--experiments regular shift batch] [--repeats 1]
                                            [--seeds N]

Target: every default ≤ 30 s here (the page promises "about 20 s"). Repeats interleave the two
variants and report medians; this machine is shared and noisy, so compare the ratios printed
side by side, not absolute times from different runs. The two variants train the same networks
(the script checks that their test accuracies agree to within two test examples: batched
products round differently in the last bit, which can flip a borderline prediction).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bn_core.alternatives.config import EXPERIMENTS, NormsConfig  # noqa: E402
from bn_core.alternatives.training import plan, run_experiment  # noqa: E402


def timed(config: NormsConfig, batched: bool):
    t0 = time.perf_counter()
    result = run_experiment(config, batched=batched)
    return time.perf_counter() - t0, result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--experiments", nargs="+", default=list(EXPERIMENTS), choices=EXPERIMENTS)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--seeds", type=int, default=None, help="override the default seeds")
    args = ap.parse_args()
    torch.set_num_threads(1)
    run_experiment(NormsConfig.default("batch").replace(seeds=1, batch_sizes=(2, 4),
                                                         examples=200))       # compile, load
    print(f"{'experiment':<10} {'networks':>8} {'stacks':>6} {'batched s':>10} "
          f"{'sequential s':>13} {'ratio':>6}  {'max |Δ test acc|':>16}")
    for name in args.experiments:
        config = NormsConfig.default(name)
        if args.seeds:
            config = config.replace(seeds=args.seeds)
        times = {True: [], False: []}
        diff = 0.0
        for _ in range(args.repeats):
            results = {}
            for batched in (True, False):
                seconds, results[batched] = timed(config, batched)
                times[batched].append(seconds)
            a = np.array([r.test_acc for r in results[True].networks])
            b = np.array([r.test_acc for r in results[False].networks])
            diff = max(diff, float(np.nanmax(np.abs(a - b))))
        jobs = plan(config)
        fast, slow = statistics.median(times[True]), statistics.median(times[False])
        print(f"{name:<10} {sum(len(j.members) for j in jobs):>8} {len(jobs):>6} {fast:>10.1f} "
              f"{slow:>13.1f} {slow / fast:>5.1f}×  {diff:>16.4f}", flush=True)
        if diff > 2 / 360 + 1e-9:
            print(f"  warning: batched and sequential differ by {diff:.4f} in test accuracy")


if __name__ == "__main__":
    main()
