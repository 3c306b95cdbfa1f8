"""The lesson's verdicts: what the data say, with the error of every conclusion controlled across
all the comparisons the page shows after one Run: exact sign-flip tests paired by seed (the
networks compared share their initial weights and mini-batch orders), one Holm family per Run
(bn_core.stats; the sentences' helpers: bn_core.experiments.prose).

Every test here compares test accuracies (or, for BN's gain at one batch size against another,
differences of accuracies), so each is clear only beyond the 1-point accuracy margin of
bn_core.verdicts (ACCURACY_MARGIN, the same on /why and /experiments: 3.6 of the 360 digits test
images, about two seed-to-seed standard deviations, what the accuracy charts show apart); a gap
whose ± lies inside it reads "about the same". Descriptive bands use the shared factor 1.1:
BN's stored variance is "about right" within a factor 1.1 of what it meets (`about_one`).
Training and eval mode "agree" within one test example (`Result.resolution`): a statement
about every run, not a test.

    verdict(result)      the verdicts of the result's experiment (a list of Verdicts)
    rule(result, vs)     how "clear" is decided: the family, the test, what the ± means
    few_seeds(result)    what the seeds can show, where they are too few for anything clear
"""

from __future__ import annotations

import math

import numpy as np

from bn_core.alternatives.config import NORM_LABELS, REGULARISER_LABELS
from bn_core.alternatives.training import Result
from bn_core.experiments.prose import (about, family, fmt, mark, over, points, seed_pairs,
                                       signed, within_sentence)
from bn_core import verdicts as shared
from bn_core.stats import rank, seeds_needed, summarize
from bn_core.verdicts import (ACCURACY_MARGIN, POINT, RATIO_FACTOR, Verdict, about_one,
                              join_words, untestable)

__all__ = ["verdict", "rule", "few_seeds", "regular_tests", "PAPER_NOTE"]
PAPER_NOTE = ("The 2015 paper never tested this claim on its own: its BN-Inception dropped "
              "dropout *together with* five other changes (a 5–30× higher learning rate, 5× less "
              "L2, faster decay, no local response normalisation, more shuffling), and it has no "
              "dropout-only ablation.")
PAIRS = (("bn", "none"), ("dropout", "none"), ("bn_dropout", "none"), ("bn", "dropout"),
         ("bn_dropout", "bn"), ("bn_dropout", "dropout"))


def verdict(result: Result) -> list[Verdict]:
    return {"regular": regular_verdict, "shift": shift_verdict,
            "batch": batch_verdict}[result.config.experiment](result)


def _acc(result: Result, what: str = "test_acc"):
    return lambda r: result.chance if r.diverged else getattr(r, what)


def _pairs(result: Result, pairs: dict, what: str = "test_acc") -> dict:
    """key → (runs a, runs b) as key → (a's values, b's values), paired by seed."""
    value = _acc(result, what)
    return {k: seed_pairs(a, b, value) for k, (a, b) in pairs.items()}


# ----------------------------------------------------------------------------- regular

def regular_tests(result: Result) -> dict:
    """(batch size, a, b) → Test of a − b in test accuracy, and "gain" → the test of whether
    BN's gain over neither differs between the smallest and the largest batch: one Holm family,
    the page's."""
    sel, sizes = result.select, list(result.config.batch_sizes)
    pairs = _pairs(result, {(b, x, y): (sel(x, b), sel(y, b)) for b in sizes for x, y in PAIRS})
    if len(sizes) > 1:
        value = _acc(result)
        d_lo = seed_pairs(sel("bn", sizes[0]), sel("none", sizes[0]), value)
        d_hi = seed_pairs(sel("bn", sizes[-1]), sel("none", sizes[-1]), value)
        pairs["gain"] = (d_lo[0] - d_lo[1], d_hi[0] - d_hi[1])
    return family(pairs, ACCURACY_MARGIN)


def _said(t, a: str, b: str) -> str:
    """'BN + dropout − BN +1.2 ± 0.8 points (clear)'."""
    names = REGULARISER_LABELS
    return f"{names[a]} − {names[b]} {points(t)}{mark(t)}"


def regular_verdict(result: Result) -> list[Verdict]:
    cfg, tests, sizes = result.config, regular_tests(result), list(result.config.batch_sizes)
    names = REGULARISER_LABELS
    where = f"(test accuracy, {over(cfg.seeds)}, trained on {result.n_train} examples)"
    # 1. the claim: does dropout still add something on top of BN?
    helped = [b for b in sizes if tests[(b, "bn_dropout", "bn")].sign > 0]
    hurt = [b for b in sizes if tests[(b, "bn_dropout", "bn")].sign < 0]
    if helped:
        head = (f"**Dropout still helped on top of BN** at batch size "
                f"{join_words([str(b) for b in helped])}: here BN did not make it unnecessary")
    elif hurt:
        head = (f"**Adding dropout to BN hurt** at batch size {join_words([str(b) for b in hurt])}"
                f": on this data BN needed no dropout")
    elif cfg.seeds < seeds_needed(len(tests)):
        head = (f"**Not testable with {cfg.seeds} seed{'s' if cfg.seeds > 1 else ''}**: "
                f"{untestable(cfg.seeds, len(tests))}, so these seeds can't say whether "
                f"dropout still adds something to BN")
    elif all(about(tests[(b, "bn_dropout", "bn")]) for b in sizes):
        head = (f"**Adding dropout to BN changed about nothing** at any batch size tried (every "
                f"gap within {POINT}): consistent with “BN makes dropout unnecessary” here")
    else:
        head = ("**No clear effect of adding dropout to BN** at any batch size tried: consistent "
                "with “BN makes dropout unnecessary” here — though not separated is not equal")
    claim = Verdict(head + ".", tests=[t for k, t in tests.items() if k != "gain"])
    claim.details.append("BN + dropout − BN, per seed (mean ± the margin to be clear): " + "; ".join(
        f"batch {b}: {points(tests[(b, 'bn_dropout', 'bn')])}{mark(tests[(b, 'bn_dropout', 'bn')])}"
        for b in sizes) + ".")
    claim.details.append(PAPER_NOTE)
    out = [claim]
    # 2. per batch size: which regularisers beat which
    for b in sizes:
        groups = {g: result.values(result.select(g, b)) for g in REGULARISER_LABELS}

        def beats(x, y, b=b):
            t = tests.get((b, x, y))
            return t.sign > 0 if t is not None else tests[(b, y, x)].sign < 0

        ranking = rank(groups, beats)
        s = ranking.summaries
        listing = lambda gs, s=s: join_words([f"{names[g]} ({fmt(s[g])})" for g in gs])  # noqa: E731
        if ranking.winner is not None:
            text = (f"Batch size {b}: **{names[ranking.winner]} is best**, "
                    f"{fmt(s[ranking.winner])}, against "
                    f"{listing([g for g in ranking.order if g != ranking.winner])} {where}.")
        elif cfg.seeds < seeds_needed(len(tests)):
            text = (f"Batch size {b}: {listing(ranking.order)} {where}; "
                    f"{untestable(cfg.seeds, len(tests))}.")
        elif all(about(tests.get((b, x, y)) or tests[(b, y, x)])
                 for i, x in enumerate(ranking.tied) for y in ranking.tied[i + 1:]):
            text = (f"Batch size {b}: **no clear winner**: {listing(ranking.tied)} are about the "
                    f"same (every gap within {POINT})"
                    + (f"; {'both' if len(ranking.tied) == 2 else 'all'} beat "
                       f"{listing(ranking.beaten)}" if ranking.beaten else "") + f" {where}.")
        else:
            text = (f"Batch size {b}: **no clear winner** among {listing(ranking.tied)}"
                    + (f"; {'both' if len(ranking.tied) == 2 else 'all'} beat "
                       f"{listing(ranking.beaten)}" if ranking.beaten else "") + f" {where}."
                    + within_sentence(ranking, names))
        v = Verdict(text)
        if cfg.seeds > 1:
            v.details.append("Differences per seed (mean ± the margin to be clear): " + "; ".join(
                _said(tests[(b, x, y)], x, y) for x, y in PAIRS) + ".")
        gaps = {g: np.mean([r.train_acc - r.test_acc for r in result.select(g, b)
                            if not r.diverged] or [math.nan]) for g in REGULARISER_LABELS}
        v.details.append("Train − test accuracy gap (mean): " + "; ".join(
            f"{names[g]} {signed(100 * gap, '.1f')} points" for g, gap in gaps.items()) + ".")
        out.append(v)
    # 3. does BN's effect shrink as the batch grows? (its own question: one test)
    if len(sizes) > 1:
        lo, hi = sizes[0], sizes[-1]
        t = tests["gain"]
        if t.sign > 0:
            text = (f"BN's gain over no regulariser was **larger at batch {lo} than at batch {hi}**"
                    f" ({points(t)}): as expected if its regularising noise shrinks with the batch.")
        elif t.sign < 0:
            text = (f"BN's gain over no regulariser was **smaller at batch {lo} than at batch "
                    f"{hi}** ({points(t)}): the opposite of “more noise, more regularisation”.")
        elif about(t):
            text = (f"BN's gain over no regulariser was **about the same** at batch {lo} and at "
                    f"batch {hi} ({points(t)}: within {POINT}).")
        else:
            text = (f"BN's gain over no regulariser at batch {lo} and at batch {hi} **can't be "
                    f"told apart** ({points(t)}).")
        v = Verdict(text, tests=[t])
        v.details.append(f"(BN − neither at batch {lo}) − (BN − neither at batch {hi}), per seed, "
                         f"tested with the page's other comparisons. The batch sizes tried stop "
                         f"at {lo} and {hi}.")
        out.append(v)
    return out


# ----------------------------------------------------------------------------- shift

def shift_verdict(result: Result) -> list[Verdict]:
    cfg, sel = result.config, result.select
    keep = 1.0 - float(cfg.dropout)
    k_all = [i for i, r in enumerate(result.networks) if r.member.group == "all"]
    k_last = [i for i, r in enumerate(result.networks) if r.member.group == "last"]
    parts, first = [], math.nan
    for l, (running, evaluated) in enumerate(result.variances[1:], start=2):
        with np.errstate(all="ignore"):
            ratio = running / evaluated                                  # (K, W) stored / eval
        a, b = np.nanmedian(ratio[k_all]), np.nanmedian(ratio[k_last])
        first = a if l == 2 else first
        parts.append(f"layer {l}: {a:.2f}× with dropout before it, {b:.2f}× with dropout only "
                     f"after the last layer")
    size = ("about right" if about_one(first) else "too large" if first > RATIO_FACTOR
            else "too small")
    shift = Verdict(
        f"**BN's stored variance is {size}** for what it meets in eval mode, where a "
        f"dropout comes before it: its running variance ÷ its input's eval-mode variance "
        f"(median over units and seeds) is " + "; ".join(parts) + ".")
    shift.details.append(
        f"Inverted dropout keeps a unit with probability {keep:g} and scales it by "
        f"1/{keep:g}: that adds variance in training only. One unit of mean c and variance v fed "
        f"straight to BN would give stored ÷ eval = 1/{keep:g} + (c²/v)(1/{keep:g} − 1) (Li et "
        f"al.): {1 / keep:.2g}× for mean 0, *more* for a nonzero mean (as ReLU outputs have). "
        f"Here a weight layer sits between the dropout and BN and mixes {cfg.width} units: their "
        f"shared signal adds up coherently while each unit's dropout noise is its own and adds "
        f"up independently, so the noise is diluted and the ratio falls towards 1.")
    if result.predicted:
        pred = [float(np.nanmedian(p[k_all])) for p in result.predicted]
        shift.details.append(
            "Predicted by propagating the dropout noise through each trained weight layer, "
            "1 + (p/(1 − p)) Σ_i W_ji² E[h_i²] / Var(x_j): " + "; ".join(
                f"layer {l}: {v:.2f}×" for l, v in enumerate(pred, start=2))
            + ". A measured ratio above its prediction (deeper layers) is the earlier dropouts' "
            "noise, which in training also passes through the BN and activation below into h.")
    rec = seed_pairs(sel("all"), sel("all"), _acc(result, "recomputed_acc"))[0]
    last, trained = seed_pairs(sel("last"), sel("all"), _acc(result))
    tests = family({"recompute": (rec, trained), "last": (last, trained),
                    "last_vs_recompute": (last, rec)}, ACCURACY_MARGIN)
    fix2, fix1 = tests["recompute"], tests["last"]
    if fix2.sign > 0:
        head = (f"**The variance shift cost accuracy**: recomputing BN's statistics with "
                f"dropout off gained {points(fix2)}")
    elif fix2.sign < 0:
        head = (f"Recomputing BN's statistics with dropout off **lowered** test accuracy "
                f"({points(fix2)})")
    elif cfg.seeds < seeds_needed(len(tests)):
        head = (f"**Not testable with {cfg.seeds} seed{'s' if cfg.seeds > 1 else ''}**: "
                f"recomputing BN's statistics with dropout off changed test accuracy by "
                f"{points(fix2)}, but {untestable(cfg.seeds, len(tests))}")
    elif about(fix2):
        head = (f"**The variance shift cost about nothing here**: recomputing BN's statistics "
                f"with dropout off changed test accuracy by {points(fix2)}, within {POINT}")
    else:
        head = (f"**The variance shift cost no measurable accuracy here**: recomputing BN's "
                f"statistics with dropout off changed test accuracy by {points(fix2)}")
    v = Verdict(head + ".", tests=list(tests.values()))
    acc = {g: summarize(result.values(sel(g))) for g in ("all", "last")}
    rec = summarize(result.values(sel("all"), "recomputed_acc"))
    v.details.append(
        f"Test accuracy ({over(cfg.seeds)}): dropout before every BN {fmt(acc['all'])} as "
        f"trained, {fmt(rec)} with recomputed statistics; dropout only after the last BN "
        f"{fmt(acc['last'])}: {points(fix1)}{mark(fix1)} against the "
        f"first as trained, {points(tests['last_vs_recompute'])}"
        f"{mark(tests['last_vs_recompute'])} against it recomputed.")
    v.details.append(
        "The two fixes answer different questions: recomputing the statistics keeps the same "
        "weights, so it measures the shift's own cost; moving dropout trains other networks, "
        "with less dropout, so it mixes the shift with a weaker regulariser.")
    return [shift, v]


# ----------------------------------------------------------------------------- batch

def batch_verdict(result: Result) -> list[Verdict]:
    cfg, sel = result.config, result.select
    sizes, norms = list(cfg.batch_sizes), list(cfg.norms)
    out, pairs = [], {}
    if len(sizes) > 1:
        pairs.update(_pairs(result, {("size", n): (sel(n, sizes[0]), sel(n, sizes[-1]))
                                     for n in norms}))
    if "batch" in norms and len(norms) > 1:
        pairs.update(_pairs(result, {("vs", n): (sel(n, sizes[0]), sel("batch", sizes[0]))
                                     for n in norms if n != "batch"}))
    every = family(pairs, ACCURACY_MARGIN)                  # one Holm family: the page's
    if len(sizes) > 1:
        lo, hi = sizes[0], sizes[-1]
        tests = {k[1]: t for k, t in every.items() if k[0] == "size"}
        fell = [n for n in norms if tests[n].sign < 0]
        steady = [n for n in norms if tests[n].sign == 0 and not about(tests[n])]
        alike = [n for n in norms if about(tests[n])]
        head = (f"From batch {hi} down to batch {lo}, **{join_words([NORM_LABELS[n] for n in fell])} "
                f"lost accuracy clearly**" if fell else
                f"No normaliser's accuracy fell clearly from batch {hi} to batch {lo}")
        if cfg.seeds < seeds_needed(len(every)):
            head = (f"**Not testable with {cfg.seeds} seed{'s' if cfg.seeds > 1 else ''}**: "
                    f"{untestable(cfg.seeds, len(every))}, so these seeds can't say whose "
                    f"accuracy fell from batch {hi} to batch {lo}")
        else:
            if alike:
                head += (f"; {join_words([NORM_LABELS[n] for n in alike])}: about the same at "
                         f"both (within {POINT})")
            if steady:
                head += (f"; {join_words([NORM_LABELS[n] for n in steady])}: not clearly "
                         f"different between the two")
        v = Verdict(head + ".", tests=list(tests.values()))
        v.details.append(f"Eval-mode test accuracy at batch {lo} − at batch {hi}, per seed (mean ± "
                         f"the margin to be clear): " + "; ".join(
                             f"{NORM_LABELS[n]} {points(tests[n])}{mark(tests[n])}"
                             for n in norms) + ".")
        v.details.append(f"The comparison is between the smallest and the largest batch size "
                         f"tried, {lo} and {hi}; each network trained on {cfg.examples:,} "
                         f"examples.")
        out.append(v)
    if "batch" in norms and len(norms) > 1:
        b = sizes[0]
        others = [n for n in norms if n != "batch"]
        tests = {k[1]: t for k, t in every.items() if k[0] == "vs"}
        better = [n for n in others if tests[n].sign > 0]
        v = Verdict((f"At batch {b}, **{join_words([NORM_LABELS[n] for n in better])} beat "
                     f"BatchNorm**" if better else f"At batch {b}, nothing clearly beat BatchNorm"
                     if cfg.seeds >= seeds_needed(len(every)) else f"At batch {b}")
                    + f" (eval-mode test accuracy, {over(cfg.seeds)}: " + "; ".join(
                        f"{NORM_LABELS[n]} {fmt(summarize(result.values(sel(n, b))))}"
                        for n in norms) + ").", tests=list(tests.values()))
        out.append(v)
    same, differ = [], []
    for n in norms:
        runs = [r for r in sel(n) if not r.diverged]
        gap = [r.test_acc - r.train_mode_acc for r in runs]
        (same if runs and max(abs(g) for g in gap) <= result.resolution else differ).append(n)
    v = Verdict("**Training and eval mode agree** " + (
        f"for {join_words([NORM_LABELS[n] for n in same])} in every run (within one test "
        f"example)" if same else "for no normaliser") + (
        f"; they differ for {join_words([NORM_LABELS[n] for n in differ])}" if differ else "")
        + ".")
    v.details.append("LayerNorm, GroupNorm and RMSNorm normalise each example on its own and "
                     "keep no running statistics: eval mode computes what training did. BN and "
                     "Batch Renorm use their running averages in eval mode, the batch's own "
                     "statistics in training mode (here each test batch of the training size).")
    out.append(v)
    return out


# ----------------------------------------------------------------------------- the rule

def rule(result: Result, verdicts=None) -> str:
    """How to read the verdicts: one family for the whole Run, the exact test, the ±."""
    verdicts = verdict(result) if verdicts is None else verdicts
    return shared.rule(verdicts, "The ± after an accuracy is the standard deviation over seeds; "
                                 "a diverged run counts as chance accuracy. " +
                       shared.margins_sentence([(POINT, "in accuracy")]))


def few_seeds(result: Result, verdicts=None) -> str | None:
    """What the seeds can show, where they are too few for anything to be clear."""
    verdicts = verdict(result) if verdicts is None else verdicts
    return shared.few_seeds(result.config.seeds, verdicts)
