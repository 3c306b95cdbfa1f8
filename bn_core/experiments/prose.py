"""The experiments' verdicts in words: the Verdict record, number formats, the paired,
Holm-corrected comparisons the verdicts are built from (the statistics: bn_core.stats), and the
sentences every page with such verdicts shares: its rule and what its seeds can show."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from bn_core.experiments.training import SweepResult
from bn_core.records import network_label
from bn_core.stats import (ALPHA, Ranking, Summary, Test, holm, paired_test, seeds_needed,
                          smallest_p)

__all__ = ["Verdict", "RULE", "pct", "fmt", "points", "over", "num", "cap", "a_or_an",
           "join_words", "within_sentence", "seed_pairs", "family", "final_of", "setting_tests",
           "by_setting", "page_rule", "few_seeds_text", "untestable", "bare_points"]


@dataclass
class Verdict:
    """A headline and supporting sentences (markdown), computed from the data; `tests`: the
    comparisons it makes (Holm-corrected together with every other test of its page's Run)."""

    headline: str
    details: list[str] = field(default_factory=list)
    winner: str | None = None
    tests: list[Test] = field(default_factory=list)


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


def cap(text: str) -> str:
    """First letter upper case ('BN …' stays 'BN …', unlike str.capitalize)."""
    return text[:1].upper() + text[1:]


def a_or_an(word: str) -> str:
    return ("an " if word[:1].lower() in "aeiou" else "a ") + word


def join_words(items: Sequence[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def page_rule(tests: Sequence[Test]) -> str:
    """How "clear" is decided on a page: one family for everything its Run shows."""
    m = len(tests)
    if not m:
        return "Nothing here is tested: no comparison makes a “clear” claim."
    return (f"Everything this Run shows is one family of {m} comparison{'s' if m > 1 else ''}: "
            "a difference is called clear only if it passes an exact paired test (the sign-flip "
            "test: the same seed on both sides; its p-value counts the ways of swapping the two "
            "networks within seeds that give a mean difference at least as large) after Holm's "
            f"correction across all {m}, which keeps the chance of even one false “clear” on this "
            "page under 5%. The ± after a difference is the margin it had to exceed at its level.")


def untestable(seeds: int, m: int) -> str:
    """'with 3 seeds no difference can be clear (use 9 or more)'."""
    return (f"with {seeds} seed{'s' if seeds != 1 else ''} no difference can be clear (use "
            f"{seeds_needed(m)} or more)")


def few_seeds_text(seeds: int, tests: Sequence[Test]) -> str | None:
    """What a page's seeds can show, said plainly where they can't show anything; None where
    they can."""
    m = max(len(tests), 1)
    need = seeds_needed(m)
    if seeds >= need:
        return None
    if seeds < 2:
        return (f"With one seed per network there is no spread to compare a difference with, so "
                f"nothing can be tested: use {need} or more seeds.")
    return (f"With {seeds} seeds nothing on this page can be clear: the exact paired test's "
            f"smallest possible p-value with {seeds} seeds is 2/2^{seeds} = {smallest_p(seeds):.3g} "
            f"(every seed agreeing), and Holm tests the strongest of this page's {m} comparisons "
            f"at 5%/{m} = {ALPHA / m:.3g}. The numbers show what happened in these seeds, not "
            f"what is clear. Use {need} or more seeds (2/2^{need} = {smallest_p(need):.2g}).")


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
