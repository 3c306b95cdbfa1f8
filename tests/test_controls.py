"""bn_core.controls: the declared knobs (Control), the config base (Config) and TrainConfig's use
of them. Small configs declared here exercise every kind of knob; the expected values and
messages come from the module's contract (its docstrings), written out by hand."""

# No `from __future__ import annotations` here on purpose: the configs below use string
# annotations where a module with that import would have them, and one test declares real
# annotation objects (`float | None`) to check `_kind` on those too.

import math
from dataclasses import dataclass
from typing import Optional

import pytest

from bn_core.controls import Config, Control, knob
from bn_core.trainer import TrainConfig


@dataclass(frozen=True)
class Demo(Config):
    """One knob of every kind."""

    flag: bool = knob(False, "Flag")
    count: int = knob(3, "Count", lo=1, hi=10)
    rate: float = knob(0.5, "Rate", lo=1e-3, hi=10.0, url="r")            # renamed in the URL
    mode: str = knob("fast", "Mode", choices=("fast", "slow", "exact"),
                     labels={"fast": "fast (default)"})
    scale: "float | None" = knob(None, "Scale", lo=0.0, hi=2.0, optional=True)
    sizes: "tuple[int, ...]" = knob((2, 8), "Sizes", choices=(2, 4, 8, 16))
    names: "tuple[str, ...]" = knob(("a",), "Names", choices=("a", "b", "c"))
    hidden: int = knob(7, "Hidden", lo=0, hi=100, url=None)                 # not in the URL


@dataclass(frozen=True)
class Range(Config):
    """A rule between fields: low < high."""

    low: float = knob(0.1, "Low", lo=0.0, hi=10.0)
    high: float = knob(1.0, "High", lo=0.0, hi=10.0)

    def check(self) -> None:
        if not self.low < self.high:
            raise ValueError(f"high: expected more than low ({self.low:g}), got {self.high:g}")


def control(name) -> Control:
    return Demo.control(name)


# ----------------------------------------------------------------------------- Control.parse

@pytest.mark.parametrize("text", ["true", "TRUE", " True ", "1", "yes", "on", "On"])
def test_bool_parses_true_words(text):
    assert control("flag").parse(text) is True


@pytest.mark.parametrize("text", ["false", "False", "0", "no", "off", " OFF "])
def test_bool_parses_false_words(text):
    assert control("flag").parse(text) is False


@pytest.mark.parametrize("name,text,message", [
    ("flag", "maybe", "flag: expected true or false, got 'maybe'"),
    ("flag", "2", "flag: expected true or false, got '2'"),
    ("count", "2.5", "count: expected a whole number, got '2.5'"),
    ("count", "abc", "count: expected a whole number, got 'abc'"),
    ("count", "none", "count: expected a whole number, got 'none'"),      # not optional
    ("count", "1e400", "count: expected a whole number, got '1e400'"),    # inf is not whole
    ("count", "11", "count: expected a value from 1 to 10, got 11"),
    ("count", "0", "count: expected a value from 1 to 10, got 0"),
    ("rate", "abc", "rate: expected a number, got 'abc'"),
    ("rate", "", "rate: expected a number, got ''"),
    ("rate", "nan", "rate: expected a value from 0.001 to 10, got nan"),
    ("rate", "inf", "rate: expected a value from 0.001 to 10, got inf"),
    ("rate", "-1", "rate: expected a value from 0.001 to 10, got -1.0"),
    ("rate", "10.5", "rate: expected a value from 0.001 to 10, got 10.5"),
    ("mode", "medium", "mode: expected one of fast, slow, exact, got 'medium'"),
    ("scale", "3", "scale: expected a value from 0 to 2, got 3.0"),
    ("scale", "x", "scale: expected a number, got 'x'"),
    ("sizes", "3", "sizes: expected one of 2, 4, 8, 16, got 3"),
    ("sizes", "2,x", "sizes: expected a whole number, got 'x'"),
    ("sizes", "", "sizes: expected at least one value, got none (choose at least one size)"),
    ("sizes", " , ", "sizes: expected at least one value, got none (choose at least one size)"),
    ("names", "a,d", "names: expected one of a, b, c, got 'd'"),
])
def test_parse_refuses_with_a_message_naming_the_field(name, text, message):
    with pytest.raises(ValueError) as err:
        control(name).parse(text)
    assert str(err.value) == message


@pytest.mark.parametrize("name,text,value", [
    ("count", "4", 4), ("count", " 4 ", 4), ("count", "4.0", 4), ("count", "1e1", 10),
    ("count", "1", 1), ("count", "10", 10),                               # the range is inclusive
    ("rate", "0.25", 0.25), ("rate", "1e-3", 1e-3), ("rate", "10", 10.0), ("rate", " 2 ", 2.0),
    ("mode", "slow", "slow"), ("mode", "SLOW", "slow"), ("mode", " Exact ", "exact"),
    ("scale", "none", None), ("scale", "None", None), ("scale", "null", None),
    ("scale", "default", None), ("scale", "", None), ("scale", "0", 0.0), ("scale", "1.5", 1.5),
    ("sizes", "2,16", (2, 16)), ("sizes", " 4 , 2,,8 ", (4, 2, 8)), ("sizes", "16", (16,)),
    ("names", "A,c", ("a", "c")), ("names", "b", ("b",)),
])
def test_parse_reads_valid_texts(name, text, value):
    got = control(name).parse(text)
    assert got == value
    assert type(got) is type(value)
    if isinstance(value, tuple):
        assert [type(v) for v in got] == [type(v) for v in value]


def test_parse_of_a_free_text_knob_keeps_the_text():
    free = Control("note", "Note")                      # kind str, no choices
    assert free.parse("  Hello World ") == "Hello World"


# ----------------------------------------------------------------------------- Control.check

@pytest.mark.parametrize("name,value,message", [
    ("flag", 1, "flag: expected true or false, got 1"),
    ("flag", "true", "flag: expected true or false, got 'true'"),
    ("flag", None, "flag: expected a value, got None"),
    ("count", 2.5, "count: expected a whole number, got 2.5"),
    ("count", True, "count: expected a number, got True"),
    ("count", "3", "count: expected a number, got '3'"),
    ("count", None, "count: expected a value, got None"),
    ("count", 0, "count: expected a value from 1 to 10, got 0"),
    ("rate", math.nan, "rate: expected a value from 0.001 to 10, got nan"),
    ("rate", -math.inf, "rate: expected a value from 0.001 to 10, got -inf"),
    ("rate", False, "rate: expected a number, got False"),
    ("mode", "medium", "mode: expected one of fast, slow, exact, got 'medium'"),
    ("mode", "FAST", "mode: expected one of fast, slow, exact, got 'FAST'"),
    ("scale", -0.5, "scale: expected a value from 0 to 2, got -0.5"),
    ("sizes", (), "sizes: expected at least one value, got none (choose at least one size)"),
    ("sizes", (2, 3), "sizes: expected one of 2, 4, 8, 16, got 3"),
    ("names", ("a", "z"), "names: expected one of a, b, c, got 'z'"),
])
def test_check_refuses_with_a_message_naming_the_field(name, value, message):
    with pytest.raises(ValueError) as err:
        control(name).check(value)
    assert str(err.value) == message


@pytest.mark.parametrize("name,value", [
    ("flag", True), ("count", 1), ("count", 10), ("rate", 1e-3), ("rate", 10.0), ("rate", 2),
    ("mode", "exact"), ("scale", None), ("scale", 0.0), ("scale", 2.0), ("sizes", (16, 2)),
    ("names", ("c", "a", "b")),
])
def test_check_returns_valid_values_unchanged(name, value):
    assert control(name).check(value) is value


@pytest.mark.parametrize("declared,value", [
    (dict(kind=float), math.nan),                        # no range: NaN must still be refused
    (dict(kind=float, lo=0.0), -1.0),                    # only a lower end
    (dict(kind=int, hi=5), 6),                           # only an upper end
])
def test_check_of_a_knob_with_an_open_range_raises_value_error(declared, value):
    with pytest.raises(ValueError, match="^x: expected"):
        Control("x", "X", **declared).check(value)


def test_parse_of_choices_with_capitals():
    optim = Control("optim", "Optimizer", choices=("SGD", "Adam"))
    assert optim.parse("Adam") == "Adam"
    assert optim.parse("sgd") == "SGD"


# ----------------------------------------------------------------------------- text / show

@pytest.mark.parametrize("name,value,text", [
    ("flag", True, "true"), ("flag", False, "false"), ("count", 3, "3"), ("rate", 0.5, "0.5"),
    ("rate", 1.5e-3, "0.0015"), ("rate", 0.1 + 0.2, "0.30000000000000004"), ("mode", "slow", "slow"),
    ("scale", None, "none"), ("scale", 1.0, "1.0"), ("sizes", (2, 16), "2,16"),
    ("names", ("a", "c"), "a,c"),
])
def test_text_is_the_url_form_and_parses_back_exactly(name, value, text):
    c = control(name)
    assert c.text(value) == text
    assert c.parse(c.text(value)) == value


def test_text_of_a_numpy_float():
    import numpy as np

    assert control("rate").text(np.float64(0.1)) == "0.1"
    config = TrainConfig(lr=np.float64(0.1))
    assert config.to_query() == {"lr": "0.1"}
    assert TrainConfig.from_query(config.to_query()) == (config, [])


@pytest.mark.parametrize("name,value,shown", [
    ("mode", "fast", "fast (default)"),     # the labels mapping
    ("mode", "slow", "slow"),               # not in the mapping: the value
    ("scale", None, "none"),
    ("rate", 0.5, "0.5"), ("rate", 1e-05, "1e-05"), ("rate", 12345678.0, "1.23457e+07"),
    ("count", 3, "3"), ("flag", True, "True"),
])
def test_show_is_the_widget_form(name, value, shown):
    assert control(name).show(value) == shown


def test_text_of_a_tiny_float_parses_back():
    eps = TrainConfig.control("eps")
    assert eps.text(1e-05) == "1e-05" and eps.parse("1e-05") == 1e-05


def test_show_with_a_label_function():
    c = Control("lr", "Learning rate", kind=float, labels=lambda v: f"lr = {v:.2f}")
    assert c.show(0.5) == "lr = 0.50"
    assert TrainConfig.control("momentum").show(None) == "None = cumulative"
    assert TrainConfig.control("eps").show(0.0) == "0 (no protection)"
    assert TrainConfig.control("steps").show(50_000) == "50,000"


def test_url_name():
    assert control("count").url_name == "count"        # "" → the field's name
    assert control("rate").url_name == "r"
    assert control("hidden").url_name is None


# ----------------------------------------------------------------------------- knob / controls

def test_knob_is_a_field_declaring_a_control():
    assert Demo().count == 3 and Demo().sizes == (2, 8) and Demo().scale is None
    names = [c.name for c in Demo.controls()]
    assert names == ["flag", "count", "rate", "mode", "scale", "sizes", "names", "hidden"]
    kinds = [c.kind for c in Demo.controls()]
    assert kinds == [bool, int, float, str, float, tuple, tuple, int]
    c = Demo.control("rate")
    assert (c.label, c.default, c.lo, c.hi, c.url) == ("Rate", 0.5, 1e-3, 10.0, "r")
    assert Demo.control("scale").optional and not Demo.control("count").optional
    assert Range.controls() is not Demo.controls()                 # cached per class
    assert [c.name for c in Range.controls()] == ["low", "high"]


def test_control_of_an_unknown_name():
    with pytest.raises(ValueError, match="^nope: unknown parameter; expected one of flag, count, "
                       "rate, mode, scale, sizes, names, hidden$"):
        Demo.control("nope")


def test_kind_of_optional_annotations():
    @dataclass(frozen=True)
    class Optionals(Config):
        a: "Optional[float]" = knob(None, "A", lo=0.0, hi=1.0, optional=True)
        b: float | None = knob(None, "B", lo=0.0, hi=1.0, optional=True)

    assert [c.kind for c in Optionals.controls()] == [float, float]


# ----------------------------------------------------------------------------- Config

@pytest.mark.parametrize("changes,message", [
    (dict(flag=1), "flag: expected true or false, got 1"),
    (dict(count=0), "count: expected a value from 1 to 10, got 0"),
    (dict(count=2.5), "count: expected a whole number, got 2.5"),
    (dict(rate="0.5"), "rate: expected a number, got '0.5'"),
    (dict(mode="medium"), "mode: expected one of fast, slow, exact, got 'medium'"),
    (dict(scale=5.0), "scale: expected a value from 0 to 2, got 5.0"),
    (dict(sizes=()), "sizes: expected at least one value, got none (choose at least one size)"),
    (dict(hidden=-1), "hidden: expected a value from 0 to 100, got -1"),
])
def test_post_init_checks_every_field(changes, message):
    with pytest.raises(ValueError) as err:
        Demo(**changes)
    assert str(err.value) == message
    with pytest.raises(ValueError):
        Demo().replace(**changes)                      # replace goes through the checks too


def test_check_hook_runs_after_the_field_checks():
    assert Range(low=2.0, high=3.0).high == 3.0
    with pytest.raises(ValueError, match=r"^high: expected more than low \(2\), got 1$"):
        Range(low=2.0, high=1.0)
    with pytest.raises(ValueError, match=r"^low: expected a value from 0 to 10, got 20"):
        Range(low=20.0, high=1.0)                      # the field's own check comes first


def test_to_dict_holds_every_knob_as_text():
    config = Demo(flag=True, count=5, rate=0.1, mode="exact", scale=1.25, sizes=(4,),
                  names=("b", "a"), hidden=9)
    assert config.to_dict() == {"flag": "true", "count": "5", "rate": "0.1", "mode": "exact",
                                "scale": "1.25", "sizes": "4", "names": "b,a", "hidden": "9"}
    assert config.to_dict(["rate", "scale"]) == {"rate": "0.1", "scale": "1.25"}


@pytest.mark.parametrize("config", [
    Demo(),
    Demo(flag=True, count=10, rate=1e-3, mode="slow", scale=0.0, sizes=(16, 2, 4), names=("c",),
         hidden=0),
    Demo(rate=0.1 + 0.2, scale=2.0),
    Demo(rate=math.pi, scale=1 / 3),
])
def test_to_dict_and_from_dict_round_trip(config):
    text = config.to_dict()
    assert all(isinstance(v, str) for v in text.values())
    back = Demo.from_dict(text)
    assert back == config
    assert {k: type(v) for k, v in vars(back).items()} == {k: type(v) for k, v in vars(config).items()}


def test_from_dict_is_strict():
    assert Demo.from_dict({"count": "4"}) == Demo(count=4)          # the others: defaults
    with pytest.raises(ValueError, match="^count: expected a whole number, got 'four'$"):
        Demo.from_dict({"rate": "0.1", "count": "four"})
    with pytest.raises(ValueError, match="^zzz: unknown parameter"):
        Demo.from_dict({"zzz": "1"})
    with pytest.raises(ValueError, match="^high: expected more than low"):
        Range.from_dict({"low": "5", "high": "2"})


def test_to_query_holds_only_url_knobs_that_differ_from_the_defaults():
    assert Demo().to_query() == {}
    assert Demo(rate=0.5, hidden=99).to_query() == {}                # default value; hidden knob
    assert Demo(count=4, rate=2.0, scale=1.0, hidden=99).to_query() == \
        {"count": "4", "r": "2.0", "scale": "1.0"}
    assert Demo(flag=True, sizes=(2, 8, 16), names=("b",)).to_query() == \
        {"flag": "true", "sizes": "2,8,16", "names": "b"}


def test_from_query_round_trips_to_query():
    config = Demo(flag=True, count=4, rate=0.1 + 0.2, mode="exact", scale=None,
                  sizes=(16,), names=("a", "b"))
    assert Demo.from_query(config.to_query()) == (config, [])
    # a knob without a URL name comes back as its default
    assert Demo.from_query(config.replace(hidden=50).to_query()) == (config, [])


def test_from_query_falls_back_per_parameter_with_one_message_each():
    config, problems = Demo.from_query({"count": "abc", "r": "2", "mode": "medium",
                                        "scale": "9", "flag": "yes"})
    assert config == Demo(rate=2.0, flag=True)
    assert sorted(problems) == sorted([
        "count: expected a whole number, got 'abc'; using 3",
        "mode: expected one of fast, slow, exact, got 'medium'; using fast",
        "scale: expected a value from 0 to 2, got 9.0; using none",
    ])


def test_from_query_unknown_and_non_url_parameters():
    config, problems = Demo.from_query({"zzz": "1", "hidden": "5", "rate": "2", "count": "4"})
    assert config == Demo(count=4)             # `rate` is written `r` in a URL; `hidden` not at all
    assert sorted(problems) == ["hidden: unknown parameter, ignored",
                                "rate: unknown parameter, ignored",
                                "zzz: unknown parameter, ignored"]


def test_from_query_renamed_parameter():
    config, problems = Demo.from_query({"r": "abc"})
    assert config == Demo()
    assert len(problems) == 1 and problems[0].endswith("got 'abc'; using 0.5")
    assert Demo.from_query({"r": "7"}) == (Demo(rate=7.0), [])


def test_from_query_falls_back_to_the_base():
    base = Demo(count=5, mode="slow")
    config, problems = Demo.from_query({"count": "x", "flag": "on"}, base=base)
    assert config == base.replace(flag=True)
    assert problems == ["count: expected a whole number, got 'x'; using 5"]


def test_from_query_applies_the_check_hook():
    config, problems = Range.from_query({"high": "0.05"})             # below the default low
    assert config == Range()
    assert problems == ["high: expected more than low (0.1), got 0.05; using 1.0"]


def test_from_query_accepts_a_valid_pair_that_needs_both_changes():
    config = Range(low=2.0, high=5.0)
    assert Range.from_query(config.to_query()) == (config, [])


def test_from_query_with_an_open_range_knob_never_raises():
    @dataclass(frozen=True)
    class Open(Config):
        rate: float = knob(1.0, "Rate", lo=0.0)

    config, problems = Open.from_query({"rate": "-3"})
    assert config == Open() and len(problems) == 1


# ----------------------------------------------------------------------------- TrainConfig

@pytest.mark.parametrize("changes,message", [
    (dict(lr=-1), "lr: expected a value from 0.0001 to 10, got -1"),
    (dict(lr=20.0), "lr: expected a value from 0.0001 to 10, got 20.0"),
    (dict(depth=2.5), "depth: expected a whole number, got 2.5"),
    (dict(depth=0), "depth: expected a value from 1 to 8, got 0"),
    (dict(placement="sideways"), "placement: expected one of before, after, both, none, "
                                 "got 'sideways'"),
    (dict(activation="gelu"), "activation: expected one of sigmoid, tanh, relu, got 'gelu'"),
    (dict(eps=math.nan), "eps: expected a value from 0 to 1, got nan"),
    (dict(init_scale=0), "init_scale: expected a value from 0.0001 to 10, got 0"),
    (dict(momentum=1.5), "momentum: expected a value from 0 to 1, got 1.5"),
    (dict(batch_size=1), "batch_size: expected a value from 2 to 512, got 1"),
    (dict(steps=None), "steps: expected a value, got None"),
    (dict(dataset="cifar"), "dataset: expected one of digits, mnist, moons, circles, spiral, "
                            "xor, got 'cifar'"),
])
def test_train_config_errors(changes, message):
    with pytest.raises(ValueError) as err:
        TrainConfig(**changes)
    assert str(err.value) == message


def test_train_config_optional_knobs_take_none():
    config = TrainConfig(momentum=None, init_scale=None)
    assert config.momentum is None and config.init_scale is None
    assert config.to_dict()["momentum"] == "none" and config.to_query() == {"momentum": "none"}


@pytest.mark.parametrize("config", [
    TrainConfig(),
    TrainConfig(momentum=None, init_scale=0.01, lr=0.003, placement="both", eps=0.0,
                dataset="mnist", scaling="raw", activation="relu", optimizer="adam", depth=8,
                width=4, batch_size=2, steps=100_000, seed=2**31 - 1, record_every=3, bins=5),
    TrainConfig(lr=1e-4, eps=1.0, momentum=1.0, init_scale=10.0, placement="none"),
])
def test_train_config_round_trips(config):
    assert TrainConfig.from_dict(config.to_dict()) == config
    url_only = config.replace(record_every=TrainConfig().record_every, bins=TrainConfig().bins)
    assert TrainConfig.from_query(config.to_query()) == (url_only, [])
    assert "record_every" not in config.to_query() and "bins" not in config.to_query()


def test_train_config_from_query_example_of_the_module_doc():
    assert TrainConfig.from_query({"lr": "abc"}) == \
        (TrainConfig(), ["lr: expected a number, got 'abc'; using 0.5"])
    assert TrainConfig(lr=0.1).to_query() == {"lr": "0.1"}
    config, problems = TrainConfig.from_query({"lr": "20", "depth": "4", "placement": "Both"})
    assert config == TrainConfig(depth=4, placement="both")
    assert problems == ["lr: expected a value from 0.0001 to 10, got 20.0; using 0.5"]


# ----------------------------------------------------------------------------- QA: links (#1, #2)

def test_an_int_range_is_written_as_plain_integers_with_thousands_separators():
    seed = TrainConfig.control("seed")
    for bad in (-5, 2**31):
        with pytest.raises(ValueError) as err:
            seed.check(bad)
        assert str(err.value) == f"seed: expected a value from 0 to 2,147,483,647, got {bad}"
    big = Control("n", "N", kind=int, lo=1_000)
    with pytest.raises(ValueError, match=r"^n: expected a value of at least 1,000, got 5$"):
        big.check(5)
    with pytest.raises(ValueError, match=r"^rate: expected a value from 0.001 to 10, got 20.0$"):
        control("rate").check(20.0)                    # floats as before


def test_from_query_takes_a_pages_narrower_limits_and_says_them_in_its_words():
    narrow = {"mode": dict(choices=("fast", "slow"), expect="fast or slow (this page can't do "
                                                            "exact)"),
              "count": dict(hi=4)}
    config, problems = Demo.from_query({"mode": "exact", "count": "5"}, narrow=narrow)
    assert (config.mode, config.count) == ("fast", 3)
    assert problems == ["count: expected a value from 1 to 4, got 5; using 3",
                        "mode: expected fast or slow (this page can't do exact), got 'exact'; "
                        "using fast"]
    config, problems = Demo.from_query({"mode": "slow", "count": "4"}, narrow=narrow)
    assert (config.mode, config.count, problems) == ("slow", 4, [])
    assert Demo.from_query({"mode": "exact"})[0].mode == "exact"    # the knob itself allows it


def test_rules_between_knobs_speak_the_labels_to_the_learner_and_the_names_to_the_code():
    from bn_core.alternatives.config import NormsConfig
    from bn_core.controls import in_words
    from bn_core.experiments.config import SweepConfig

    with pytest.raises(ValueError) as caught:
        SweepConfig(experiment="lr", lr_min=10.0, lr_max=10.0)
    assert str(caught.value) == "lr_min: expected less than lr_max (10), got 10"
    assert in_words(caught.value, SweepConfig) == (
        "Learning rates (range): expected the lowest less than the highest (10), got 10")
    with pytest.raises(ValueError) as caught:
        NormsConfig(experiment="regular", train_size=100, batch_sizes=(8, 256))
    assert str(caught.value).startswith("batch_sizes: expected at most the 100 training")
    assert in_words(caught.value, NormsConfig) == (
        "Batch sizes: expected at most the 100 training examples, got 256")
    # a knob's own check: its label in place of its name; anything else unchanged
    with pytest.raises(ValueError) as caught:
        SweepConfig(activations=())
    assert in_words(caught.value, SweepConfig).startswith("Activations: expected at least one")
    assert in_words(ValueError("this sweep is 2× larger"), SweepConfig) == "this sweep is 2× larger"
    from bn_core.why.config import WhyConfig                        # /why's rules too
    with pytest.raises(ValueError) as caught:
        WhyConfig(experiment="scale", decays=(0.005, 0.0))
    assert str(caught.value).startswith("decays: expected increasing values")
    label = WhyConfig.control("decays").label
    assert in_words(caught.value, WhyConfig).startswith(f"{label}: expected increasing values")
