"""Every knob of every lesson, declared once: name, type, default, range or choices, label, help,
URL name. Parsing with clear errors, the URL query, widget keys and widgets derive from it.

A lesson's config is a frozen dataclass whose fields are declared with `knob`:

    @dataclass(frozen=True)
    class TrainConfig(Config):
        lr: float = knob(0.5, "Learning rate", lo=1e-4, hi=10.0, ladder=(0.01, 0.1, 0.5, 1.0),
                         help="How big a step …")
        placement: str = knob("before", "Where BN goes", choices=("before", "after"),
                              labels={"before": "before the activation"})

    TrainConfig(lr=20)                        → ValueError "lr: expected a value from 0.0001 to 10, got 20"
    TrainConfig.from_query({"lr": "abc"})     → (TrainConfig(), ["lr: expected a number, got 'abc'; using 0.5"])
    config.to_query()                         → {"lr": "0.1"}: the URL fields that differ from the defaults
    TrainConfig.controls()                    → the Controls, in field order (ui.py makes the widgets)

Rules between fields (lr_min < lr_max) go in the config's `check()`, which `__post_init__` calls
after the per-field checks. A knob's `ladder` is the widget's list of values (a select slider);
any value in [lo, hi] is still valid (from a link), and the widget shows it as an extra step.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = ["Control", "Config", "ExperimentConfig", "RuleError", "in_words", "knob"]

_NONE_WORDS = ("none", "null", "default", "")
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


@dataclass(frozen=True)
class Control:
    """One declared knob (see the module doc). `kind` is the value type: bool, int, float, str,
    or a tuple of one of those (a multi-choice)."""

    name: str
    label: str
    kind: type = str
    default: object = None
    help: str = ""
    choices: tuple | None = None      # the allowed values (in the widget's order)
    lo: float | None = None           # numeric range, inclusive
    hi: float | None = None
    ladder: tuple | None = None       # the widget's values for a number (a select slider)
    optional: bool = False            # None allowed: "none" in the URL
    url: str | None = ""              # the URL parameter: "" → the field's name, None → not in it
    labels: Mapping | Callable | None = None    # value → text on the widget
    widget: str | None = None         # "radio", "slider", "number", "toggle"…; None: by type
    expect: str = ""                  # what is valid, in the learner's words, for the messages
                                      # (default: the range or the choices); a page's `narrow`

    @property
    def url_name(self) -> str | None:
        return self.name if self.url == "" else self.url

    def show(self, value) -> str:
        """The value as the widget shows it."""
        if callable(self.labels):
            return self.labels(value)
        if self.labels is not None and value in self.labels:
            return self.labels[value]
        if value is None:
            return "none"
        return f"{value:g}" if isinstance(value, float) else str(value)

    def _range(self) -> str:
        if self.expect:
            return self.expect
        if self.lo is not None and self.hi is not None:
            return f"a value from {self._bound(self.lo)} to {self._bound(self.hi)}"
        if self.lo is not None:
            return f"a value of at least {self._bound(self.lo)}"
        if self.hi is not None:
            return f"a value of at most {self._bound(self.hi)}"
        return "a finite number"

    def _bound(self, bound: float) -> str:
        """A bound of the range as a message writes it: an int knob's as a plain integer with
        thousands separators (2,147,483,647), a float's in %g (0.0001, 10)."""
        return f"{int(bound):,}" if self.kind is int else f"{bound:g}"

    def normal(self, value):
        """The value in its plain Python form: numpy scalars unwrapped, a whole float of an int
        knob as an int (3.0 → 3); anything else unchanged (for `check` to judge)."""
        value = _plain(value)
        if isinstance(value, tuple) and any(hasattr(v, "item") for v in value):
            return tuple(_plain(v) for v in value)
        if self.kind is int and isinstance(value, float) and value.is_integer():
            return int(value)
        return value

    def text(self, value) -> str:
        """The value as written in a URL (and a CSV): 'none', 'true', repr of a float, 'a,b'."""
        value = self.normal(value)
        if value is None:
            return "none"
        if isinstance(value, tuple):
            return ",".join(self.text(v) for v in value)
        if isinstance(value, bool):
            return "true" if value else "false"
        return repr(value) if isinstance(value, float) else str(value)

    def parse(self, text):
        """The value written as `text` (ValueError naming the field); checked by `check`."""
        text = str(text).strip()
        if self.optional and text.lower() in _NONE_WORDS:
            return None
        if self.kind is tuple:                                 # a multi-choice: "a,b,c"
            one = dataclasses.replace(self, kind=_item_kind(self), optional=False)
            return self.check(tuple(one.parse(t) for t in text.split(",") if t.strip()))
        try:
            if self.kind is bool:
                if text.lower() in _TRUE:
                    return self.check(True)
                if text.lower() in _FALSE:
                    return self.check(False)
                raise ValueError
            if self.kind is int:
                number = float(text)
                if not number.is_integer():
                    raise ValueError
                value = int(number)
            elif self.kind is float:
                value = float(text)
            else:                                            # a choice, whatever its case
                value = next((c for c in self.choices or () if str(c).lower() == text.lower()),
                             text)
        except (ValueError, OverflowError):
            kind = {bool: "true or false", int: "a whole number"}.get(self.kind, "a number")
            raise ValueError(f"{self.name}: expected {kind}, got {text!r}") from None
        return self.check(value)

    def check(self, value):
        """`value` (in its `normal` form) if it is valid for this knob, else ValueError naming
        the field."""
        value = self.normal(value)
        if value is None:
            if self.optional:
                return None
            raise ValueError(f"{self.name}: expected a value, got None")
        if isinstance(value, tuple):
            if not value:
                raise ValueError(f"{self.name}: expected at least one value, got none (choose "
                                 f"at least one {self.label.lower().rstrip('s')})")
            one = dataclasses.replace(self, kind=_item_kind(self) or str, optional=False)
            for v in value:
                one.check(v)
            return value
        if self.choices is not None and value not in self.choices:
            shown = self.expect or "one of " + ", ".join(self.text(c) for c in self.choices)
            raise ValueError(f"{self.name}: expected {shown}, got {value!r}")
        if self.kind in (int, float):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{self.name}: expected a number, got {value!r}")
            if self.kind is int and not float(value).is_integer():
                raise ValueError(f"{self.name}: expected a whole number, got {value!r}")
            if not math.isfinite(value) or (self.lo is not None and value < self.lo) or \
                    (self.hi is not None and value > self.hi):
                raise ValueError(f"{self.name}: expected {self._range()}, got {value!r}")
        if self.kind is bool and not isinstance(value, bool):
            raise ValueError(f"{self.name}: expected true or false, got {value!r}")
        return value


class RuleError(ValueError):
    """A rule between knobs broken. str(): the field's name, as the URL and the code write it
    ('lr_min: expected less than lr_max (10), got 10'); `words`: the same with the controls'
    labels, for the learner ('Learning rates (range): expected the lowest less than the
    highest (10), got 10'). Made by `Config.broken`."""

    def __init__(self, message: str, words: str):
        super().__init__(message)
        self.words = words


def in_words(exc: Exception, config_cls=None) -> str:
    """An error as a learner reads it: a RuleError's words; else a leading 'field:' of one of
    config_cls's knobs replaced by its label; else the message as it is."""
    if isinstance(exc, RuleError):
        return exc.words
    text = str(exc)
    name, sep, rest = text.partition(": ")
    if sep and config_cls is not None and name in {c.name for c in config_cls.controls()}:
        return f"{config_cls.control(name).label}: {rest}"
    return text


def _plain(value):
    """numpy scalars as Python ones (np.float64(0.1) → 0.1), so they print and parse back."""
    return value.item() if hasattr(value, "item") and not isinstance(value, (tuple, list)) else value


def _item_kind(control: Control):
    """The type of a multi-choice's items (from its choices), or None for a single value."""
    if control.kind is not tuple:
        return None
    return type(control.choices[0]) if control.choices else str


def knob(default, label: str, **declared):
    """A config field declared as a knob: `field(default=…, metadata={"control": …})`."""
    return dataclasses.field(default=default,
                             metadata={"knob": dict(label=label, default=default, **declared)})


def _kind(annotation) -> type:
    """bool/int/float/str/tuple from a field's annotation: a string under `from __future__`
    ('float | None', 'Optional[float]', 'tuple[str, ...]') or the type itself."""
    text = annotation if isinstance(annotation, str) else (
        annotation.__name__ if isinstance(annotation, type) else str(annotation))
    for prefix in ("typing.", "Optional["):
        text = text.removeprefix(prefix)
    for name, kind in (("tuple", tuple), ("bool", bool), ("int", int), ("float", float)):
        if text.startswith(name):
            return kind
    return str


class Config:
    """The base of every lesson's config dataclass: per-field checks from the knobs, a `check()`
    hook for rules between fields, and the URL query (module doc)."""

    @classmethod
    def controls(cls) -> list[Control]:
        """The declared knobs, in field order."""
        cached = cls.__dict__.get("_controls")
        if cached is None:
            cached = [Control(f.name, kind=_kind(f.type), **f.metadata["knob"])
                      for f in dataclasses.fields(cls) if "knob" in f.metadata]
            cls._controls = cached
        return cached

    @classmethod
    def control(cls, name: str) -> Control:
        for c in cls.controls():
            if c.name == name:
                return c
        raise ValueError(f"{name}: unknown parameter; expected one of "
                         f"{', '.join(c.name for c in cls.controls())}")

    def __post_init__(self):
        for c in self.controls():
            object.__setattr__(self, c.name, c.check(getattr(self, c.name)))   # frozen: set once
        self.check()

    def check(self) -> None:
        """Rules between fields; raise ValueError naming the field. None by default."""

    @classmethod
    def broken(cls, name: str, expected: str, got, said: str = "") -> RuleError:
        """The error of a rule between fields broken at `name`: 'name: expected …, got …', and
        in words (`said`: what was expected, with labels, not field names) 'Label: expected …,
        got …'."""
        return RuleError(f"{name}: expected {expected}, got {got}",
                         f"{cls.control(name).label}: expected {said or expected}, got {got}")

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)

    def to_dict(self, names=None) -> dict[str, str]:
        """The knobs as a flat dict of strings (`Control.text`)."""
        return {c.name: c.text(getattr(self, c.name)) for c in self.controls()
                if names is None or c.name in names}

    def to_query(self) -> dict[str, str]:
        """The URL query: the knobs with a URL name whose value differs from the default."""
        return {c.url_name: c.text(getattr(self, c.name)) for c in self.controls()
                if c.url_name and c.text(getattr(self, c.name)) != c.text(c.default)}

    @classmethod
    def from_dict(cls, values: Mapping[str, object]):
        """Strict: a config from field names → texts; the first invalid value raises."""
        return cls(**{name: cls.control(name).parse(text) for name, text in values.items()})

    @classmethod
    def from_query(cls, values: Mapping[str, object], base=None,
                   narrow: Mapping[str, Mapping] | None = None):
        """Lenient, for a URL: each unknown or invalid parameter falls back to `base`'s value
        (default: the defaults). Returns (config, problems), one message per rejected one.
        The valid values are applied together (a pair such as low=2&high=5 is judged as a
        pair); where they break a rule between fields, one at a time, in field order.
        narrow: what the page offers of some knobs, tighter than they allow (field name → the
        Control's fields to replace: choices=, lo=, hi=, and expect= to say it), e.g. the lab's
        placements without "none"; names not of this config are ignored."""
        base, narrow = base or cls(), narrow or {}
        by_url = {c.url_name: dataclasses.replace(c, **narrow.get(c.name, {}))
                  for c in cls.controls() if c.url_name}
        order = list(by_url)
        parsed, problems = {}, []
        for key, text in sorted(values.items(), key=lambda kv: order.index(kv[0])
                                if kv[0] in by_url else -1):
            c = by_url.get(key)
            if c is None:
                problems.append(f"{key}: unknown parameter, ignored")
                continue
            try:
                parsed[c.name] = c.parse(text)
            except ValueError as exc:
                problems.append(f"{exc}; using {c.text(getattr(base, c.name))}")
        try:
            return dataclasses.replace(base, **parsed), problems
        except ValueError:
            pass
        config = base
        for name, value in parsed.items():
            try:
                config = dataclasses.replace(config, **{name: value})
            except ValueError as exc:
                c = cls.control(name)
                problems.append(f"{exc}; using {c.text(getattr(config, name))}")
        return config, problems


class ExperimentConfig(Config):
    """The base of the experiment pages' configs (experiments, why, alternatives): an
    `experiment` knob (URL name `exp`) picks one of EXPERIMENTS, each with its own defaults
    (`default(experiment)`) and its own knobs (`relevant`); the URL holds the experiment and
    those of its knobs that differ from its defaults."""

    EXPERIMENTS: tuple[str, ...] = ()
    RELEVANT: Mapping[str, tuple[str, ...]] = {}

    @classmethod
    def default(cls, experiment: str):
        raise NotImplementedError

    @property
    def relevant(self) -> tuple[str, ...]:
        """The knobs this experiment uses."""
        return self.RELEVANT[self.experiment]

    @property
    def hidden(self) -> tuple[int, ...]:
        return (int(self.width),) * int(self.depth)

    @property
    def seed_list(self) -> list[int]:
        return [int(self.seed) + i for i in range(int(self.seeds))]

    def to_query(self) -> dict[str, str]:
        mine = self.to_dict(self.relevant)
        theirs = self.default(self.experiment).to_dict()
        return {"exp": self.experiment,
                **{self.control(k).url_name: v for k, v in mine.items() if theirs[k] != v}}

    @classmethod
    def query_base(cls, experiment: str, values: Mapping[str, object]):
        """The config a link's values apply to: the experiment's defaults (a config whose
        relevant knobs depend on a knob's value refines this)."""
        return cls.default(experiment)

    @classmethod
    def from_query(cls, values: Mapping[str, object], base=None, narrow=None):
        """Lenient: the experiment's defaults, then each parameter of it; an invalid, unknown or
        irrelevant one is skipped with a message, in the link's order (narrow: as Config's).
        Returns (config, problems)."""
        values, problems, first = dict(values), [], cls.EXPERIMENTS[0]
        experiment = str(values.pop("exp", first)).strip().lower()
        if experiment not in cls.EXPERIMENTS:
            problems.append(f"exp: expected one of {', '.join(cls.EXPERIMENTS)}, got "
                            f"{experiment!r}; showing '{first}'")
            experiment = first
        base = cls.query_base(experiment, values)
        by_url = {c.url_name: c.name for c in cls.controls() if c.url_name}
        relevant = {}
        for key, text in values.items():
            if by_url.get(key) in base.relevant:
                relevant[key] = text
            elif key in by_url:
                problems.append(f"{key}: not a setting of this experiment, ignored")
            else:
                problems.append(f"{key}: unknown parameter, ignored")
        config, more = super().from_query(relevant, base=base, narrow=narrow)
        order = ["exp", *values]                       # the messages in the link's order
        return config, sorted(problems + more, key=lambda p: order.index(p.split(":")[0])
                              if p.split(":")[0] in order else 0)
