"""How much does recording cost? The streaming trainer vs bare training loops, side by side.

The paper's Figure-1 network (3 hidden layers of 100 sigmoid units, batch 60, SGD) on digits,
without and with BN (before the activation), trained for the same number of steps by:

    trainer      bn_core.trainer.Run, recording a snapshot every 50 steps, every 25, and as the
                 lab records (bn_core.lab.presets.record_every_for: every 30 steps of a
                 1,500-step run, plus the early log-spaced ones; issue #25: trainer / bare ≥ 0.85),
                 and with two snapshots only (the first and the last: the trainer's own work)
    bare engine  the same bn_core.engine.Stack, the same batches, recording nothing
    bare torch   plain PyTorch: nn.Sequential(Linear, BatchNorm1d, Sigmoid…) + torch.optim.SGD,
                 one network after the other, recording nothing

Repeats interleave the variants and report medians (this machine is noisy). It prints steps/s
(a step = one update of both networks) and the ratios; the target is trainer / bare ≥ 0.85.
It also prints what one snapshot costs (its parts timed apart: the probe-set forward pass, the
test-set prediction, the statistics) in training steps, how many snapshots the 15 % budget
leaves room for once the trainer's own per-step work is paid, and compares 1 and 2 torch threads for
the trainer, and the second core used by Python threads (the compiled loops release the GIL):
two seeds of the pair trained on two threads at once against one after the other, and the
pair's two networks as two runs on two threads against one run of both.

    python benchmarks/bench_train.py [--steps 1500] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bn_core.data import load_dataset  # noqa: E402
from bn_core.engine import NetSpec, Stack  # noqa: E402
from bn_core.lab.presets import record_every_for  # noqa: E402
from bn_core.records import layer_records  # noqa: E402
from bn_core.trainer import BatchOrder, Run, TrainConfig, snapshot_steps  # noqa: E402

CONFIG = TrainConfig(depth=3, width=100, activation="sigmoid", placement="before",
                     optimizer="sgd", lr=0.5, batch_size=60, init_scale=0.1, record_every=50)


def trainer(steps: int, threads: int = 1, record_every: int = 50, early: bool = True) -> float:
    run = Run(CONFIG.replace(steps=steps, record_every=record_every), early=early)
    run.threads = threads
    t, c = time.perf_counter(), time.thread_time()
    for _ in run.stream():
        pass
    return steps / (time.perf_counter() - t), steps / (time.thread_time() - c)


def snapshot_parts(repeats: int = 200) -> dict[str, float]:
    """CPU seconds of one snapshot's parts, after a short run: the probe forward pass, the
    test-set prediction, the statistics of every layer (bn_core.records.layer_records)."""
    run = Run(CONFIG.replace(steps=100, record_every=25))
    for _ in run.stream():
        pass
    st, z = run.stack, run.stack.probe(run.probe)
    parts = {"probe forward": lambda: st.probe(run.probe),
             "test prediction": lambda: st.predict(run._x_test),
             "statistics": lambda: [layer_records(v, run.history.edges, CONFIG.activation)
                                    for v in z]}
    out = {}
    for name, f in parts.items():
        f()
        c = time.thread_time()
        for _ in range(repeats):
            f()
        out[name] = (time.thread_time() - c) / repeats
    return out


def on_threads(runs: list[Run], threads: bool) -> float:
    """Seconds to train `runs` to the end: each on its own Python thread, or one after another."""
    def train(run):
        for _ in run.stream():
            pass
    t, c = time.perf_counter(), time.process_time()
    if threads:
        workers = [threading.Thread(target=train, args=(r,)) for r in runs]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
    else:
        for r in runs:
            train(r)
    return time.perf_counter() - t, time.process_time() - c


def two_seeds(steps: int, threads: bool) -> float:
    """Steps/s of each of two seeds of the pair, recording every 25 steps."""
    config = CONFIG.replace(steps=steps, record_every=25)
    return tuple(2 * steps / x for x in
                 on_threads([Run(config.replace(seed=s)) for s in (0, 1)], threads))


def pair_split(steps: int, threads: bool) -> float:
    """Steps/s of the pair: both networks in one Run (threads=False), or one Run per network on
    two threads (the same numbers: the networks share initial weights and batches either way)."""
    config = CONFIG.replace(steps=steps, record_every=25)
    runs = [Run(config, networks=[n]) for n in config.networks] if threads else [Run(config)]
    return tuple(steps / x for x in on_threads(runs, threads))


def bare_engine(steps: int) -> float:
    torch.set_num_threads(1)
    d = load_dataset(CONFIG.dataset)
    specs = [NetSpec(p, CONFIG.lr, CONFIG.eps, CONFIG.momentum, CONFIG.init_scale, CONFIG.seed)
             for p in CONFIG.networks]
    stack = Stack(d.n_features, CONFIG.hidden, d.n_classes, CONFIG.activation, specs)
    order = BatchOrder(d.x_train.shape[0], CONFIG.batch_size, CONFIG.seed)
    x_np, y_np = d.x_train.numpy(), d.y_train.numpy()        # indexed as the trainer does
    t, c = time.perf_counter(), time.thread_time()
    with torch.no_grad():
        for _ in range(steps):
            idx = order.next().numpy()
            stack.train_step(torch.from_numpy(x_np[idx]), torch.from_numpy(y_np[idx]))
    return steps / (time.perf_counter() - t), steps / (time.thread_time() - c)


def bare_torch(steps: int) -> float:
    torch.set_num_threads(1)
    d = load_dataset(CONFIG.dataset)
    nets = []
    for bn in (False, True):
        layers, dims = [], [d.n_features, *CONFIG.hidden]
        for i in range(CONFIG.depth):
            layers.append(nn.Linear(dims[i], dims[i + 1], bias=not bn))
            if bn:
                layers.append(nn.BatchNorm1d(dims[i + 1]))
            layers.append(nn.Sigmoid())
        layers.append(nn.Linear(dims[-1], d.n_classes))
        net = nn.Sequential(*layers)
        nets.append((net, torch.optim.SGD(net.parameters(), lr=CONFIG.lr)))
    order = BatchOrder(d.x_train.shape[0], CONFIG.batch_size, CONFIG.seed)
    t, c = time.perf_counter(), time.thread_time()
    for _ in range(steps):
        idx = order.next()
        x, y = d.x_train[idx], d.y_train[idx]
        for net, opt in nets:
            loss = F.cross_entropy(net(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return steps / (time.perf_counter() - t), steps / (time.thread_time() - c)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    load_dataset(CONFIG.dataset)
    lab_every = record_every_for(CONFIG.replace(steps=args.steps))
    variants = {
        "trainer, every 50": lambda: trainer(args.steps, 1),
        "trainer, every 25": lambda: trainer(args.steps, 1, 25),
        "trainer, as the lab": lambda: trainer(args.steps, 1, lab_every),
        "trainer, 2 snapshots": lambda: trainer(args.steps, 1, min(args.steps, 10_000), early=False),
        "bare engine": lambda: bare_engine(args.steps),
        "bare torch": lambda: bare_torch(args.steps),
        "2 seeds, one by one": lambda: two_seeds(args.steps, False),
        "2 seeds, 2 threads": lambda: two_seeds(args.steps, True),
        "pair in one run": lambda: pair_split(args.steps, False),
        "pair, 2 runs, 2 threads": lambda: pair_split(args.steps, True),
        "trainer, 2 torch threads": lambda: trainer(args.steps, 2),
    }
    for f in variants.values():       # warm-up
        f()
    results = {name: [] for name in variants}
    for _ in range(args.repeats):
        for name, f in variants.items():
            results[name].append(f())
    med = statistics.median
    wall = {name: med([w for w, _ in v]) for name, v in results.items()}
    cpu = {name: med([c for _, c in v]) for name, v in results.items()}
    print(f"Figure-1 network (3×100 sigmoid, batch 60, SGD) on digits, without + with BN; "
          f"{args.steps} steps × {args.repeats} repeats, medians; steps/s of wall-clock and of "
          "CPU time (the main thread's, or the process's for the\n  thread variants: the steadier on a shared machine)")
    for name in variants:
        spread = [w for w, _ in results[name]]
        print(f"  {name:26s} wall {wall[name]:7.1f}  CPU {cpu[name]:7.1f} steps/s   "
              f"(wall spread {(max(spread) - min(spread)) / wall[name]:.0%})")

    def ratio(a, b, what):
        per = [x[what] / y[what] for x, y in zip(results[a], results[b])]
        return med(per), f"{min(per):.2f}…{max(per):.2f}"

    for a, b, note in (
            ("trainer, every 50", "bare engine", "snapshots every 50"),
            ("trainer, every 25", "bare engine", "every 25"),
            ("trainer, as the lab", "bare engine",
             f"every {lab_every} + the early ones, the lab's recording: target ≥ 0.85"),
            ("trainer, every 50", "bare torch", "the engine vs plain PyTorch + autograd")):
        (rw, sw), (rc, sc) = ratio(a, b, 0), ratio(a, b, 1)
        print(f"ratio {a} / {b}: CPU {rc:.2f} ({sc}), wall {rw:.2f} ({sw})   ({note})")
    step = 1 / cpu["bare engine"]
    parts = snapshot_parts()
    print("one snapshot: " + ", ".join(f"{k} {v * 1e3:.2f} ms" for k, v in parts.items())
          + f" = {sum(parts.values()) / step:.1f} training steps of the pair "
          f"({sum(parts.values()) * 1e3:.2f} ms; a step {step * 1e3:.2f} ms)")
    budget = args.steps * step / 0.85 - args.steps * step          # trainer / bare ≥ 0.85
    own = args.steps / cpu["trainer, 2 snapshots"] - args.steps * step
    lab = len(snapshot_steps(args.steps, lab_every))
    snapshot = (args.steps / cpu["trainer, as the lab"] - args.steps / cpu["trainer, 2 snapshots"]
                ) / (lab - 2)                      # one snapshot in a run, everything included
    print(f"the 15 % budget (trainer / bare ≥ 0.85) is {budget * 1e3:.0f} ms of a "
          f"{args.steps:,}-step run; the trainer's own work (its per-step checks and sums, and "
          f"two snapshots) takes {own * 1e3:.0f} ms; a snapshot in the run costs "
          f"{snapshot * 1e3:.2f} ms, so the budget leaves room for "
          f"{max(budget - own, 0) / snapshot + 2:.0f} snapshots; the lab records {lab}")
    for a, b, note in (("2 seeds, 2 threads", "2 seeds, one by one", "second core: two seeds"),
                       ("pair, 2 runs, 2 threads", "pair in one run", "second core: the pair"),
                       ("trainer, 2 torch threads", "trainer, every 50", "2 torch threads")):
        (rw, sw), (rc, _) = ratio(a, b, 0), ratio(a, b, 1)
        print(f"ratio {a} / {b}: wall {rw:.2f} ({sw}), CPU {rc:.2f}   ({note}; wall > 1: it wins)")


if __name__ == "__main__":
    main()
