"""The lab's exercises: links that open the lab set up for one question, ask the learner to
predict the outcome before pressing Train, and afterwards say what the run showed, from the
run's own numbers (Crouch et al. 2004: students who predict first understand a demonstration
better than students who only watch; Miller et al. 2013: what students report seeing drifts
towards what they expected, so the reveal states it plainly, beside the prediction).

    EXERCISES[name]         Exercise(title, settings, lock, question, choices, expected, …)
    exercise.query()        the link's query: its settings, exercise=<name>, lock=…
    exercise.outcome(h)     which choice the run showed (from its History), or None (unfinished)
    exercise.reveal(h, p)   what the run showed, the learner's prediction p beside it, and a
                            plain "this run did not show the usual effect" where it did not
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from bn_core.lab.presets import EPS_ZERO
from bn_core.lab.reading import (accuracy_target, chance_accuracy, first_reached,
                                 read_history)
from bn_core.records import History, network_label
from bn_core.trainer import TrainConfig

__all__ = ["Exercise", "EXERCISES"]


@dataclass(frozen=True)
class Exercise:
    name: str
    title: str
    settings: TrainConfig
    question: str                      # what to predict, before Train
    choices: tuple[str, ...]
    expected: str | None               # what such a run usually shows (None: no settled answer)
    judge: Callable[[History], tuple[str, str]]   # → (the choice the run showed, its numbers)
    lock: tuple[str, ...] = ()         # URL names the link locks
    why: str = ""                      # the lesson, after the reveal
    hide: tuple[str, ...] = field(default=())

    def query(self) -> dict:
        q = {**self.settings.to_query(), "exercise": self.name}
        if self.lock:
            q["lock"] = ",".join(self.lock)
        if self.hide:
            q["hide"] = ",".join(self.hide)
        return q

    def outcome(self, history: History) -> str | None:
        """The choice the finished run showed, or None while it is not finished."""
        if not _finished(history):
            return None
        return self.judge(history)[0]

    def reveal(self, history: History, predicted: str | None) -> list[str]:
        """Sentences, most important first: what happened (numbers), the prediction beside it,
        and whether this run showed the usual effect."""
        if not _finished(history):
            return []
        shown, numbers = self.judge(history)
        lines = [f"**This run: {shown}.** {numbers}"]
        if predicted:
            lines.append(f"You predicted: *{predicted}* — "
                         + ("right." if predicted == shown else "not what this run showed."))
        if self.expected is not None and shown != self.expected:
            lines.append(f"This run did **not** show the usual effect (*{self.expected}*). "
                         "Runs differ: try another seed (More settings) and compare the runs.")
        if self.why and (self.expected is None or shown == self.expected):
            lines.append(self.why)
        return lines


def _finished(history: History) -> bool:
    return bool(history.frames) and max(s.step for s in history.frames[-1].values()) >= \
        history.config.steps


def _final_acc(history: History, network: str) -> float | None:
    snaps = [s for s in history.snapshots(network) if s.divergence is None]
    return snaps[-1].test_acc if snaps else None


def _judge_break(h: History) -> tuple[str, str]:
    r = read_history(h)
    bn = [n for n in h.networks if n != "none"]
    ok = {n: r.learned.get(n, False) and n not in r.broken for n in h.networks}
    acc = ", ".join(f"{network_label(n)} {_final_acc(h, n):.0%}" if _final_acc(h, n) is not None
                    else f"{network_label(n)} diverged" for n in h.networks)
    shown = ("both learn" if ok["none"] and all(ok[n] for n in bn) else
             "only the network with BN learns" if all(ok[n] for n in bn) else
             "only the network without BN learns" if ok["none"] else "neither learns")
    return shown, f"Final test accuracy: {acc} (guessing scores {chance_accuracy(h):.0%})."


def _judge_eps0(h: History) -> tuple[str, str]:
    bn = [n for n in h.networks if n != "none"]
    div = {n: h.divergence.get(n) for n in bn}
    if any(div.values()):
        first = min((d.step for d in div.values() if d), default=0)
        return "the BN network diverges", (f"It stopped at step {first:,}: a batch variance of "
                                           "exactly 0 made BN compute 0 / 0 = NaN.")
    return "the BN network trains as usual", "No batch had a unit with variance exactly 0."


def _judge_batch2(h: History) -> tuple[str, str]:
    bn = next(n for n in h.networks if n != "none")
    a, b = _final_acc(h, "none"), _final_acc(h, bn)
    if a is None or b is None:
        return "a network diverged", "A network diverged before the end."
    numbers = (f"Final test accuracy (BN in eval mode): without BN {a:.1%}, {network_label(bn)} "
               f"{b:.1%}.")
    if abs(a - b) < 0.02:
        return "about the same (within 2 points)", numbers
    return ("the network without BN" if a > b else "the network with BN") + " ends higher", numbers


def _judge_placement(h: History) -> tuple[str, str]:
    target = accuracy_target(h)
    if target is None:
        return "neither learned", "No network learned in this run."
    steps = {n: first_reached(h, n, target) for n in ("before", "after")}
    said = ", ".join(f"{network_label(n)} " + (f"at step {s:,}" if s is not None else "never")
                     for n, s in steps.items())
    numbers = f"First to reach {target:.0%} test accuracy: {said}."
    b, a = (s if s is not None else float("inf") for s in steps.values())
    if b == a:
        return "both at the same step", numbers
    return ("BN before the activation" if b < a else "BN after the activation") + " first", numbers


EXERCISES = {e.name: e for e in (
    Exercise("break", "Break it, then see what BN fixes",
             TrainConfig(lr=10.0), "At learning rate **10** (twenty times the default), which "
             "networks will still learn?",
             ("both learn", "only the network with BN learns",
              "only the network without BN learns", "neither learns"),
             "only the network with BN learns", _judge_break, lock=("lr", "placement"),
             why="A large step throws the sigmoids without BN into saturation, where they pass "
                 "almost no gradient back; BN re-centres every layer's inputs at each step, so "
                 "its network keeps learning. Compare this run with one at the default rate "
                 "(Compare runs, below)."),
    Exercise("eps0", "What ε is for", EPS_ZERO,
             "BN divides by √(batch variance + ε). With **ε = 0**, ReLU units and BN after the "
             "activation, what will happen to the BN network?",
             ("the BN network trains as usual", "the BN network diverges"),
             "the BN network diverges", _judge_eps0, lock=("eps", "activation", "placement"),
             why="A ReLU unit that outputs 0 for every example of a batch has variance 0; ε > 0 "
                 "keeps the division finite. Set ε back to 1e-5 and train again."),
    Exercise("batch2", "BN with mini-batches of 2", TrainConfig(batch_size=2),
             "With mini-batches of only **2** examples, which network will end with the higher "
             "test accuracy (BN in eval mode, with its running averages)?",
             ("the network without BN ends higher", "the network with BN ends higher",
              "about the same (within 2 points)"),
             "the network without BN ends higher", _judge_batch2, lock=("batch_size",),
             why="With 2 examples BN maps every unit's pair to −1 and +1, and the running "
                 "averages it uses at test time come from those noisy batch statistics."),
    Exercise("placement", "Before or after the activation?", TrainConfig(placement="both"),
             "The paper puts BN *before* the activation; some put it *after*. Which network "
             "will first reach 90 % of the best accuracy any network reaches?",
             ("BN before the activation first", "BN after the activation first",
              "both at the same step"),
             None, _judge_placement, lock=("placement",),
             why="One run is one seed, and a few steps apart is within what seeds change: "
                 "there is no settled answer here. The Experiments page asks it across many "
                 "seeds (BN before or after the activation)."),
)}
