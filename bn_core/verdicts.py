"""What every lesson's verdicts share (experiments, why, alternatives): the Verdict record and
the sentences around them — how "clear" is decided on a page (its rule) and what its seeds can
show. The statistics behind them: bn_core.stats.

    Verdict                 a headline, its details, and the tests it makes
    rule(verdicts, tail)    one Holm family for everything a Run shows, then the page's own tail
    few_seeds(seeds, vs)    what the seeds can show, where they are too few for anything clear
    margins_sentence(words) what a difference must exceed to count (the margins below)

The practical margins, one per kind of measure and the same on every page (why, experiments,
norms): a difference is called clear only where it is clearly beyond its margin (the minimum
effect of bn_core.stats.paired_test: p = max(plain p, p of the gaps shifted toward 0 by the
margin), never below the plain p, so a page's Holm family keeps its error where nothing
differs, and at a true gap of exactly the margin it is clear in at most 5 % of Runs). A gap a
learner can't see on the charts — every seed a tenth of a point behind — is reported, not
called a difference; one whose whole ± lies inside the margin reads "about the same".

    ACCURACY_MARGIN   1 accuracy point (0.01): 2 test examples of the 200 of a 2-D problem, 3.6
                      of the 360 of digits; about two seed-to-seed standard deviations of one
                      network's accuracy (0.4–0.5 points), and the size of gap the accuracy
                      charts show apart. For every accuracy and every difference of accuracy
                      gaps (final, average over training, eval against training mode, a gain at
                      one batch size against another)
    RATIO_FACTOR      a factor 1.1 (a 10 % change) for positive measures compared as ratios,
    RATIO_MARGIN      in log10 (RATIO_MARGIN = log10 1.1 ≈ 0.041): jitter, drift, loss ranges,
                      ‖W‖, steps to a target, drift's growth per layer; descriptive bands use
                      the same factor (`about_one`: 1/1.1 to 1.1, "within 10 %")
    COS_MARGIN        0.01 for a cosine (it lies in [−1, 1])
    LOSS_MARGIN       0.01 for a mean training loss (a cross-entropy starts at ln 10 ≈ 2.3)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from bn_core.stats import ALPHA, Test, seeds_needed, smallest_p

__all__ = ["Verdict", "rule", "few_seeds", "page_rule", "few_seeds_text", "untestable", "cap",
           "join_words", "ACCURACY_MARGIN", "RATIO_FACTOR", "RATIO_MARGIN", "COS_MARGIN",
           "LOSS_MARGIN", "POINT", "FACTOR", "HUNDREDTH", "about_one", "margins_sentence"]

ACCURACY_MARGIN = 0.01                  # 1 accuracy point (the module doc)
RATIO_FACTOR = 1.1                      # a 10 % change
RATIO_MARGIN = math.log10(RATIO_FACTOR)  # … on a log10 measure
COS_MARGIN = 0.01                       # a cosine
LOSS_MARGIN = 0.01                      # a mean training loss
# the margins as the verdicts name them
POINT, FACTOR, HUNDREDTH = "1 point", "a factor 1.1", "0.01"


def about_one(ratio: float) -> bool:
    """Whether a ratio lies within the ratio margin of 1 (1/1.1 to 1.1: "within 10 %")."""
    return 1 / RATIO_FACTOR - 1e-12 <= ratio <= RATIO_FACTOR + 1e-12


def margins_sentence(words: Sequence[tuple[str, str]]) -> str:
    """What a difference must exceed to count, per measure: words = [("1 point", "in
    accuracy"), …] (the module doc)."""
    return ("A difference counts only beyond a margin that matters (" +
            join_words([f"{m} {what}" for m, what in words]) +
            "): smaller gaps are too small to see on the charts, however consistent across "
            "seeds, so the test asks whether the difference is clearly beyond the margin, and "
            "the ± after a difference includes it.")


@dataclass
class Verdict:
    """A headline and supporting sentences (markdown), computed from the data. `winner`: the
    network a comparison names (experiments); `reproduces`: "yes", "partly", "no" or None
    (can't tell) for a published result (why); `tests`: the comparisons it makes
    (Holm-corrected together with every other test of its page's Run)."""

    headline: str
    details: list[str] = field(default_factory=list)
    winner: str | None = None
    reproduces: str | None = None
    tests: list[Test] = field(default_factory=list)


def cap(text: str) -> str:
    """First letter upper case ('BN …' stays 'BN …', unlike str.capitalize)."""
    return text[:1].upper() + text[1:]


def join_words(items: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _tests(verdicts: Sequence[Verdict]) -> list[Test]:
    return [t for v in verdicts for t in v.tests]


def rule(verdicts: Sequence[Verdict], tail: str = "") -> str:
    """How to read a page's verdicts: `page_rule` over all their tests, then `tail` (what the ±
    means, how a diverged run counts: the page's own)."""
    return page_rule(_tests(verdicts)) + (f" {tail}" if tail else "")


def few_seeds(seeds: int, verdicts: Sequence[Verdict]) -> str | None:
    """`few_seeds_text` for all the verdicts' tests: None where the seeds are enough."""
    return few_seeds_text(seeds, _tests(verdicts))


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
