"""The "Why does BN work?" lesson: each experiment's default run, and batched against sequential.

For each experiment at its page defaults (bn_core.why.config.WhyConfig.default; the ICS
experiment on both networks, the scale experiment with and without the W × 10 copies):

    batched      bn_core.why.training.run_experiment(config): all its networks in one stack
                 (one bn_core.trainer.Run, or one DeepLinear), the probes batched over them
    sequential   run_experiment(config, batched=False): the same networks one by one (one Run
                 of one network each), the same probes; bit for bit the same numbers (checked)

Printed: the median wall time of each and the ratio sequential / batched, and the same for the
process CPU time, which the other engineers' load on this shared 2-core machine disturbs less
(medians over the repeats, the variants interleaved; the load average at the end of each row).
The page's target: every default experiment ≤ 30 s here.

    python benchmarks/bench_why.py [--repeats 3] [--only noise,ics,...]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bn_core.why.config import WhyConfig
from bn_core.why.training import members, run_experiment

CASES = {
    "noise": WhyConfig.default("noise"),
    "ics": WhyConfig.default("ics"),
    "ics-linear": WhyConfig.default("ics").replace(network="linear"),
    "landscape": WhyConfig.default("landscape"),
    "scale": WhyConfig.default("scale"),
    "scale-x10": WhyConfig.default("scale").replace(multiply=True),
}
FIELDS = ("test_acc", "loss", "shift", "ics_diff", "ics_cos", "land_loss", "land_change", "norms")


def same(a, b) -> bool:
    return all((getattr(a, f) is None and getattr(b, f) is None)
               or np.array_equal(getattr(a, f), getattr(b, f), equal_nan=True) for f in FIELDS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", default=",".join(CASES))
    args = parser.parse_args()
    run_experiment(WhyConfig.default("noise").replace(seeds=1, steps=10))    # compile, load
    print(f"{'experiment':12s} {'networks':>8s} | wall s: {'batched':>8s} {'sequential':>10s} "
          f"{'ratio':>6s} | cpu s: {'batched':>8s} {'sequential':>10s} {'ratio':>6s} | same load")
    for name in args.only.split(","):
        config = CASES[name]
        wall, cpu, ok = ([], []), ([], []), True
        for _ in range(args.repeats):
            runs = []
            for i, batched in enumerate((True, False)):
                t = time.perf_counter()
                runs.append(run_experiment(config, batched=batched))
                wall[i].append(time.perf_counter() - t)
                cpu[i].append(runs[-1].cpu_seconds)
            ok = ok and same(*runs)
        (wb, ws), (cb, cs) = ([statistics.median(v) for v in x] for x in (wall, cpu))
        print(f"{name:12s} {len(members(config)):8d} | {wb:16.1f} {ws:10.1f} {ws / wb:5.2f}× "
              f"| {cb:15.1f} {cs:10.1f} {cs / cb:5.2f}× | {'yes' if ok else 'NO':4s} "
              f"{os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    main()
