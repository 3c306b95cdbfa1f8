"""The experiments' verdicts in words: number formats and the paired, Holm-corrected comparisons
the verdicts are built from (the statistics: bn_core.stats). The Verdict record and the sentences
every page with verdicts shares (its rule, what its seeds can show): bn_core.verdicts."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from bn_core.experiments.training import SweepResult
from bn_core.records import network_label
from bn_core.stats import ALPHA, Ranking, Summary, Test, holm, paired_test, seeds_needed
from bn_core.verdicts import cap, join_words, untestable

__all__ = ["pct", "fmt", "points", "over", "num", "a_or_an", "within_sentence", "seed_pairs",
           "family", "final_of", "setting_tests", "by_setting", "bare_points"]


def pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def fmt(s: Summary) -> str:
    """'94.1% ± 0.6': mean ± sample standard deviation over seeds (the seeds are said once per
    sentence, by the caller)."""
    if s.n == 1:
        return pct(s.mean)
    return f"{pct(s.mean)} ± {100 * s.sd:.1f}"


def points(t: Test) -> str:
    """'+12.3 ± 4.5 points': a difference of accuracies and the margin it had to exceed to be
    clear at its Holm level (the exact test's; '+12.3 points' where it can't be tested)."""
    diff = f"{100 * t.diff:+.1f}".replace("-", "−")
    if not math.isfinite(t.margin):
        return f"{diff} points"
    return f"{diff} ± {100 * t.margin:.1f} points"


def bare_points(t: Test) -> str:
    """'+12.3 points': a difference of accuracies alone."""
    return f"{100 * t.diff:+.1f}".replace("-", "−") + " points"


def over(n: int) -> str:
    return "1 seed" if n == 1 else f"mean ± sd over {n} seeds"


def num(x: float) -> str:
    return f"{x:g}"


def a_or_an(word: str) -> str:
    return ("an " if word[:1].lower() in "aeiou" else "a ") + word


def seed_pairs(runs_a, runs_b, value) -> tuple[np.ndarray, np.ndarray]:
    """value(run) of a and of b for the seeds both have, in seed order: (n,), (n,)."""
    a = {r.member.seed: value(r) for r in runs_a}
    b = {r.member.seed: value(r) for r in runs_b}
    seeds = sorted(set(a) & set(b))
    return (np.array([a[s] for s in seeds], dtype=float),
            np.array([b[s] for s in seeds], dtype=float))


def family(pairs: Mapping) -> dict:
    """Exact paired tests of each (a, b) in `pairs` (key → (a values, b values)), Holm-corrected
    together (a page's whole Run is one family): key → Test."""
    keys = list(pairs)
    tests = holm([paired_test(*pairs[k]) for k in keys], ALPHA)
    return dict(zip(keys, tests))


def final_of(result: SweepResult):
    return lambda r: result.chance if r.diverged else r.final_acc


def setting_tests(result: SweepResult) -> dict[float, Test]:
    """lr, init, batch: BN against without BN at each setting, final accuracy paired by seed,
    one Holm family over the settings: setting → Test (diff = BN − without BN)."""
    cfg = result.config
    final = final_of(result)
    pairs = {v: seed_pairs(result.select(cfg.placement, setting=v),
                            result.select("none", setting=v), final) for v in cfg.settings}
    return family(pairs)


def by_setting(bn: str, tests: Mapping[float, Test], noun: str, unit_fmt=num,
               seeds: int = 0, m: int = 0) -> str:
    """'BN before activation against without BN, learning rate by learning rate: clearly
    better at 1 (+40.1 ± 9.2 points), …; clearly worse at …; the data don't separate them at …';
    where the page's seeds can't make anything clear (m: the page's tests), it says so and gives
    the differences."""
    head = f"{cap(network_label(bn))} against without BN, {noun}: "
    if m and seeds < seeds_needed(m):
        return (head + untestable(seeds, m) + "; the mean per-seed differences were " +
                ", ".join(f"{bare_points(t)} at {unit_fmt(v)}" for v, t in tests.items()) + ".")
    better = [f"{unit_fmt(v)} ({points(t)})" for v, t in tests.items() if t.sign > 0]
    worse = [f"{unit_fmt(v)} ({points(t)})" for v, t in tests.items() if t.sign < 0]
    same = [unit_fmt(v) for v, t in tests.items() if t.sign == 0]
    parts = []
    if better:
        parts.append(f"clearly better at {', '.join(better)}")
    if worse:
        parts.append(f"clearly worse at {', '.join(worse)}")
    if same:
        parts.append(f"the data don't separate them at {', '.join(same)}")
    return head + "; ".join(parts) + "."


def within_sentence(ranking: Ranking, names: Mapping[str, str]) -> str:
    """' Among them, A is clearly ahead of C.': the pairs inside a tie that are separated (no
    group beats all the others, yet some pairs differ), so the tie is not read as 'all equal'."""
    if not ranking.within:
        return ""
    return " Among them, " + join_words([f"{names[x]} is clearly ahead of {names[y]}"
                                          for x, y in ranking.within]) + "."
