"""The depth experiment's verdicts: does a layer's input drift grow from layer to layer (the
course notes: "small changes in shallower hidden layers will be amplified as they propagate
within the network, resulting in significant shift in deeper hidden layers"), does BN stop it,
and does training suffer with depth?

The tests, all one Holm family (the page's Run; bn_core.experiments.prose.family):

    trend    for each depth ≥ 2, each network (without BN, with BN) and each window (early:
             the first 10 % of the steps, late: the rest): each seed's slope of log10 drift on
             the layer index (bn_core.experiments.drift.log_slope), exact one-sample sign-flip
             test of mean slope = 0 (the slopes against zeros). slope > 0: drift grows with depth
    flatten  for each depth ≥ 2, late window: slope without BN − slope with BN, paired by seed
    depth    for each network: final accuracy at the shallowest depth − at the deepest, paired
             by seed (> 0: training suffers with depth; a diverged run counts as chance)

Each is clear only beyond a practical margin (bn_core.verdicts, the same on every page): trend
and flatten a factor 1.1 per layer (RATIO_MARGIN on the log10 slope: drift growing 10 % per
layer, 2.1× over 8 layers, is about what the per-layer drift chart, in log scale, shows apart
from flat); depth 1 accuracy point (ACCURACY_MARGIN). A slope whose ± lies inside the margin
reads "about flat", an accuracy gap "about the same".

So m = 5 · (depths ≥ 2) + 2 (22 for the default 2, 4, 6, 8); `seeds_needed(m)` seeds can make
any of it clear (10 for 13 to 25 tests). A seed whose slope is NaN (diverged, or fewer than two
layers that did not collapse) is left out of that test.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from bn_core.experiments.drift import DRIFT_FLOOR, log_slope
from bn_core.experiments.prose import (about, family, final_of, fmt, mark, over, pct, seed_pairs,
                                      signed)
from bn_core.experiments.training import NetworkResult, SweepResult
from bn_core.records import network_label
from bn_core.stats import Test, seeds_needed, summarize
from bn_core.verdicts import (ACCURACY_MARGIN, POINT, RATIO_MARGIN, Verdict, cap, join_words,
                              untestable)

__all__ = ["WINDOWS", "WHY_LINK", "LEARNED_MARGIN", "trend_depths", "depth_family_size", "slopes",
           "depth_tests", "learned", "broke_text", "first_last_ratio", "depth_verdict"]

WINDOWS = ("late", "early")
LEARNED_MARGIN = 0.10     # as the lab's reading: learned = final accuracy ≥ chance + 10 points
WHY_LINK = "[Why does BN work?](/why)"
SANTURKAR = ("Santurkar et al. (2018) found that the size of the distribution shift need not "
             "predict training trouble: BN networks with noise injected after every BN layer, so "
             "that their distributions shift all the time, trained about as well as plain BN — "
             f"see {WHY_LINK}.")


def trend_depths(config) -> list[int]:
    """The depths with a trend across layers to test (two layers or more)."""
    return [int(d) for d in config.depths if d >= 2]


def depth_family_size(config) -> int:
    """5 tests per depth ≥ 2 (two windows × two networks, and BN's flattening), and 2 for
    accuracy against depth where there are two depths or more (module doc)."""
    return 5 * len(trend_depths(config)) + (2 if len(config.depths) >= 2 else 0)


def _drifts(r: NetworkResult, window: str) -> np.ndarray:
    return r.drift_late if window == "late" else r.drift_early


def slopes(result: SweepResult, network: str, depth: int, window: str = "late"
           ) -> dict[int, float]:
    """seed → slope of log10 drift on the layer index (finite ones only) of `network`'s
    `depth`-layer runs; collapsed layers left out (drift.log_slope)."""
    out = {}
    for r in result.select(network, setting=float(depth)):
        if r.drift_late is None or r.diverged:
            continue
        s = log_slope(_drifts(r, window), r.collapsed)
        if math.isfinite(s):
            out[r.member.seed] = s
    return out


def _one_sample(values: Mapping[int, float]):
    v = np.array([values[s] for s in sorted(values)], dtype=float)
    if v.size == 0:
        v = np.array([math.nan])              # untestable: p = 1
    return v, np.zeros_like(v)


def _paired(a: Mapping[int, float], b: Mapping[int, float]):
    both = sorted(set(a) & set(b))
    if not both:
        return np.array([math.nan]), np.zeros(1)
    return np.array([a[s] for s in both]), np.array([b[s] for s in both])


def depth_tests(result: SweepResult) -> dict:
    """Every test of the module doc, Holm-corrected together: key → Test, keys
    ("trend", window, network, depth), ("flatten", depth), ("depth", network)."""
    cfg = result.config
    bn = cfg.placement
    pairs = {}
    for d in trend_depths(cfg):
        for w in WINDOWS:
            for p in cfg.networks:
                pairs[("trend", w, p, d)] = _one_sample(slopes(result, p, d, w))
        pairs[("flatten", d)] = _paired(slopes(result, "none", d), slopes(result, bn, d))
    if len(cfg.depths) >= 2:
        lo, hi = float(cfg.depths[0]), float(cfg.depths[-1])
        for p in cfg.networks:
            pairs[("depth", p)] = seed_pairs(result.select(p, setting=lo),
                                             result.select(p, setting=hi), final_of(result))
    return family(pairs, lambda k: ACCURACY_MARGIN if k[0] == "depth" else RATIO_MARGIN)


def learned(result: SweepResult, r: NetworkResult) -> bool:
    return not r.diverged and r.final_acc >= result.chance + LEARNED_MARGIN - 1e-12


def broke_text(result: SweepResult) -> str:
    """What broke, for the figures' titles and the verdicts: 'Without BN, the 4, 6 and 8-layer
    networks did not learn (median final accuracy 10.0%)'; '' where every depth learned."""
    cfg = result.config
    parts = []
    for p in cfg.networks:
        bad = []
        for d in cfg.depths:
            runs = result.select(p, setting=float(d))
            if sum(not learned(result, r) for r in runs) * 2 > len(runs):
                bad.append((d, float(np.median(result.final(runs)))))
        if bad:
            names = join_words([str(d) for d, _ in bad])
            worst = max(a for _, a in bad)
            who = network_label(p) if p == "none" else f"with {network_label(p)}"
            parts.append(f"{who}, the {names}-layer network"
                         f"{'s' if len(bad) > 1 else ''} did not learn (median final accuracy "
                         f"{'at most ' if len(bad) > 1 else ''}{pct(worst)})")
    return "; ".join(cap(x) for x in parts)


def first_last_ratio(result: SweepResult, network: str, depth: int, window: str = "late"
                     ) -> float:
    """Median over seeds of the last layer's drift ÷ the first layer's, each at least
    DRIFT_FLOOR (as in the slope), over the seeds where neither layer collapsed (NaN: none)."""
    ratios = []
    for r in result.select(network, setting=float(depth)):
        if r.drift_late is None or r.diverged or r.collapsed[0] or r.collapsed[-1]:
            continue
        d = np.maximum(_drifts(r, window), DRIFT_FLOOR)
        if math.isfinite(d[0]) and math.isfinite(d[-1]):
            ratios.append(d[-1] / d[0])
    return float(np.median(ratios)) if ratios else math.nan


def _times(x: float) -> str:
    """'1.9×', '12×', '340×', 'more than 1,000×' (a first layer that hardly moved: the exact
    factor says nothing a learner can use)."""
    if not math.isfinite(x):
        return "—"
    if x >= 1000:
        return "more than 1,000×"
    return f"{x:,.0f}×" if x >= 100 else f"{x:.2g}×"


def _slope_text(t: Test, enough: bool = True) -> str:
    """'×1.9 per layer (log₁₀ slope +0.28 ± 0.09)': the mean slope as a factor, and the margin
    (none where the seeds are too few for anything to be clear)."""
    head = f"×{10 ** t.diff:.2g} per layer" if math.isfinite(t.diff) else "no slope"
    slope = f"{t.diff:+.2f}".replace("-", "−")
    if not enough or not math.isfinite(t.margin):
        return f"{head} (log₁₀ slope {slope})"
    return f"{head} (log₁₀ slope {slope} ± {t.margin:.2f})"


def _network_verdict(result: SweepResult, p: str, tests: dict, m: int) -> Verdict:
    """Does `p`'s drift grow from layer to layer? Per depth, late and early."""
    cfg = result.config
    depths = trend_depths(cfg)
    mine = [tests[("trend", w, p, d)] for d in depths for w in WINDOWS]
    grows = [d for d in depths if any(tests[("trend", w, p, d)].sign > 0 for w in WINDOWS)]
    shrinks = [d for d in depths if any(tests[("trend", w, p, d)].sign < 0 for w in WINDOWS)]
    who = cap(network_label(p))
    enough = cfg.seeds >= seeds_needed(m)
    if not enough:
        head = (f"**{who}: not testable with {cfg.seeds} seed{'s' if cfg.seeds != 1 else ''}** — "
                f"{untestable(cfg.seeds, m)}")
    elif grows:
        head = (f"**{who}, drift clearly grows from layer to layer** in the "
                f"{join_words([str(d) for d in grows])}-layer network{'s' if len(grows) > 1 else ''}")
        rest = [d for d in depths if d not in grows]
        if rest:
            head += f"; not clearly in the {join_words([str(d) for d in rest])}-layer one" \
                    f"{'s' if len(rest) > 1 else ''}"
    else:
        head = f"**{who}, the data don't show drift growing from layer to layer** at any depth"
    if shrinks and enough:
        head += (f"; it clearly shrinks with the layer in the "
                 f"{join_words([str(d) for d in shrinks])}-layer network"
                 f"{'s' if len(shrinks) > 1 else ''}")
    v = Verdict(head + ".", tests=mine)
    for d in depths:
        late, early = tests[("trend", "late", p, d)], tests[("trend", "early", p, d)]
        runs = result.select(p, setting=float(d))
        ends = sum(r.collapsed is not None and bool(r.collapsed[0] or r.collapsed[-1])
                   for r in runs)
        ratio = first_last_ratio(result, p, d)
        text = (f"{d} layers: late {_slope_text(late, enough)}{mark(late, 'about flat')}, "
                f"early {_slope_text(early, enough)}{mark(early, 'about flat')}")
        if math.isfinite(ratio):
            text += (f"; late, the last layer's inputs moved {_times(ratio)} as far as the first "
                     f"layer's (median over seeds")
            text += f"; {ends} with the first or last layer collapsed left out)" if ends else ")"
        elif ends:
            text += f"; the first or last layer collapsed in all {ends} seeds"
        v.details.append(text + ".")
    return v


def _noise_detail(result: SweepResult) -> str:
    """How the drifts compare with their noise floor, deepest network, late window."""
    cfg = result.config
    d = max(cfg.depths)
    parts = []
    for p in cfg.networks:
        over_ = [np.nanmedian(r.drift_late / r.noise) for r in result.select(p, setting=float(d))
                 if r.drift_late is not None and not r.diverged and np.isfinite(r.noise).any()]
        if over_:
            parts.append(f"{network_label(p)} {np.median(over_):.3g}×")
    collapsed = {p: sum(bool(r.collapsed.any()) for r in result.select(p)
                        if r.collapsed is not None) for p in cfg.networks}
    text = (f"For scale, late drift over its noise floor (the drift's own jitter between "
            f"neighbouring late snapshots, as the lab measures it), a typical layer of the "
            f"{d}-layer networks: " + ("; ".join(parts) if parts else "not measured") + ".")
    for p, n in collapsed.items():
        if n:
            text += (f" {cap(network_label(p))}: {n} network{'s' if n > 1 else ''} had a collapsed "
                     f"layer (every example gives nearly the same input), left out of its slope.")
    return text


def depth_verdict(result: SweepResult) -> list[Verdict]:
    """Without BN, with BN, accuracy against depth, and what it says about the notes."""
    cfg = result.config
    bn = cfg.placement
    tests = depth_tests(result)
    m = len(tests)
    enough = cfg.seeds >= seeds_needed(m)
    out = [_network_verdict(result, "none", tests, m), _network_verdict(result, bn, tests, m)]
    depths = trend_depths(cfg)
    flat = [tests[("flatten", d)] for d in depths]
    out[1].tests += flat
    if enough:
        less = [d for d, t in zip(depths, flat) if t.sign > 0]
        out[1].details.append(
            "Without BN minus with BN, late slope per seed: " + "; ".join(
                f"{d} layers {signed(t.diff, '+.2f')} ± {t.margin:.2f}{mark(t)}"
                for d, t in zip(depths, flat)) + "." +
            (f" BN clearly flattens the trend at {join_words([str(d) for d in less])} layers."
             if less else " At no depth is BN's flattening of the trend clear."))
    out[1].details.append(_noise_detail(result))
    # accuracy against depth
    acc = Verdict("")
    broke = broke_text(result)
    lo, hi = cfg.depths[0], cfg.depths[-1]
    parts = []
    for p in cfg.networks:
        s_lo = summarize(result.final(result.select(p, setting=float(lo))))
        s_hi = summarize(result.final(result.select(p, setting=float(hi))))
        parts.append(f"{network_label(p)} {fmt(s_lo)} at {lo} layer{'s' * (lo > 1)}, {fmt(s_hi)} "
                     f"at {hi}")
    if ("depth", "none") in tests:
        t_none, t_bn = tests[("depth", "none")], tests[("depth", bn)]
        acc.tests = [t_none, t_bn]
        if not enough:
            head = f"Accuracy against depth: {untestable(cfg.seeds, m)}"
        elif t_none.sign > 0:
            head = f"**Without BN, training clearly suffers with depth**"
        elif t_none.sign < 0:
            head = f"**Without BN, the deeper networks clearly did better**"
        elif about(t_none):
            head = (f"**Without BN, the shallowest and the deepest networks train about the "
                    f"same** (within {POINT})")
        else:
            head = "**Without BN, the data don't show training suffering with depth**"
        if enough:
            head += ("; with BN it clearly suffers too" if t_bn.sign > 0 else
                     "; with BN the deeper networks clearly did better" if t_bn.sign < 0 else
                     f"; with BN about the same (within {POINT})" if about(t_bn) else
                     "; with BN the data don't separate the depths")
        acc.headline = (f"{(broke + '. ') if broke else ''}{head} (final test accuracy, "
                        f"{over(cfg.seeds)}: {'; '.join(parts)}).")
    else:
        acc.headline = (f"{(broke + '. ') if broke else ''}One depth only: nothing to compare "
                        f"across depths ({'; '.join(parts)}).")
    out.append(acc)
    out.append(_notes_verdict(result, tests, enough))
    return out


def _notes_verdict(result: SweepResult, tests: dict, enough: bool) -> Verdict:
    """The notes' claim against the data, said plainly; no test of its own."""
    cfg = result.config
    bn = cfg.placement
    grows = {p: [d for d in trend_depths(cfg)
                 if tests[("trend", "late", p, d)].sign > 0
                 or tests[("trend", "early", p, d)].sign > 0] for p in cfg.networks}
    suffers = ("depth", "none") in tests and tests[("depth", "none")].sign > 0
    if not enough:
        head = (f"**The notes' depth claim, with {cfg.seeds} seeds: not settled** — the numbers "
                f"above show what happened in these seeds, not what is clear")
    elif not grows["none"]:
        head = ("**The data do not support the notes here**: without BN, at no depth is the "
                "drift's growth from the shallower to the deeper layers clear")
    elif suffers:
        head = ("**The data agree with the notes' description**: without BN the shift grows from "
                "layer to layer, and the deeper networks train worse")
    else:
        head = ("**Half of the notes' story**: without BN the shift grows from layer to layer, "
                "yet training does not clearly suffer with depth — the size of the shift did not "
                "predict training trouble here")
    v = Verdict(head + ".")
    if enough and grows["none"]:
        not_learned = [d for d in grows["none"]
                       if sum(not learned(result, r) for r in result.select("none", setting=d))
                       * 2 > cfg.seeds]
        if not_learned:
            d = not_learned[-1]
            runs = [r for r in result.select("none", setting=d) if not r.diverged]
            first = float(np.median([r.drift_late[0] for r in runs])) if runs else math.nan
            last = float(np.median([r.drift_late[-1] for r in runs])) if runs else math.nan
            v.details.append(
                f"But the {join_words([str(d) for d in not_learned])}-layer networks without BN "
                f"did not learn at all (in the {d}-layer ones, late, the first layer's inputs "
                f"moved {first:.2g} of their spread and the last layer's {last:.3g}, median over "
                f"seeds). The growing shift comes with a network that does not train; it does "
                f"not show that the shift is what stops it.")
        flat = [d for d in trend_depths(cfg) if tests[("flatten", d)].sign > 0]
        if grows[bn]:
            v.details.append(
                f"BN did not stop the growth entirely: with BN, drift still clearly grows from "
                f"layer to layer (at {join_words([str(d) for d in grows[bn]])} layers)"
                + (f", but BN clearly flattens it (at {join_words([str(d) for d in flat])} "
                   f"layers; the slopes above)" if flat else "") + ".")
        elif flat:
            v.details.append(f"BN stops it: with BN, no growth of drift from layer to layer is "
                             f"clear, and BN clearly flattens the trend (at "
                             f"{join_words([str(d) for d in flat])} layers).")
    v.details.append("That drift and trouble go together does not make one the cause of the "
                     "other. " + SANTURKAR)
    return v
