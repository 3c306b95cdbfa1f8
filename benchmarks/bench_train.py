"""How much does recording cost? The streaming trainer vs bare training loops, side by side.

The paper's Figure-1 network (3 hidden layers of 100 sigmoid units, batch 60, SGD) on digits,
without and with BN (before the activation), trained for the same number of steps by:

    trainer      bn_core.trainer.Run, recording a snapshot every 50 steps (what the pages use)
    bare engine  the same bn_core.engine.Stack, the same batches, recording nothing
    bare torch   plain PyTorch: nn.Sequential(Linear, BatchNorm1d, Sigmoid…) + torch.optim.SGD,
                 one network after the other, recording nothing

Repeats interleave the variants and report medians (this machine is noisy). It prints steps/s
(a step = one update of both networks) and the ratios; the target is trainer / bare ≥ 0.90.
It also compares 1 and 2 torch threads for the trainer.

    python benchmarks/bench_train.py [--steps 1000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bn_core.data import load_dataset  # noqa: E402
from bn_core.engine import NetSpec, Stack  # noqa: E402
from bn_core.trainer import BatchOrder, Run, TrainConfig  # noqa: E402

CONFIG = TrainConfig(depth=3, width=100, activation="sigmoid", placement="before",
                     optimizer="sgd", lr=0.5, batch_size=60, init_scale=0.1, record_every=50)


def trainer(steps: int, threads: int = 1) -> float:
    run = Run(CONFIG.replace(steps=steps))
    run.threads = threads
    t = time.perf_counter()
    for _ in run.stream():
        pass
    return steps / (time.perf_counter() - t)


def bare_engine(steps: int) -> float:
    torch.set_num_threads(1)
    d = load_dataset(CONFIG.dataset)
    specs = [NetSpec(p, CONFIG.lr, CONFIG.eps, CONFIG.momentum, CONFIG.init_scale, CONFIG.seed)
             for p in CONFIG.networks]
    stack = Stack(d.n_features, CONFIG.hidden, d.n_classes, CONFIG.activation, specs)
    order = BatchOrder(d.x_train.shape[0], CONFIG.batch_size, CONFIG.seed)
    x_np, y_np = d.x_train.numpy(), d.y_train.numpy()        # indexed as the trainer does
    t = time.perf_counter()
    with torch.no_grad():
        for _ in range(steps):
            idx = order.next().numpy()
            stack.train_step(torch.from_numpy(x_np[idx]), torch.from_numpy(y_np[idx]))
    return steps / (time.perf_counter() - t)


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
    t = time.perf_counter()
    for _ in range(steps):
        idx = order.next()
        x, y = d.x_train[idx], d.y_train[idx]
        for net, opt in nets:
            loss = F.cross_entropy(net(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return steps / (time.perf_counter() - t)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    load_dataset(CONFIG.dataset)
    variants = {
        "trainer (1 thread)": lambda: trainer(args.steps, 1),
        "trainer (2 threads)": lambda: trainer(args.steps, 2),
        "bare engine": lambda: bare_engine(args.steps),
        "bare torch": lambda: bare_torch(args.steps),
    }
    for f in variants.values():       # warm-up
        f()
    results = {name: [] for name in variants}
    for _ in range(args.repeats):
        for name, f in variants.items():
            results[name].append(f())
    med = {name: statistics.median(v) for name, v in results.items()}
    print(f"Figure-1 network (3×100 sigmoid, batch 60, SGD) on digits, without + with BN; "
          f"{args.steps} steps × {args.repeats} repeats, medians")
    for name, v in med.items():
        print(f"  {name:22s} {v:8.1f} steps/s")
    print(f"ratio trainer / bare engine  = {med['trainer (1 thread)'] / med['bare engine']:.2f}"
          "   (target ≥ 0.90: recording costs at most 10%)")
    print(f"ratio trainer / bare torch   = {med['trainer (1 thread)'] / med['bare torch']:.2f}"
          "   (the engine vs plain PyTorch modules + autograd)")
    print(f"ratio 1 thread / 2 threads   = {med['trainer (1 thread)'] / med['trainer (2 threads)']:.2f}"
          "   (> 1: one thread is faster)")


if __name__ == "__main__":
    main()
