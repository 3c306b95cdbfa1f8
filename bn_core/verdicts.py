"""What every lesson's verdicts share (experiments, why, alternatives): the Verdict record and
the sentences around them — how "clear" is decided on a page (its rule) and what its seeds can
show. The statistics behind them: bn_core.stats.

    Verdict                 a headline, its details, and the tests it makes
    rule(verdicts, tail)    one Holm family for everything a Run shows, then the page's own tail
    few_seeds(seeds, vs)    what the seeds can show, where they are too few for anything clear
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from bn_core.stats import ALPHA, Test, seeds_needed, smallest_p

__all__ = ["Verdict", "rule", "few_seeds", "page_rule", "few_seeds_text", "untestable", "cap",
           "join_words"]


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
