"""The experiments' verdicts: what the data say, with the error of every conclusion controlled
across all the comparisons the page shows after one Run (bn_core.stats: exact sign-flip tests
paired by seed, one Holm family per Run; see bn_core.experiments.prose).

A difference is called clear only beyond a practical margin (bn_core.verdicts: one per kind of
measure, the same on /why and /norms), so no "clearly better/worse" rests on a gap a learner
can't see on the charts; a gap whose ± lies inside the margin reads "about the same":

    final test accuracy (placement, lr, init,  1 point (ACCURACY_MARGIN): 3.6 of the 360 digits
    batch: BN against without BN; BN's eval    test images, about two seed-to-seed standard
    against training mode; depth)              deviations, what the accuracy charts show apart
    speed (placement: steps to the target)     a factor 1.1 (RATIO_MARGIN on log10 steps, each
                                               at least one record interval, the resolution a
                                               step count is measured with): 10 % faster
    drift's growth per layer (depth)           a factor 1.1 per layer (depth.py)

Descriptive bands use the same factor: init's "within 10 % of 1" (`about_one`); a curve "still
rising" gained more than the 1-point margin over its last quarter (ranges.py).

    verdict(result)      the verdicts of the result's experiment
    rule(result)         how "clear" is decided: the family, the test, what the ± means
    few_seeds(result)    what the seeds can show, where they are too few for anything clear
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from bn_core.batchnorm import PYTORCH_EPS
from bn_core.experiments.depth import depth_family_size, depth_verdict
from bn_core.experiments.config import ACTIVATION_NAMES
from bn_core.experiments.prose import (a_or_an, about, bare_points, best_sizes, budget_sentence,
                                       by_setting, family, final_of, fmt, mark, num, over, pct,
                                       plural, points, seed_pairs, setting_tests, within_sentence)
from bn_core.experiments.ranges import (beyond, describe_range, range_ends, trainable_range)
from bn_core.experiments.training import SweepResult
from bn_core.records import network_label
from bn_core.stats import Ranking, Summary, rank, seeds_needed, summarize
from bn_core.verdicts import (ACCURACY_MARGIN, FACTOR, POINT, RATIO_MARGIN, Verdict, about_one,
                              cap, join_words, untestable)
from bn_core import verdicts as shared

__all__ = ["verdict", "rule", "few_seeds", "placement_tests", "placement_verdict", "lr_verdict",
           "init_verdict", "batch_verdict", "budget_sentence", "family_size"]


def verdict(result: SweepResult) -> list[Verdict]:
    """The verdicts of a sweep, by experiment."""
    return {"placement": placement_verdict, "lr": lr_verdict, "init": init_verdict,
            "batch": batch_verdict, "depth": depth_verdict}[result.config.experiment](result)


def family_size(config) -> int:
    """How many comparisons one Run of this config tests (its Holm family)."""
    if config.experiment == "placement":
        return 6 * len(config.activations)
    if config.experiment == "batch":
        return 2 * len(config.settings)
    if config.experiment == "depth":
        return depth_family_size(config)
    return len(config.settings)


def rule(result: SweepResult, verdicts: Sequence[Verdict] | None = None) -> str:
    """How to read the verdicts: one family for the whole Run, the exact test, the ±."""
    verdicts = verdict(result) if verdicts is None else verdicts
    tail = "The ± after an accuracy is the standard deviation over seeds; a diverged run counts " \
           "as chance accuracy"
    if result.config.experiment == "depth":
        tail += ("; a slope is each seed's least-squares slope of log₁₀ drift on the layer "
                 "index (layers that collapsed left out; a drift below 0.0001 of the spread "
                 "counts as 0.0001), tested against 0 (one sample) or between the networks "
                 "(paired by seed), and its ± is the margin to be clear")
    if result.config.experiment == "batch":
        tail += (", except in the eval- vs training-mode comparison, which leaves diverged "
                 "runs out (a diverged network has neither accuracy)")
    if result.config.experiment == "placement":
        tail += (f"; in speed, a run that never reaches the target counts as the run's length "
                 f"plus one record interval ({plural(result.config.record_every, 'step')})")
    margins = shared.margins_sentence(_margin_words(result.config))
    return shared.rule(verdicts, f"{tail}. {margins}")


def _margin_words(config) -> list[tuple[str, str]]:
    """The margins of this experiment's measures (the module doc), as the rule names them."""
    words = [(POINT, "in accuracy")]
    if config.experiment == "placement":
        words.append((FACTOR, "in steps to the target"))
    if config.experiment == "depth":
        words.append((f"{FACTOR} per layer", "in drift's growth"))
    return words


def few_seeds(result: SweepResult, verdicts: Sequence[Verdict] | None = None) -> str | None:
    """What the seeds can show, where they are too few for anything to be clear; None where
    they are enough."""
    verdicts = verdict(result) if verdicts is None else verdicts
    return shared.few_seeds(result.config.seeds, verdicts)


def _compare_sentence(ranking: Ranking, names: Mapping[str, str], m: int, fmt=fmt,
                      wins="wins", beat="beat", what: str = "", alike: str = "") -> Verdict:
    """'X wins: … against …' or 'No clear winner: the data don't separate X (…) and Y (…);
    both beat Z (…).' `what` closes the sentence, e.g. '(final test accuracy, mean ± sd …)';
    m: the page's family size (with too few seeds for it, the sentence says so). `alike`: where
    every pair of the tie is about the same (within its margin), what to say instead of "the
    data don't separate", e.g. 'about the same (every gap within 1 point)'."""
    s = ranking.summaries
    seeds = max(v.n for v in s.values())
    tail = f" {what}" if what else ""

    def listing(group):
        return join_words([f"{names[n]} ({fmt(s[n])})" for n in group])

    if ranking.winner is not None:
        w = ranking.winner
        return Verdict(f"**{cap(names[w])} {wins}**: {fmt(s[w])}, against "
                       f"{listing([n for n in ranking.order if n != w])}{tail}.", winner=w)
    if seeds < 2:
        return Verdict(f"One seed per network can't settle it: {listing(ranking.order)}{tail}. "
                       f"Use {seeds_needed(m)} or more seeds.")
    if seeds < seeds_needed(m):
        return Verdict(f"**Not testable with {seeds} seeds**: {listing(ranking.order)}{tail}; "
                       f"{untestable(seeds, m)}.")
    text = (f"**No clear winner**: {listing(ranking.tied)} {alike}" if alike else
            f"**No clear winner**: the data don't separate {listing(ranking.tied)}")
    if ranking.beaten:
        both = "both" if len(ranking.tied) == 2 else "all"
        text += f"; {both} {beat} {listing(ranking.beaten)}"
    return Verdict(text + tail + "." + within_sentence(ranking, names))


PLACEMENT_PAIRS = (("before", "none"), ("after", "none"), ("before", "after"))


def placement_tests(result: SweepResult) -> tuple[dict, dict]:
    """Every pair of placements for every activation, paired by seed, in the final accuracy
    (clear beyond 1 point) and in the speed (log10 of the steps to the target, each at least
    one record interval; a run that never reaches it counts as the run's length plus one
    record interval; clear beyond a factor 1.1), all one Holm family (the page's): (act, a, b)
    → Test of a − b (speed: log10(b's steps / a's), so positive: a is faster); returns
    (accuracy, speed)."""
    cfg = result.config
    never = cfg.steps + cfg.record_every
    final = final_of(result)

    def steps(r):
        s = r.steps_to_target if math.isfinite(r.steps_to_target) else never
        return math.log10(max(s, cfg.record_every))

    pairs = {}
    for act in cfg.activations:
        for a, b in PLACEMENT_PAIRS:
            ra, rb = result.select(a, act), result.select(b, act)
            pairs[("acc", act, a, b)] = seed_pairs(ra, rb, final)
            pairs[("speed", act, a, b)] = seed_pairs(rb, ra, steps)   # log(b's steps / a's)
    tests = family(pairs, lambda k: ACCURACY_MARGIN if k[0] == "acc" else RATIO_MARGIN)
    return ({k[1:]: t for k, t in tests.items() if k[0] == "acc"},
            {k[1:]: t for k, t in tests.items() if k[0] == "speed"})


def _beats(tests: Mapping, act: str):
    """beats(x, y) for `rank`: the Holm-corrected test of the pair says x is clearly better."""
    def beats(x, y):
        if (act, x, y) in tests:
            return tests[(act, x, y)].sign > 0
        return tests[(act, y, x)].sign < 0
    return beats


def placement_verdict(result: SweepResult) -> list[Verdict]:
    """Per activation: which placement reaches the best final accuracy, and which reaches the
    target first (a run that never reaches it counts as the run's length plus one record
    interval: a lower bound, so the comparison is, if anything, kind to it)."""
    cfg = result.config
    verdicts = []
    names = {p: network_label(p) for p in cfg.networks}
    never = cfg.steps + cfg.record_every
    acc_tests, speed_tests = placement_tests(result)
    m = len(acc_tests) + len(speed_tests)
    short = {"none": "no BN", "before": "BN before", "after": "BN after"}

    def fmt_steps(s: Summary) -> str:
        if s.hi <= -never:
            return f"never within {cfg.steps} steps"
        if s.n == 1:
            return f"{-s.mean:.0f} steps"
        return f"{-s.mean:.0f} ± {s.sd:.0f} steps"

    def alike(tests, act, ranking, margin):
        tied = ranking.tied
        pairs = [tests.get((act, x, y)) or tests[(act, y, x)]
                 for i, x in enumerate(tied) for y in tied[i + 1:]]
        return (f"are about the same (every gap within {margin})"
                if pairs and all(about(t) for t in pairs) else "")

    for act in cfg.activations:
        groups = {p: result.final(result.select(p, act)) for p in cfg.networks}
        ranking = rank(groups, _beats(acc_tests, act))
        v = _compare_sentence(ranking, names, m, what=f"(final test accuracy, {over(cfg.seeds)})",
                              alike=alike(acc_tests, act, ranking, POINT))
        v.headline = f"{ACTIVATION_NAMES[act]} — " + v.headline
        mine = [acc_tests[(act, a, b)] for a, b in PLACEMENT_PAIRS]
        v.tests = mine + [speed_tests[(act, a, b)] for a, b in PLACEMENT_PAIRS]
        if cfg.seeds >= seeds_needed(m):
            v.details.append(
                "Differences per seed (mean ± the margin to be clear): " + "; ".join(
                    f"{short[a]} − {short[b]} {points(t)}{mark(t)}"
                    for (a, b), t in zip(PLACEMENT_PAIRS, mine)) + ".")
        speed = {p: [-(r.steps_to_target if math.isfinite(r.steps_to_target) else never)
                     for r in result.select(p, act)] for p in cfg.networks}
        ranking = rank(speed, _beats(speed_tests, act))
        sv = _compare_sentence(ranking, names, m, fmt_steps, wins="gets there first",
                               beat="are faster than",
                               alike=alike(speed_tests, act, ranking, FACTOR))
        v.details.append(f"Speed (steps to reach {pct(cfg.target)} test accuracy) — "
                         + sv.headline.replace("**", ""))
        for p in cfg.networks:
            runs = result.select(p, act)
            reached = sum(math.isfinite(r.steps_to_target) for r in runs)
            div = sum(r.diverged for r in runs)
            if reached < len(runs) or div:
                part = f"{cap(names[p])} reached it in {reached} of {len(runs)} seeds"
                part += f" ({div} diverged)" if div else ""
                part += (f"; a run that never reached it counts as {never} steps."
                         if reached < len(runs) else ".")
                v.details.append(part)
        verdicts.append(v)
    return verdicts


def _grid_verdict(result: SweepResult, what: str, unit_fmt=num) -> list[Verdict]:
    """lr and init: the widest range that trains for each network (a bound where it meets the
    grid's end), where BN is clearly better or worse (one Holm family over the settings), and
    a winner only where the data back it."""
    cfg = result.config
    settings = cfg.settings
    bn = cfg.placement
    ranges = {p: trainable_range(settings, [result.final(result.select(p, setting=v))
                                            for v in settings], cfg.target)
              for p in cfg.networks}
    tests = setting_tests(result)
    m, seeds = len(tests), cfg.seeds
    width = {p: (0 if ranges[p] is None else
                 settings.index(ranges[p][1]) - settings.index(ranges[p][0]) + 1)
             for p in cfg.networks}
    at_edge = {p: any(range_ends(settings, ranges[p])) for p in cfg.networks}

    def describe(p):
        if ranges[p] is None:
            return f"{network_label(p)}: no {what} reached {pct(cfg.target)}"
        return f"{network_label(p)}: {describe_range(settings, ranges[p], unit_fmt)}"

    step = settings[1] / settings[0] if len(settings) > 1 else 1.0
    diverged = []
    for p in cfg.networks:
        div = [r for r in result.select(p) if r.diverged]
        if div:
            at = sorted({r.member.setting for r in div})
            diverged.append(f"{cap(network_label(p))} diverged in {len(div)} run{'s' if len(div) > 1 else ''} "
                            f"(at {what} {', '.join(unit_fmt(x) for x in at)}).")
    if width[bn] == 0 and width["none"] == 0:
        head = (f"Neither network reached {pct(cfg.target)} at any {what} in {cfg.steps} steps "
                f"(train longer, or lower the target)")
        return [Verdict(head + ".", diverged, tests=list(tests.values()))]
    wider = bn if width[bn] > width["none"] else "none" if width["none"] > width[bn] else None
    other = None if wider is None else ("none" if wider == bn else bn)
    winner = None
    if wider is None:
        head = f"Both reached {pct(cfg.target)} over equally many {what}s"
    elif at_edge[other]:
        head = (f"{cap(network_label(wider))} reached {pct(cfg.target)} over more {what}s here, but "
                f"{network_label(other)}'s range runs into the grid's end: widen the grid to compare")
    else:
        only = [v for v in settings if ranges[wider][0] <= v <= ranges[wider][1]
                and not (ranges[other] and ranges[other][0] <= v <= ranges[other][1])]
        backed = [v for v in only if tests[v].sign == (1 if wider == bn else -1)]
        unbacked = [v for v in only if v not in backed]
        if backed:
            winner = wider
            head = (f"**{cap(network_label(wider))}** trains over a wider range of {what}s (clearly "
                    f"better at {', '.join(unit_fmt(v) for v in backed)}, where only its median "
                    f"reached {pct(cfg.target)}")
            if unbacked:
                head += (f"; at {', '.join(unit_fmt(v) for v in unbacked)} only its median did "
                         f"too, but there the seeds disagree too much for the difference to be "
                         f"clear")
            head += ")"
        elif seeds < seeds_needed(m):
            head = (f"{cap(network_label(wider))}'s median reached {pct(cfg.target)} over more "
                    f"{what}s, but {untestable(seeds, m)}: not settled")
        else:
            head = (f"{cap(network_label(wider))}'s median reached {pct(cfg.target)} over more "
                    f"{what}s, but at none of the {what}s where only it did is the difference "
                    f"clear with {seeds} seeds: not settled")
    v = Verdict(f"{head} — {describe('none')}; {describe(bn)}.", winner=winner,
                tests=list(tests.values()))
    v.details.append(
        f"{cap(a_or_an(what))} counts as training where the median final test accuracy over "
        f"{cfg.seeds} seed{'s' if cfg.seeds > 1 else ''} reaches {pct(cfg.target)} within "
        f"{cfg.steps} steps; the grid steps by ×{step:.3g}, so an end inside the grid is known "
        f"to within one step, and an end at the grid's edge is only a bound.")
    budget_bound = False
    for p in cfg.networks:
        if ranges[p] is None:
            continue
        i, j = settings.index(ranges[p][0]), settings.index(ranges[p][1])
        notes = []
        if i > 0:
            text, bound = beyond(result, p, settings[i - 1], unit_fmt)
            notes.append(f"below {unit_fmt(settings[i])} ({text})")
            budget_bound |= bound
        if j < len(settings) - 1:
            text, bound = beyond(result, p, settings[j + 1], unit_fmt)
            notes.append(f"above {unit_fmt(settings[j])} ({text})")
            budget_bound |= bound
        if notes:
            v.details.append(f"{cap(network_label(p))}: " + "; ".join(notes) + ".")
    if budget_bound:
        v.details.append(
            f"An end next to {a_or_an(what)} that was still learning, or just under the cutoff, is "
            f"set by the {cfg.steps}-step budget and the {pct(cfg.target)} target, not by a "
            f"failure to train: more steps or a lower target would move it.")
    if cfg.seeds > 1:
        v.details.append(by_setting(bn, tests, f"{what} by {what}", unit_fmt, seeds, m))
    v.details += diverged
    return [v]


def lr_verdict(result: SweepResult) -> list[Verdict]:
    return _grid_verdict(result, "learning rate")
def init_verdict(result: SweepResult) -> list[Verdict]:
    """lr-style ranges, then how the last hidden layer's activation input std at step 0
    depends on the init scale, for each network (BN's scale invariance, and where ε ends it)."""
    verdicts = _grid_verdict(result, "init scale")
    cfg = result.config
    settings = cfg.settings
    last = len(cfg.hidden) - 1
    medians = {}
    for p in cfg.networks:
        row = []
        for s in settings:
            vals = np.array([r.z_std_start[last] for r in result.select(p, setting=s)], dtype=float)
            vals = vals[np.isfinite(vals)]
            row.append(float(np.median(vals)) if vals.size else math.nan)
        medians[p] = np.array(row)
    parts = []
    for p in cfg.networks:
        m = medians[p][np.isfinite(medians[p]) & (medians[p] > 0)]
        if m.size:
            parts.append(f"{network_label(p)}: std {m.min():.2g} … {m.max():.2g}")
    v = Verdict(f"Layer {last + 1}'s activation input at step 0, over the init scales "
                f"(median of seeds) — " + "; ".join(parts) + ".")
    bn = cfg.placement
    if bn == "before":
        near_one = [s for s, m in zip(settings, medians[bn]) if about_one(m)]
        if near_one:
            lo = min(near_one)
            v.details.append(
                f"With BN before the activation that input is BN's output, γ·x̂ + β with γ = 1 and "
                f"β = 0 at the start, whatever the scale of W (BN(a·W·u) = BN(W·u)): its std stays "
                f"within 10% of 1 (a factor 1.1) for init scales from {lo:g} up.")
            small = [s for s in settings if s < lo]
            if small:
                v.details.append(
                    f"Below {lo:g} it shrinks: the batch variance of W·u falls to the order of "
                    f"ε = {PYTORCH_EPS:g}, and x̂ = (x − mean)/√(var + ε) no longer scales it back — "
                    f"ε ends the scale invariance.")
    else:
        v.details.append("With BN after the activation, that input is W·u + b, which does scale "
                         "with W; BN normalises the activation's output for the next layer.")
    verdicts.append(v)
    return verdicts


def batch_verdict(result: SweepResult) -> list[Verdict]:
    """BN against without BN at each batch size, and BN's eval-mode against training-mode test
    accuracy at each batch size (runs that diverged left out): one Holm family, the page's."""
    cfg = result.config
    bn = cfg.placement
    final = final_of(result)
    pairs, sizes, left_out = {}, [], 0
    for b in cfg.settings:
        pairs[("bn", b)] = seed_pairs(result.select(bn, setting=b),
                                      result.select("none", setting=b), final)
    for b in cfg.settings:
        all_runs = result.select(bn, setting=b)
        runs = [r for r in all_runs if not r.diverged]
        left_out += len(all_runs) - len(runs)
        if not runs:
            continue
        sizes.append((int(b), summarize([r.final_acc for r in runs]),
                      summarize([r.train_mode_acc for r in runs])))
        pairs[("mode", int(b))] = (seed_pairs(runs, runs, lambda r: r.final_acc)[0],
                                   seed_pairs(runs, runs, lambda r: r.train_mode_acc)[0])
    every = family(pairs, ACCURACY_MARGIN)
    tests = {k[1]: t for k, t in every.items() if k[0] == "bn"}
    gap_tests = {k[1]: t for k, t in every.items() if k[0] == "mode"}
    m, seeds = len(every), cfg.seeds
    if seeds < 2:
        head = Verdict(f"One seed per batch size can't separate the networks; use "
                       f"{seeds_needed(m)} or more seeds.", tests=list(tests.values()))
    else:
        head = Verdict(by_setting(bn, tests, "eval-mode test accuracy at each batch size",
                                  lambda b: str(int(b)), seeds, m), tests=list(tests.values()))
    head.details.append(best_sizes(result))
    head.details.append(budget_sentence(result))
    # BN's eval-mode vs training-mode accuracy, the same network measured twice
    gap = Verdict("", tests=list(gap_tests.values()))
    if sizes:
        b0, ev0, tr0 = sizes[0]
        b1, ev1, tr1 = sizes[-1]
        runs_text = over(ev0.n) + (f"; {left_out} diverged run{'s' if left_out > 1 else ''} "
                                    f"left out" if left_out else "")
        gap.headline = (
            f"{cap(network_label(bn))}, eval mode against training mode: at batch size {b0}, "
            f"{fmt(ev0)} against {fmt(tr0)} (test batches of {b0}); at {b1}, {fmt(ev1)} "
            f"against {fmt(tr1)} (test accuracy, {runs_text}).")
        clear = [f"{b} ({points(t)})" for b, t in gap_tests.items() if t.clear]
        alike = [str(b) for b, t in gap_tests.items() if about(t)]
        if 2 <= seeds < seeds_needed(m):
            gap.details.append(
                f"Eval minus training mode, per seed: {untestable(seeds, m)}; the mean "
                f"differences were " + "; ".join(f"{b}: {bare_points(t)}"
                                                 for b, t in gap_tests.items()) + ".")
        elif seeds >= 2:
            same = (f" About the same (within {POINT}) at batch size {', '.join(alike)}."
                    if alike else "")
            gap.details.append(
                "Eval mode minus training mode, per seed (mean ± the margin to be clear): "
                "clearly different at batch size " + ", ".join(clear) + "." + same if clear else
                ("The two modes give about the same accuracy at every batch size"
                 if len(alike) == len(gap_tests) else
                 "The data don't separate the two modes at any batch size") +
                " (eval minus training mode, mean ± the margin to be clear: " + "; ".join(
                    f"{b}: {points(t)}" for b, t in gap_tests.items()) + ")." +
                (same if alike and len(alike) < len(gap_tests) else ""))
        gap.details.append(
            "In eval mode BN uses its running averages of the training batches' statistics; in "
            "training mode each test batch is normalised with its own mean and variance, so a "
            "prediction depends on the other examples in the batch — the smaller the batch, the "
            "noisier those statistics.")
    else:
        gap.headline = f"Every {network_label(bn)} run diverged: no train/eval comparison."
    return [head, gap]
