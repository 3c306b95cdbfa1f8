"""What the data say, per experiment, and whether Santurkar et al.'s (2018) result reproduces here.

Every verdict compares kinds of network paired by seed (the same seed gives the same initial
weights and mini-batches), with exact sign-flip tests (bn_core.stats), Holm-corrected across all
the comparisons of its experiment — everything the page shows after one Run: the chance of even
one false "clear" on the page stays ≤ 5 %.

    verdict(result)      [Verdict]: the headline first, then the supporting ones
    rule(result, …)      how "clear" is decided: the family, the test, what the ± means
    few_seeds(result)    what the seeds can show, where they are too few for anything clear

The summaries tested, per network (one number per seed):

    noise       final test accuracy; average test accuracy over training (the speed); log10 of
                the jitter of the layers' input distributions around their slow trend
                (bn_core.lab.measures.jitter_and_drift: no division by the steps between
                snapshots, so it does not depend on how often a run was recorded), mean over
                layers
    ics         cos(G, G′) and log10 ‖G − G′‖, mean over steps and layers; final accuracy (MLP)
                or log10 training loss (linear network)
    landscape   log10 of the loss range, the largest gradient change and the effective
                β-smoothness, mean over the measured steps
    scale       mean training loss (W × 10 against W); log10 ‖W‖ at the end, mean over layers

A difference is called clear only beyond a margin that matters (`MARGINS`: the minimum effect
of bn_core.stats, an equivalence-style margin): "clear" tests |mean difference| > margin, so a
gap a learner can't see on the charts — every seed a tenth of a point behind — is reported, but
not as a difference. The margins, one per kind of measure, the same in every experiment and
on every page (the constants live in bn_core.verdicts):

    accuracy (final, average over training)   1 point (0.01): 2 test examples of the 200 of a
                                              2-D problem, 3.6 of the 360 of digits; about two
                                              seed-to-seed standard deviations of one network's
                                              accuracy here (0.4–0.5 points), and the size of gap
                                              the accuracy charts show apart (Santurkar et al.'s
                                              "trains about as well" is a gap below it)
    ratios, in log10 (jitter, ‖G − G′‖, the   a factor 1.1 (log10 1.1 ≈ 0.041): a 10 % change,
    DLN's loss, the landscape's measures,     the experiments page's "within 10 %"
    ‖W‖)
    cos(G, G′), mean training loss            0.01 (a cosine lies in [−1, 1]; a cross-entropy
                                              starts at ln 10 ≈ 2.3 on digits)

The page's error stays controlled: the test with a margin is never clear where the plain one
isn't, so the null simulations (tests/why/test_null.py) hold as before, and at a true difference
of exactly the margin it is clear in at most 5 % of Runs.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from bn_core import verdicts as shared
from bn_core.stats import ALPHA, Test, holm, paired_test, seeds_needed
from bn_core.why.config import SCALE_FACTOR, decay_kind
from bn_core.verdicts import Verdict, cap
# the margins, shared by every page (bn_core.verdicts), and their names in the verdicts
from bn_core.verdicts import (ACCURACY_MARGIN, COS_MARGIN, HUNDREDTH, LOSS_MARGIN, POINT,
                              RATIO_MARGIN)
from bn_core.verdicts import FACTOR as TEN_PERCENT
from bn_core.why import wording as w
from bn_core.why.training import WhyResult

__all__ = ["SETTLED", "Verdict", "few_seeds", "rule", "summaries", "verdict", "family_size",
           "ACCURACY_MARGIN", "RATIO_MARGIN", "COS_MARGIN", "LOSS_MARGIN", "MARGINS"]
SETTLED = 0.05          # ‖W‖ "settled": changed by less than 5 % over the last quarter of the run
                        # (the mean over seeds)
TINY = 1e-12            # floor before a log10 (a range of exactly 0)
# measure (a key of `summaries`) → the smallest difference that is called one
MARGINS = {"final": ACCURACY_MARGIN, "auc": ACCURACY_MARGIN, "jitter": RATIO_MARGIN,
           "cos": COS_MARGIN, "diff": RATIO_MARGIN, "range": RATIO_MARGIN,
           "change": RATIO_MARGIN, "beta": RATIO_MARGIN, "norm": RATIO_MARGIN,
           "loss": RATIO_MARGIN, "slower": LOSS_MARGIN}    # loss: the DLN's, log10; slower: not


def _clear(t: Test, sign: int) -> bool:
    return t.clear and t.sign == sign


def _auc(result: WhyResult, kind: str) -> np.ndarray:
    """(seeds,) average test accuracy over training: ∫ acc dt / steps (trapezoid; a diverged
    network counts as chance from its divergence on)."""
    i = result.index(kind)
    acc = np.where(np.isfinite(result.test_acc[i]), result.test_acc[i], result.chance)
    steps = result.steps.astype(float)
    if steps[-1] <= 0:
        return acc[:, -1]
    return np.trapezoid(acc, steps, axis=1) / steps[-1]


def _log(x) -> np.ndarray:
    return np.log10(np.maximum(np.asarray(x, dtype=float), TINY))


def summaries(result: WhyResult) -> dict[str, dict[str, np.ndarray]]:
    """measure → kind → (seeds,) values (the module doc's summaries)."""
    cfg, out = result.config, {}
    kinds = cfg.kinds
    if cfg.experiment == "noise":
        out["final"] = {k: result.final_acc(k) for k in kinds}
        out["auc"] = {k: _auc(result, k) for k in kinds}
        out["jitter"] = {k: np.nanmean(_log(result.jitter[result.index(k)]), 1) for k in kinds}
    elif cfg.experiment == "ics":
        out["cos"] = {k: np.nanmean(result.ics_cos[result.index(k)], (1, 2)) for k in kinds}
        out["diff"] = {k: np.nanmean(_log(result.ics_diff[result.index(k)]), (1, 2))
                       for k in kinds}
        if cfg.network == "linear":
            out["loss"] = {k: _log(_final_loss(result, k)) for k in kinds}
        else:
            out["final"] = {k: result.final_acc(k) for k in kinds}
    elif cfg.experiment == "landscape":
        lo, hi = np.nanmin(result.land_loss, 2), np.nanmax(result.land_loss, 2)     # (M, C)
        with np.errstate(all="ignore"):
            beta = np.nanmax(result.land_change / result.land_distance, 2)
        for name, value in (("range", hi - lo), ("change", np.nanmax(result.land_change, 2)),
                            ("beta", beta)):
            out[name] = {k: np.nanmean(_log(value[result.index(k)]), 1) for k in kinds}
        out["final"] = {k: result.final_acc(k) for k in kinds}
    else:
        out["loss"] = {k: np.nanmean(result.loss[result.index(k)], 1) for k in kinds}
        out["norm"] = {k: _log(result.norms[result.index(k), -1]).mean(1) for k in kinds}
    return out


def _final_loss(result: WhyResult, kind: str) -> np.ndarray:
    """(seeds,) the last training loss (a diverged network: +inf, left out of the test)."""
    i = result.index(kind)
    return np.where(result.diverged_at[i] >= 0, np.inf, result.loss[i, -1])


def family_size(config) -> int:
    """How many comparisons one Run of this config tests (its Holm family)."""
    return {"noise": 6, "ics": 3, "landscape": 3}.get(
        config.experiment, len(config.decays) - 1 + bool(config.multiply))


def _family(pairs: dict, margins: dict | None = None) -> dict[str, Test]:
    """Exact paired tests of each (a, b) over the seeds where both are finite, each clear only
    beyond its margin (`margins[key]`, else `MARGINS` of the key's first word: "auc noisy-none"
    → auc), Holm-corrected together (the page's family): key → Test of a − b (with no such
    seed: untestable, p = 1)."""
    keys, tests = list(pairs), []
    for k in keys:
        a, b = (np.asarray(v, dtype=float) for v in pairs[k])
        ok = np.isfinite(a) & np.isfinite(b)
        margin = (margins or {}).get(k, MARGINS.get(k.split()[0], 0.0))
        if not ok.any():
            tests.append(Test(math.nan, math.nan, math.nan, 1.0, True, 0, min_effect=margin))
            continue
        tests.append(paired_test(a[ok], b[ok], min_effect=margin))
    return dict(zip(keys, holm(tests, ALPHA)))


def verdict(result: WhyResult) -> list[Verdict]:
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)       # all-NaN: every seed diverged
        said = {"noise": _noise, "ics": _ics, "landscape": _landscape,
                "scale": _scale}[result.config.experiment](result)
    gone = result.diverged_at >= 0
    if gone.any():
        counts = [f"{result.label(k)} {int(gone[result.index(k)].sum())} of "
                  f"{len(result.index(k))}" for k in result.config.kinds]
        said[0].details.append(
            f"**{int(gone.sum())} network{'s' if gone.sum() > 1 else ''} diverged** (the loss "
            f"became NaN or infinite: {', '.join(counts)}); a diverged network counts as chance "
            f"accuracy, and its measurements stop where it diverged.")
    return said


# ----------------------------------------------------------------------------- noise

def _noise(result: WhyResult) -> list[Verdict]:
    cfg, s = result.config, summaries(result)
    n = cfg.seeds
    pairs = {}
    for m in ("auc", "final"):
        pairs[f"{m} noisy-none"] = (s[m]["noisy"], s[m]["none"])
        pairs[f"{m} noisy-before"] = (s[m]["noisy"], s[m]["before"])
    pairs["jitter noisy-none"] = (s["jitter"]["noisy"], s["jitter"]["none"])
    pairs["jitter noisy-before"] = (s["jitter"]["noisy"], s["jitter"]["before"])
    t = _family(pairs)
    need = seeds_needed(len(t))
    jitter = {k: 10 ** s["jitter"][k] for k in cfg.kinds}
    drift = {k: np.nanmean(result.drift[result.index(k)], 1) for k in cfg.kinds}
    details = [
        f"**Stability**: how much the layers' input distributions jitter around their slow "
        f"trend, in units of their standard deviation (from a fifth of the run on; the same "
        f"whether snapshots are close or far apart): noisy BN {w.mean_sd(jitter['noisy'], digits=2)}, "
        f"without BN {w.mean_sd(jitter['none'], digits=2)}, BN {w.mean_sd(jitter['before'], digits=2)}; "
        f"noisy BN jitters {w.ratio(t['jitter noisy-before'])} as much as BN "
        f"({w.says(t['jitter noisy-before'], TEN_PERCENT)}), and more than without BN "
        f"({w.says(t['jitter noisy-none'], TEN_PERCENT)}; the plain network's smooth path leaves "
        "almost no jitter, so a ratio to it would mostly measure how the path curves). The slow drift "
        "beneath, per 100 steps: noisy "
        f"BN {w.mean_sd(drift['noisy'], digits=2)}, without BN {w.mean_sd(drift['none'], digits=2)}, BN "
        f"{w.mean_sd(drift['before'], digits=2)}: the noise shakes the distributions at every step "
        "without moving them further.",
        f"**Average accuracy over training** (the speed): noisy BN {w.accuracy(s['auc']['noisy'])}, BN "
        f"{w.accuracy(s['auc']['before'])}, without BN {w.accuracy(s['auc']['none'])}; noisy − without: "
        f"{w.signed(t['auc noisy-none'], 100, ' points')} ({w.says(t['auc noisy-none'], POINT)}); "
        f"noisy − BN: {w.signed(t['auc noisy-before'], 100, ' points')} "
        f"({w.says(t['auc noisy-before'], POINT)}).",
        f"**Final test accuracy** after {cfg.steps:,} steps: noisy BN {w.accuracy(s['final']['noisy'])}, "
        f"BN {w.accuracy(s['final']['before'])}, without BN {w.accuracy(s['final']['none'])}; noisy − without: "
        f"{w.signed(t['final noisy-none'], 100, ' points')} "
        f"({w.says(t['final noisy-none'], POINT)}); "
        f"noisy − BN: {w.signed(t['final noisy-before'], 100, ' points')} "
        f"({w.says(t['final noisy-before'], POINT)})."]
    unstable = _clear(t["jitter noisy-none"], 1) and _clear(t["jitter noisy-before"], 1)
    beats_none = _clear(t["auc noisy-none"], 1) or _clear(t["final noisy-none"], 1)
    below_none = _clear(t["auc noisy-none"], -1) or _clear(t["final noisy-none"], -1)
    worse_than_bn = _clear(t["auc noisy-before"], -1) or _clear(t["final noisy-before"], -1)
    if cfg.noise == 0:
        head, rep = ("**With noise ×0 the noisy network *is* the BN network**: nothing to test. "
                     "Raise the noise strength."), None
    elif n < 2:
        head, rep = f"**One seed can't settle it**: use {need} or more seeds.", None
    elif unstable and beats_none and not worse_than_bn:
        above = _clear(t["auc noisy-before"], 1) or _clear(t["final noisy-before"], 1)
        same = t["auc noisy-before"].negligible and t["final noisy-before"].negligible
        head, rep = ("**Reproduces**: noisy BN has the least stable layer inputs, yet it trains "
                     "clearly better than the network without BN and " +
                     ("even better than BN here (by more than the 1-point margin)." if above else
                      "about as well as BN (both accuracy gaps within the 1-point margin)."
                      if same else "the data don't show it worse than BN.")), "yes"
    elif unstable and beats_none:
        head, rep = ("**Partly reproduces**: noisy BN has the least stable layer inputs and "
                     "still trains clearly better than without BN, but clearly worse than "
                     "BN (by more than the 1-point margin)."), "partly"
    elif below_none:
        head, rep = ("**Does not reproduce here**: the noisy network trains clearly *worse* than "
                     "the network without BN — at this strength the noise swamps BN's "
                     "benefit."), "no"
    else:
        head, rep = (f"**Not settled by {n} seeds**: " + ("noisy BN's inputs are clearly the "
                     "least stable, but its advantage over the network without BN is not clear"
                     if unstable else "not every comparison the claim needs is clear") +
                     (f": with {n} seeds no difference can be clear. Use {need} or more seeds."
                      if n < need else ".")), None
    return [Verdict(head, details, reproduces=rep, tests=list(t.values()))]


# ----------------------------------------------------------------------------- ics

def _ics(result: WhyResult) -> list[Verdict]:
    cfg, s = result.config, summaries(result)
    linear = cfg.network == "linear"
    pairs = {"cos": (s["cos"]["before"], s["cos"]["none"]),
             "diff": (s["diff"]["before"], s["diff"]["none"])}
    if linear:
        finite = np.isfinite(s["loss"]["before"]) & np.isfinite(s["loss"]["none"])
        pairs["loss"] = (s["loss"]["before"][finite], s["loss"]["none"][finite])
    else:
        pairs["final"] = (s["final"]["before"], s["final"]["none"])
    t = _family(pairs)
    need = seeds_needed(len(t))
    what = "the deep linear network" if linear else "the MLP"
    details = [
        f"**cos(G, G′)** (1: the update of the layers below does not change layer i's gradient), "
        f"mean over the measured steps and layers: with BN {w.mean_sd(s['cos']['before'], digits=3)}, "
        f"without {w.mean_sd(s['cos']['none'], digits=3)}; BN − without: "
        f"{w.signed(t['cos'], digits=3)} ({w.says(t['cos'], HUNDREDTH)}).",
        f"**‖G − G′‖** (0: no shift): with BN {w.geo(s['diff']['before'])}, without "
        f"{w.geo(s['diff']['none'])} (geometric means); BN's is {w.ratio(t['diff'])} the other's "
        f"({w.says(t['diff'], TEN_PERCENT)})."]
    if linear:
        details.append(
            f"**Training loss** after {cfg.dln_steps:,} steps: with BN {w.geo(s['loss']['before'])}"
            f", without {w.geo(s['loss']['none'])} (geometric means over the seeds that did not "
            f"diverge); BN's is {w.ratio(t['loss'])} the other's "
            f"({w.says(t['loss'], TEN_PERCENT)}).")
    else:
        details.append(
            f"**Final test accuracy**: with BN {w.accuracy(s['final']['before'])}, without "
            f"{w.accuracy(s['final']['none'])}; BN − without: {w.signed(t['final'], 100, ' points')} "
            f"({w.says(t['final'], POINT)}).")
    reduced = _clear(t["cos"], 1) or _clear(t["diff"], -1)
    increased = _clear(t["cos"], -1) or _clear(t["diff"], 1)
    if cfg.seeds < 2:
        head, rep = f"**One seed can't settle it**: use {need} or more seeds.", None
    elif reduced and not increased:
        head, rep = (f"**Does not reproduce here**: in {what}, BN clearly *reduced* the internal "
                     "covariate shift (G′ closer to G)."), "no"
    elif increased and not reduced:
        head, rep = (f"**Reproduces**: in {what}, BN did not reduce the internal covariate shift "
                     "as the paper defines it — it clearly *increased* it (G and G′ further "
                     "apart), as the paper found."), "yes"
    elif not reduced:
        head, rep = (f"**Not settled by {cfg.seeds} seeds**: in {what}, " + (
            f"with {cfg.seeds} seeds no difference can be clear (use {need} or more)."
            if cfg.seeds < need else "the data don't separate the shift with and without BN; "
            "they don't show BN reducing it either.")), None
    else:
        head, rep = ("**Mixed**: by one measure BN reduced the shift, by the other it increased "
                     "it."), "partly"
    return [Verdict(head, details, reproduces=rep, tests=list(t.values()))]


# ----------------------------------------------------------------------------- landscape

def _landscape(result: WhyResult) -> list[Verdict]:
    cfg, s = result.config, summaries(result)
    names = {"range": "variation of the loss (largest − smallest loss along the gradient)",
             "change": "gradient predictiveness (largest ‖∇L(θ − ηg) − ∇L(θ)‖)",
             "beta": "effective β-smoothness (largest gradient change per distance)"}
    t = _family({k: (s[k]["before"], s[k]["none"]) for k in names})
    need = seeds_needed(len(t))
    details = [f"**{cap(text)}**: with BN {w.geo(s[k]['before'])}, without {w.geo(s[k]['none'])} "
               f"(geometric means over seeds of the mean over the measured steps, in log scale); "
               f"BN's is {w.ratio(t[k])} the other's ({w.says(t[k], TEN_PERCENT)})."
               for k, text in names.items()]
    smoother = [k for k in names if _clear(t[k], -1)]
    rougher = [k for k in names if _clear(t[k], 1)]
    rough = f", but clearly rougher by {_names(rougher)}" if rougher else ""
    if cfg.seeds < 2:
        head, rep = f"**One seed can't settle it**: use {need} or more seeds.", None
    elif len(smoother) == 3:
        head, rep = ("**Reproduces**: with BN the loss varies less along the gradient, the "
                     "gradient is more predictive and the effective β-smoothness is lower: a "
                     "smoother landscape, as the paper found."), "yes"
    elif smoother:
        head, rep = (f"**Partly reproduces**: BN is clearly smoother by {len(smoother)} of the 3 "
                     f"measures ({_names(smoother)}){rough}."), "partly"
    elif rougher:
        head, rep = ("**Does not reproduce here**: by none of the three measures is BN's "
                     f"landscape clearly smoother; it is clearly rougher by {_names(rougher)}."
                     ), "no"
    else:
        head, rep = (f"**Not settled by {cfg.seeds} seeds**: " + (
            f"with {cfg.seeds} seeds no difference can be clear (use {need} or more)."
            if cfg.seeds < need else "the data don't separate the two landscapes by any of the "
            "three measures.")), None
    return [Verdict(head, details, reproduces=rep, tests=list(t.values()))]


def _names(keys) -> str:
    short = {"range": "loss variation", "change": "gradient predictiveness",
             "beta": "β-smoothness"}
    items = [short[k] for k in keys]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


# ----------------------------------------------------------------------------- scale

def _scale(result: WhyResult) -> list[Verdict]:
    cfg, s = result.config, summaries(result)
    decays = list(cfg.decays)
    pairs = {f"norm {d:g}": (s["norm"][decay_kind(i)], s["norm"][decay_kind(0)])
             for i, d in enumerate(decays) if i > 0}
    if cfg.multiply:
        pairs["slower"] = (s["loss"]["x10"], s["loss"][decay_kind(0)])
    t = _family(pairs)
    out = []
    if cfg.multiply:
        a, b = result.index(decay_kind(0)), result.index("x10")
        dloss = np.abs(result.loss[b, 0] - result.loss[a, 0])
        ratio = result.grad0[a] / result.grad0[b]                            # (seeds, L)
        out.append(Verdict(
            f"**W × {SCALE_FACTOR:g}: loss unchanged, gradient {SCALE_FACTOR:g}× smaller, "
            f"training slower** — " + ("as predicted." if _clear(t["slower"], 1) else
                                       "the slowdown is not clear in these seeds."),
            [f"At step 0, on the same mini-batch, the loss changed by at most {dloss.max():.2g} "
             f"(BN(aWu) = BN(Wu), up to ε), and ‖∂L/∂W‖ shrank by a factor "
             f"{np.nanmin(ratio):.6g} to {np.nanmax(ratio):.6g} across layers and seeds "
             f"(∇L(aW) = ∇L(W)/a).",
             f"So the same learning rate moves the weights {SCALE_FACTOR ** 2:g}× less relative "
             f"to their size (effective step η/‖w‖²): mean training loss over the run "
             f"{w.mean_sd(s['loss']['x10'], digits=3)} against {w.mean_sd(s['loss'][decay_kind(0)], digits=3)}; "
             f"difference {w.signed(t['slower'], digits=3)} ({w.says(t['slower'], HUNDREDTH)})."],
            reproduces="yes" if _clear(t["slower"], 1) else "partly", tests=[t["slower"]]))
    norms = result.norms                                                    # (M, T, L)
    q = max(0, int(round(0.75 * (len(result.steps) - 1))))
    share = (result.steps[-1] - result.steps[q]) / max(result.steps[-1], 1)  # the last quarter
    lines = []
    for i, d in enumerate(decays):
        idx = result.index(decay_kind(i))
        start, late, end = norms[idx, 0].mean(1), norms[idx, q].mean(1), norms[idx, -1].mean(1)
        change = (end - late) / late                                         # (seeds,)
        steady = bool(abs(np.mean(change)) < SETTLED)   # on average over the seeds: at the
        # equilibrium each seed's ‖W‖ still fluctuates with SGD's noise (a few % either way)
        # growth stalled: the last quarter grew less than half its share of the run's growth
        stalled = steady and bool(np.all(np.abs(np.log(end / late))
                                         < 0.5 * share * np.abs(np.log(end / start))))
        lines.append(f"Weight decay {d:g}: mean ‖W‖ {w.mean_sd(start, digits=2)} at step 0 → "
                     f"{w.mean_sd(end, digits=2)} at the end; over the last quarter of the run "
                     f"{w.mean_sd(change, 100)}%: "
                     f"{w.norm_reading(d, cfg.lr, cfg.steps, steady, stalled)}.".replace("-", "−"))
    tests = [t[k] for k in pairs if k.startswith("norm")]
    smaller = [k for k in pairs if k.startswith("norm") and _clear(t[k], -1)]
    grow = float(np.nanmean(norms[result.index(decay_kind(0)), -1].mean(1)
                            / norms[result.index(decay_kind(0)), 0].mean(1)))
    if not math.isfinite(grow):
        head = "**The networks diverged**: the norms can't be compared (lower the learning rate)"
    elif decays[0] == 0:
        head = (f"**Without decay ‖W‖ grew {grow:.3g}×** (plain SGD on a scale-invariant W: "
                "each step is orthogonal to W, so ‖W‖ can only grow)")
    else:
        head = f"**With the smallest decay ({decays[0]:g}) ‖W‖ changed {grow:.3g}×**"
    need = seeds_needed(max(len(t), 1))
    if len(decays) > 1 and cfg.seeds < need:
        head += (f"; with {cfg.seeds} seed{'s' if cfg.seeds > 1 else ''} no difference can be "
                 f"clear (use {need} or more).")
    elif len(decays) == 2:
        head += ("; the larger decay ends with a clearly smaller norm." if smaller else
                 "; the larger decay's norm is not clearly smaller.")
    elif len(decays) > 2:
        head += (f"; {len(smaller)} of the {len(decays) - 1} larger decays end with a clearly "
                 "smaller norm.")
    else:
        head += "."
    out.append(Verdict(head, lines + [f"{cap(k.replace('norm', 'decay'))} against "
                                      f"{decays[0]:g}: ‖W‖ {w.ratio(t[k])} "
                                      f"({w.says(t[k], TEN_PERCENT)})."
                                      for k in pairs if k.startswith("norm")],
                       tests=tests))
    return out


# ----------------------------------------------------------------------------- the rule

def rule(result: WhyResult, verdicts: list[Verdict] | None = None) -> str:
    """How to read the verdicts: one family for the whole Run, the exact test, the ±."""
    verdicts = verdict(result) if verdicts is None else verdicts
    tail = "The ± after a value is the standard deviation over seeds."
    if result.n_test:
        tail += " A diverged network counts as chance accuracy."
    return shared.rule(verdicts, tail + " " + w.margins_sentence(result.config))


def few_seeds(result: WhyResult, verdicts: list[Verdict] | None = None) -> str | None:
    """What the seeds can show, where they are too few for anything to be clear."""
    verdicts = verdict(result) if verdicts is None else verdicts
    return shared.few_seeds(result.config.seeds, verdicts)
