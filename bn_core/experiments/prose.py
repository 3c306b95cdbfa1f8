"""The experiments' verdicts in words: number formats and the paired, Holm-corrected comparisons
the verdicts are built from (the statistics: bn_core.stats). The Verdict record and the sentences
every page with verdicts shares (its rule, what its seeds can show): bn_core.verdicts.

Every comparison is clear only beyond a practical margin (`family(pairs, margin)`: the minimum
effect of bn_core.stats.paired_test; the margins, one per kind of measure, are bn_core.verdicts'
ACCURACY_MARGIN, RATIO_MARGIN, …): a gap a learner can't see on the charts is reported with its
± (which includes the margin) but not called a difference, and one whose ± lies inside the
margin (`Test.negligible`) reads "about the same" (`about`, `mark`)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import numpy as np

from bn_core.experiments.training import SweepResult
from bn_core.records import network_label
from bn_core.stats import ALPHA, Ranking, Summary, Test, holm, paired_test, seeds_needed
from bn_core.verdicts import ACCURACY_MARGIN, POINT, cap, join_words, untestable

__all__ = ["pct", "fmt", "points", "over", "num", "a_or_an", "within_sentence", "seed_pairs",
           "family", "final_of", "setting_tests", "by_setting", "bare_points", "about", "mark",
           "budget_sentence", "best_sizes", "plural", "signed", "seeds_shown", "evaluations"]


def plural(n: int, word: str, many: str | None = None) -> str:
    """'1 step', '2 steps', '1,000 steps' (`many`: an irregular plural)."""
    return f"{n:,} {word if n == 1 else many or word + 's'}"


def signed(x: float, spec: str = "+.1f") -> str:
    """A signed number with the typographic minus: '+1.3', '−1.3'."""
    return format(x, spec).replace("-", "−")


def seeds_shown(n: int, stat: str = "mean", band: str = "range") -> str:
    """A chart title's seeds: 'mean of 5 seeds (line) and their range (band)'; with one seed,
    '1 seed (line)' (no mean, no band to speak of)."""
    if n == 1:
        return "1 seed (line)"
    return f"{stat} of {n} seeds (line) and their {band} (band)"


def evaluations(result: SweepResult) -> str:
    """How many times each network's eval-mode test accuracy was measured (the points of its
    curve, as in the Curves CSV): 'Test accuracy is measured in eval mode 11 times per network,
    on the 360 test examples.'; where batch sizes train different numbers of steps, the range."""
    counts: dict[float, int] = {}
    for r in result.networks:
        counts[r.member.setting] = max(counts.get(r.member.setting, 0), len(r.steps))
    on = f", on the {result.n_test:,} test examples" if result.n_test else ""
    lo, hi = min(counts.values(), default=0), max(counts.values(), default=0)
    head = "Test accuracy is measured in eval mode"
    if lo == hi:
        return f"{head} {plural(hi, 'time')} per network (step 0 included){on}."
    cfg = result.config
    few = max((s for s, c in counts.items() if c == lo))
    many = min((s for s, c in counts.items() if c == hi))
    steps = cfg.steps_for(int(few))
    return (f"{head} from {plural(hi, 'time')} per network (batches of {int(many)}) down to "
            f"{plural(lo, 'time')} (batches of {int(few)}, which train {plural(steps, 'step')}), "
            f"step 0 included{on}.")


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
    diff = signed(100 * t.diff)
    if not math.isfinite(t.margin):
        return f"{diff} points"
    return f"{diff} ± {100 * t.margin:.1f} points"


def bare_points(t: Test) -> str:
    """'+12.3 points': a difference of accuracies alone."""
    return signed(100 * t.diff) + " points"


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


def family(pairs: Mapping, margin: float | Callable[[object], float]) -> dict:
    """Exact paired tests of each (a, b) in `pairs` (key → (a values, b values)), each clear
    only beyond its practical margin (`margin`: one for all, or key → margin; bn_core.verdicts'
    constants), Holm-corrected together (a page's whole Run is one family): key → Test."""
    keys = list(pairs)
    of = margin if callable(margin) else (lambda _k: margin)
    tests = holm([paired_test(*pairs[k], min_effect=of(k)) for k in keys], ALPHA)
    return dict(zip(keys, tests))


def about(t: Test) -> bool:
    """Not clear, and its ± inside the margin: the data put the gap below what counts."""
    return not t.clear and t.negligible


def mark(t: Test, same: str = "about the same") -> str:
    """' (clear)', ' (about the same)' (`about`), or ''."""
    return " (clear)" if t.clear else f" ({same})" if about(t) else ""


def final_of(result: SweepResult):
    return lambda r: result.chance if r.diverged else r.final_acc


def setting_tests(result: SweepResult) -> dict[float, Test]:
    """lr, init, batch: BN against without BN at each setting, final accuracy paired by seed,
    clear only beyond the 1-point accuracy margin, one Holm family over the settings:
    setting → Test (diff = BN − without BN)."""
    cfg = result.config
    final = final_of(result)
    pairs = {v: seed_pairs(result.select(cfg.placement, setting=v),
                            result.select("none", setting=v), final) for v in cfg.settings}
    return family(pairs, ACCURACY_MARGIN)


def by_setting(bn: str, tests: Mapping[float, Test], noun: str, unit_fmt=num,
               seeds: int = 0, m: int = 0) -> str:
    """'BN before activation against without BN, learning rate by learning rate: clearly
    better at 1 (+40.1 ± 9.2 points), …; clearly worse at …; about the same at … (within 1
    point); the data don't separate them at …'; where the page's seeds can't make anything clear
    (m: the page's tests), it says so and gives the differences."""
    head = f"{cap(network_label(bn))} against without BN, {noun}: "
    if m and seeds < seeds_needed(m):
        return (head + untestable(seeds, m) + "; the mean per-seed differences were " +
                ", ".join(f"{bare_points(t)} at {unit_fmt(v)}" for v, t in tests.items()) + ".")
    better = [f"{unit_fmt(v)} ({points(t)})" for v, t in tests.items() if t.sign > 0]
    worse = [f"{unit_fmt(v)} ({points(t)})" for v, t in tests.items() if t.sign < 0]
    alike = [unit_fmt(v) for v, t in tests.items() if about(t)]
    same = [unit_fmt(v) for v, t in tests.items() if t.sign == 0 and not about(t)]
    parts = []
    if better:
        parts.append(f"clearly better at {', '.join(better)}")
    if worse:
        parts.append(f"clearly worse at {', '.join(worse)}")
    if alike:
        parts.append(f"about the same at {', '.join(alike)} (within {POINT})")
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


def budget_sentence(result: SweepResult) -> str:
    """What each batch size trained for, and why equal examples is the fair comparison."""
    cfg = result.config
    sizes = [int(b) for b in cfg.settings]
    lo, hi = sizes[0], sizes[-1]
    n_train = result.n_train
    if cfg.budget == "examples":
        epochs = f" (about {cfg.examples / n_train:.3g} epochs of the {n_train:,} training images)" \
            if n_train else ""
        text = (f"Every network saw the same {cfg.examples:,} training examples{epochs}: "
                f"{cfg.steps_for(lo):,} steps with batches of {lo}")
        if hi != lo:
            text += f", {cfg.steps_for(hi):,} with batches of {hi}"
        return text + (". So the comparison is at equal data, not equal steps; the learning rate "
                       "is the same for all, so larger batches take fewer, equally long steps.")
    text = f"Every network trained {cfg.steps:,} steps"
    if hi != lo:
        text += (f", so batches of {hi} saw {hi // lo}× more training examples than batches of "
                 f"{lo} ({cfg.steps * hi:,} against {cfg.steps * lo:,}): the comparison mixes "
                 f"batch size with the amount of training. Choose “equal examples” to separate them")
    return text + "."


def best_sizes(result: SweepResult) -> str:
    """What batch size changed for each network (medians over seeds; described, not tested)."""
    cfg = result.config
    parts = []
    for p in cfg.networks:
        med = {int(b): float(np.median(result.final(result.select(p, setting=b))))
               for b in cfg.settings}
        hi, lo = max(med, key=med.get), min(med, key=med.get)
        parts.append(f"{network_label(p)} did best with batches of {hi} ({pct(med[hi])}) and "
                     f"worst with {lo} ({pct(med[lo])})")
    return ("What batch size changed (median eval-mode test accuracy over seeds, described, not "
            "tested): " + "; ".join(parts) + ".")
