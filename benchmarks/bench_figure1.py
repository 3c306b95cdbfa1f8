"""Figure 1 in numbers: does the lab's Paper setup show the distributions drifting without BN and
staying put with BN? Trains the Paper setup (bn_core.lab.presets.PAPER_SETUP, 50,000 steps) as
the lab does, and prints, for the last hidden layer, the late drift of a typical unit's median
(from the snapshot at 2 % of the run to the end, in units of its final 15–85 % spread; see
bn_core.lab.measures) without and with BN, their ratio, each one's noise floor (the drift's own
jitter between neighbouring late snapshots) and how many floors the drift is, the test
accuracies and the wall time; and the time of the bare engine (bn_core.engine.Stack on the same
batches, recording nothing) for the same steps: the Paper setup's run over the bare engine's, in
wall-clock and in CPU time (the steadier on a shared machine; issue #25: target ≤ 1.2).

Targets (issue: the lab's Figure 1): ratio ≥ 3, the drift without BN ≥ 0.10, and the contrast
above the noise: the difference of the drifts ≥ 10 floors (issue #23).

    python benchmarks/bench_figure1.py                 # the Paper setup, seeds 0 and 1
    python benchmarks/bench_figure1.py --compare       # also standardised inputs and MNIST
    python benchmarks/bench_figure1.py --steps 5000    # shorter, for a quick look
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bn_core.lab.measures import drift, late_start  # noqa: E402
from bn_core.lab.presets import PAPER_SETUP, record_every_for  # noqa: E402
from bn_core.trainer import Run  # noqa: E402


def bare(config) -> tuple[float, float]:
    """(wall, CPU) seconds of `config.steps` steps of the bare engine on the run's batches."""
    import torch

    from bn_core.data import load_dataset
    from bn_core.engine import NetSpec, Stack
    from bn_core.trainer import BatchOrder

    torch.set_num_threads(1)
    d = load_dataset(config.dataset, scaling=config.scaling)
    specs = [NetSpec(p, config.lr, config.eps, config.momentum, config.init_scale, config.seed)
             for p in config.networks]
    stack = Stack(d.n_features, config.hidden, d.n_classes, config.activation, specs)
    order = BatchOrder(d.x_train.shape[0], config.batch_size, config.seed)
    x_np, y_np = d.x_train.numpy(), d.y_train.numpy()
    start, cpu = time.perf_counter(), time.thread_time()
    with torch.no_grad():
        for _ in range(config.steps):
            idx = order.next_numpy()
            stack.train_step(x_np[idx], y_np[idx])
    return time.perf_counter() - start, time.thread_time() - cpu


def measure(config, label: str) -> dict:
    config = config.replace(record_every=record_every_for(config))
    start, cpu = time.perf_counter(), time.thread_time()
    run = Run(config)
    for _ in run.stream():
        pass
    seconds, cpu = time.perf_counter() - start, time.thread_time() - cpu
    b_wall, b_cpu = bare(config)
    print(f"   bare engine, the same {config.steps:,} steps: {b_wall:.1f} s; the run / the bare "
          f"engine: wall {seconds / b_wall:.2f}, CPU {cpu / b_cpu:.2f} (target ≤ 1.2), "
          f"{len(run.history.frames)} snapshots", flush=True)
    h, layer = run.history, config.depth - 1
    a = late_start(h)
    d = {n: drift(h, n, layer, start=a) for n in h.networks}
    acc = {n: h.snapshots(n)[-1].test_acc for n in h.networks}
    none, bn = d["none"].moved, d["before"].moved
    floor = max(d["none"].noise, d["before"].noise)
    print(f"{label:38s} {seconds:6.1f} s  late drift (step {a:,} → {h.last_step:,}): "
          f"without BN {none:.3f} (noise {d['none'].noise:.4f}, {d['none'].over_noise:.0f}×), "
          f"with BN {bn:.3f} (noise {d['before'].noise:.4f}, {d['before'].over_noise:.0f}×), "
          f"ratio {none / bn:4.1f}×, difference {(none - bn) / floor:.0f} floors   "
          f"test acc {acc['none']:.1%} / {acc['before']:.1%}", flush=True)
    return {"seconds": seconds, "none": none, "bn": bn, "ratio": none / bn,
            "floors": (none - bn) / floor, "over_bare": cpu / b_cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=PAPER_SETUP.steps)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--compare", action="store_true")
    args = parser.parse_args()
    base = PAPER_SETUP.replace(steps=args.steps)
    variants = [("Paper setup (digits, raw pixels)", base)]
    if args.compare:
        variants += [("digits, standardised inputs", base.replace(scaling="standard")),
                     ("MNIST 5k (28×28), raw pixels", base.replace(dataset="mnist"))]
    results = []
    for label, config in variants:
        for seed in args.seeds:
            results.append((label, measure(config.replace(seed=seed), f"{label}, seed {seed}")))
    paper = [r for label, r in results if label.startswith("Paper")]
    worst = min(r["ratio"] for r in paper)
    over = ", ".join(f"{r['over_bare']:.2f}" for r in paper)
    print(f"\nPaper setup: smallest ratio {worst:.1f}× (target ≥ 3), smallest drift without BN "
          f"{min(r['none'] for r in paper):.3f} (target ≥ 0.10), smallest difference "
          f"{min(r['floors'] for r in paper):.0f} noise floors (target ≥ 10), longest run "
          f"{max(r['seconds'] for r in paper):.0f} s (target ≤ 60 s on this machine); the run / "
          f"the bare engine in CPU time: {over} (target ≤ 1.2)")


if __name__ == "__main__":
    main()
