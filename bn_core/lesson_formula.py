"""The formula lesson: one concrete mini-batch through Algorithm 1, step by step, then ε and the backward pass.

    config = FormulaConfig(batch_size=8, features=3, shift=5.0, scale=3.0, eps=1e-5)
    lesson = formula_lesson(config)     # plain data: the batch, μ_B, σ²_B, x̂, y, ε study, gradients
    step_figure(lesson.x, lesson.xc, "x", "x − μ_B")

Every number comes from `bn_core.batchnorm` (batchnorm_forward, batchnorm_backward,
batchnorm_inference): this module only builds the batch, calls those functions, arranges what
they return as plain data for the page, and draws the page's figures (plotly).

Notation of the paper (Ioffe & Szegedy 2015): a mini-batch B of m examples x_1 … x_m (here each
with D features, normalised one feature at a time), μ_B its mean, σ²_B its biased variance,
x̂ the normalised values, y = γ x̂ + β the output, ε the small constant under the square root.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bn_core.batchnorm import batchnorm_backward, batchnorm_forward, batchnorm_inference

__all__ = [
    "QueryConfig", "FormulaConfig", "FormulaLesson", "make_batch", "formula_lesson",
    "backward_paths", "epsilon_study", "EPS_CHOICES", "SPREAD_CHOICES", "SCALE_CHOICES",
    "UPSTREAM", "PYTORCH_EPS", "KERAS_EPS", "MAX_BATCH", "MAX_FEATURES", "MAX_SEED",
    "step_figure", "epsilon_figure", "paths_figure", "format_eps", "latex_eps", "eps_table", "inference_view",
]

PYTORCH_EPS = 1e-5          # torch.nn.BatchNorm1d(eps=1e-5)
KERAS_EPS = 1e-3            # keras.layers.BatchNormalization(epsilon=1e-3)
EPS_CHOICES = (0.0,) + tuple(10.0**k for k in range(-12, 1))       # 0, 1e-12 … 1
SPREAD_CHOICES = (0.0, 1e-4, 1e-3, 1e-2)                             # the constant feature's δ
SCALE_CHOICES = (0.01, 0.1, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 100.0)
UPSTREAM = {
    "random": "random (seeded)",
    "ones": "∂ℓ/∂y = 1 for every example (ℓ = Σ y)",
    "y": "∂ℓ/∂y = y (ℓ = ½ Σ y²)",
    "first": "only example 1 matters (ℓ = y₁)",
}
MAX_BATCH, MAX_FEATURES = 32, 4
MAX_SEED = 1_000_000
SCALE_TEST = 10.0           # the input is multiplied by this to show (near) scale invariance
SHIFT_TEST = 7.0            # … and shifted by this to show shift invariance


def format_eps(eps: float) -> str:
    """'0', '1e-05', '0.001', '1': how the page labels an ε."""
    if eps == 0:
        return "0"
    return f"{eps:g}"


def latex_eps(eps: float) -> str:
    """ε for st.latex: 0, 10^{-5}, 1."""
    if eps == 0:
        return "0"
    k = math.log10(eps)
    return f"10^{{{int(round(k))}}}" if abs(k - round(k)) < 1e-9 and eps != 1 else f"{eps:g}"


# ----------------------------------------------------------------------------- config

def _parse_bool(text: str) -> bool:
    t = text.strip().lower()
    if t in ("1", "true", "yes", "on"):
        return True
    if t in ("0", "false", "no", "off"):
        return False
    raise ValueError


class QueryConfig:
    """What the lessons' frozen config dataclasses share: checks and the URL query.

    A subclass lists RANGES {field: (lowest, highest)}, CHOICES {field: allowed values} and
    OPTIONAL (fields that may be None). Invalid values raise ValueError naming the field.
    """

    RANGES: dict = {}
    CHOICES: dict = {}
    OPTIONAL: tuple = ()

    def __post_init__(self):
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is None:
                if f.name in self.OPTIONAL:
                    continue
                raise ValueError(f"{f.name}: expected a value, got None")
            if f.name in self.CHOICES and value not in self.CHOICES[f.name]:
                shown = ", ".join("none" if c is None else str(c) for c in self.CHOICES[f.name])
                raise ValueError(f"{f.name}: expected one of {shown}, got {value!r}")
            if f.name in self.RANGES:
                lo, hi = self.RANGES[f.name]
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise ValueError(f"{f.name}: expected a number, got {value!r}")
                if isinstance(lo, int) and isinstance(hi, int) and not float(value).is_integer():
                    raise ValueError(f"{f.name}: expected a whole number, got {value!r}")
                if not (math.isfinite(value) and lo <= value <= hi):
                    raise ValueError(f"{f.name}: expected a value from {lo:g} to {hi:g}, got {value!r}")

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, str]:
        """A flat dict of strings; None is written 'none'."""
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is None:
                out[f.name] = "none"
            elif isinstance(value, bool):
                out[f.name] = "true" if value else "false"
            elif isinstance(value, float):
                out[f.name] = repr(value)
            else:
                out[f.name] = str(value)
        return out

    def to_query(self) -> dict[str, str]:
        """The URL query: the fields that differ from the defaults."""
        default = type(self)().to_dict()
        return {k: v for k, v in self.to_dict().items() if default[k] != v}

    @classmethod
    def _parse(cls, name: str, text) -> object:
        default = getattr(cls(), name)
        text = str(text).strip()
        try:
            if name in cls.OPTIONAL and text.lower() in ("none", "null", ""):
                return None
            if isinstance(default, bool):
                return _parse_bool(text)
            if isinstance(default, int):
                number = float(text)
                if not number.is_integer():
                    raise ValueError
                return int(number)
            if isinstance(default, float) or name in cls.OPTIONAL:
                return float(text)
        except ValueError:
            kind = {bool: "true or false", int: "a whole number"}.get(type(default), "a number")
            raise ValueError(f"{name}: expected {kind}, got {text!r}") from None
        return text.lower()

    @classmethod
    def from_query(cls, values: Mapping[str, object], base=None):
        """Lenient parsing of a URL query: an invalid or unknown value falls back to base's
        (the defaults). Returns (config, problems), one message per rejected parameter."""
        config = base or cls()
        order = [f.name for f in dataclasses.fields(cls)]
        names = set(order)
        problems = []
        # in field order, so that a field checked against another (feature ≤ features) comes after it
        for name, text in sorted(values.items(), key=lambda kv: order.index(kv[0]) if kv[0] in names else -1):
            if name not in names:
                problems.append(f"{name}: unknown parameter, ignored")
                continue
            try:
                config = dataclasses.replace(config, **{name: cls._parse(name, text)})
            except ValueError as exc:
                problems.append(f"{exc}; using {config.to_dict()[name]}")
        return config, problems


@dataclass(frozen=True)
class FormulaConfig(QueryConfig):
    """Every control of the formula page (also its URL query)."""

    batch_size: int = 8           # m
    features: int = 3             # D
    shift: float = 5.0            # added to every feature: moves the batch away from mean 0
    scale: float = 3.0            # multiplies every feature: moves it away from variance 1
    constant: bool = False        # make feature 1 (nearly) constant
    spread: float = 1e-3          # feature 1's spread δ when constant (0: exactly constant)
    eps: float = PYTORCH_EPS      # ε
    gamma: float = 1.0            # γ (every feature)
    beta: float = 0.0             # β (every feature)
    identity: bool = False        # use γ = √σ²_B, β = μ_B (per feature) instead
    upstream: str = "random"      # the upstream gradient ∂ℓ/∂y of the backward pass
    feature: int = 1              # the feature whose gradient paths are drawn (1-based)
    seed: int = 0

    RANGES = {"batch_size": (2, MAX_BATCH), "features": (1, MAX_FEATURES), "shift": (-50.0, 50.0),
              "gamma": (-5.0, 5.0), "beta": (-10.0, 10.0), "feature": (1, MAX_FEATURES),
              "seed": (0, MAX_SEED)}
    CHOICES = {"scale": SCALE_CHOICES, "spread": SPREAD_CHOICES, "eps": EPS_CHOICES,
               "upstream": tuple(UPSTREAM)}

    def __post_init__(self):
        super().__post_init__()
        if self.feature > self.features:
            raise ValueError(f"feature: expected a feature from 1 to {self.features}, got {self.feature}")


# ----------------------------------------------------------------------------- the batch

def make_batch(batch_size: int, features: int, shift: float = 0.0, scale: float = 1.0,
               constant: bool = False, spread: float = 1e-3, seed: int = 0) -> np.ndarray:
    """A concrete mini-batch x of shape (m, D), seeded.

    Feature j is shift + scale · (c_j + s_j · z_ij) with a random centre c_j ∈ [−1.5, 1.5],
    spread s_j ∈ [0.5, 1.5] and standard normal z. Everything is drawn for the largest batch
    (32 × 4) and then cut, so a larger m adds examples and keeps the earlier ones.
    With `constant`, feature 1 becomes k + spread · z_i1 where k is shift + scale · c_1 rounded
    to a multiple of 1/4: exactly representable, so with spread 0 every value is exactly k, the
    batch mean is exactly k and σ²_B is exactly 0.
    """
    m, d = int(batch_size), int(features)
    if not (2 <= m <= MAX_BATCH) or not (1 <= d <= MAX_FEATURES):
        raise ValueError(f"expected 2 <= batch_size <= {MAX_BATCH} and 1 <= features <= "
                         f"{MAX_FEATURES}, got batch_size={batch_size}, features={features}")
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-1.5, 1.5, size=MAX_FEATURES)          # (4,)
    spreads = rng.uniform(0.5, 1.5, size=MAX_FEATURES)           # (4,)
    z = rng.standard_normal((MAX_BATCH, MAX_FEATURES))           # (32, 4)
    x = shift + scale * (centres + spreads * z)                  # (32, 4)
    if constant:
        k = np.round((shift + scale * centres[0]) * 4) / 4
        x[:, 0] = k + spread * z[:, 0]
    return x[:m, :d].copy()                                      # (m, D)


def _upstream_gradient(kind: str, y: np.ndarray, seed: int) -> np.ndarray:
    """∂ℓ/∂y (m, D) for the page's choices (see UPSTREAM)."""
    if kind == "random":
        return np.random.default_rng([seed, 1]).standard_normal(y.shape)
    if kind == "ones":
        return np.ones_like(y)
    if kind == "y":
        return y.copy()
    if kind == "first":
        dy = np.zeros_like(y)
        dy[0] = 1.0
        return dy
    raise ValueError(f"expected an upstream gradient in {tuple(UPSTREAM)}, got {kind!r}")


# ----------------------------------------------------------------------------- results

@dataclass
class FormulaLesson:
    """Everything the formula page shows, as plain numpy data. Shapes: (m, D) or (D,)."""

    config: FormulaConfig
    x: np.ndarray            # (m, D) the mini-batch
    xmean: np.ndarray        # (D,) μ_B
    xc: np.ndarray           # (m, D) x − μ_B
    sq: np.ndarray           # (m, D) (x − μ_B)², whose mean is σ²_B
    xvar: np.ndarray         # (D,) σ²_B (biased)
    std: np.ndarray          # (D,) √(σ²_B + ε)
    xhat: np.ndarray         # (m, D)
    gamma: np.ndarray        # (D,) the γ used
    beta: np.ndarray         # (D,) the β used
    y: np.ndarray            # (m, D)
    identity_error: np.ndarray        # (D,) max_i |y_i − x_i| with γ = √σ²_B, β = μ_B
    identity_error_exact: np.ndarray  # (D,) … with γ = √(σ²_B + ε), β = μ_B
    nonfinite: list[int]              # 1-based features whose x̂ is NaN or infinite
    eps_study: dict                   # see epsilon_study: the batch's features
    eps_reference: dict               # the same for two reference features {label: study}
    dy: np.ndarray           # (m, D) ∂ℓ/∂y
    dx: np.ndarray           # (m, D) ∂ℓ/∂x from batchnorm_backward
    dgamma: np.ndarray       # (D,)
    dbeta: np.ndarray        # (D,)
    paths: dict              # see backward_paths
    dx_numerical: np.ndarray           # (m, D) central differences of ℓ = Σ dy · y
    grad_check: np.ndarray             # (D,) max |dx − dx_numerical| / max(|dx|, |dx_num|, |direct path|)
    sum_dx: np.ndarray                 # (D,) Σ_i dx_i
    sum_dx_xhat: np.ndarray            # (D,) Σ_i dx_i · x̂_i
    sum_dx_xhat_expected: np.ndarray   # (D,) ε/(σ²_B+ε) · Σ_i γ dy_i x̂_i / √(σ²_B+ε)
    shift_change: np.ndarray           # (D,) max |BN(x + 7) − BN(x)|
    scale_change: np.ndarray           # (D,) max |BN(10·x) − BN(x)|

    @property
    def sigma(self) -> np.ndarray:
        """(D,) σ_B = √σ²_B."""
        return np.sqrt(self.xvar)

    @property
    def xhat_mean(self) -> np.ndarray:
        with np.errstate(all="ignore"):
            return self.xhat.mean(0)

    @property
    def xhat_var(self) -> np.ndarray:
        """(D,) the variance of x̂: σ²_B/(σ²_B + ε)."""
        with np.errstate(all="ignore"):
            return self.xhat.var(0)

    @property
    def y_mean(self) -> np.ndarray:
        with np.errstate(all="ignore"):
            return self.y.mean(0)

    @property
    def y_std(self) -> np.ndarray:
        with np.errstate(all="ignore"):
            return self.y.std(0)

    def summary_frame(self) -> pd.DataFrame:
        """One row per feature: μ_B, σ²_B, √(σ²_B+ε), γ, β, and the checks on x̂ and y."""
        d = self.x.shape[1]
        with np.errstate(all="ignore"):
            return pd.DataFrame({
                "feature": [f"feature {j + 1}" for j in range(d)],
                "μ_B": self.xmean, "σ²_B": self.xvar, "√(σ²_B+ε)": self.std,
                "mean of x̂": self.xhat_mean, "variance of x̂": self.xhat_var,
                "γ": self.gamma, "β": self.beta,
                "mean of y": self.y_mean, "std of y": self.y_std,
            }).set_index("feature")

    def batch_frame(self, values: np.ndarray, symbol: str = "", extra: dict | None = None) -> pd.DataFrame:
        """An (m, D) array as a table: rows i = 1…m, columns 'feature j' (or '<symbol>, feature j'); `extra`
        {row label: (D,) values} adds rows below (μ_B, σ²_B, …)."""
        m, d = values.shape
        cols = [f"{symbol}, feature {j + 1}" if symbol else f"feature {j + 1}" for j in range(d)]
        frame = pd.DataFrame(values, columns=cols, index=pd.Index([str(i) for i in range(1, m + 1)], name="i"))
        for label, row in (extra or {}).items():
            frame.loc[label] = np.asarray(row, dtype=float)
        return frame

    def gradient_frame(self) -> pd.DataFrame:
        """One row per feature: dγ, dβ, Σ dx, Σ dx·x̂ (and what ε predicts for it), the checks."""
        d = self.x.shape[1]
        return pd.DataFrame({
            "feature": [f"feature {j + 1}" for j in range(d)],
            "dγ = Σ dy·x̂": self.dgamma, "dβ = Σ dy": self.dbeta,
            "Σ dx": self.sum_dx, "Σ dx·x̂": self.sum_dx_xhat,
            "ε/(σ²_B+ε)·Σ dx̂·x̂/√(σ²_B+ε)": self.sum_dx_xhat_expected,
            "max |BN(x+7) − BN(x)|": self.shift_change,
            "max |BN(10x) − BN(x)|": self.scale_change,
            "gradient check (rel. error)": self.grad_check,
        }).set_index("feature")

    def paths_frame(self, feature: int) -> pd.DataFrame:
        """dx of one feature (1-based) split into the paper's three paths, with their sums."""
        j = feature - 1
        p = self.paths
        frame = pd.DataFrame({
            "dy": self.dy[:, j], "x̂": self.xhat[:, j],
            "direct": p["direct"][:, j], "via μ_B": p["mean"][:, j], "via σ²_B": p["var"][:, j],
            "dx": self.dx[:, j],
        }, index=pd.Index([str(i) for i in range(1, self.x.shape[0] + 1)], name="i"))
        with np.errstate(all="ignore"):
            frame.loc["Σ"] = frame.sum(axis=0, skipna=False).to_numpy()
        return frame


def backward_paths(dy, cache) -> dict:
    """The backward pass of Algorithm 1 written along the paper's three paths, for display.

        dxhat = dy · γ
        dvar  = ∂ℓ/∂σ²_B = Σ_i dxhat_i · (x_i − μ_B) · (−½)(σ²_B + ε)^(−3/2)
        dmean = ∂ℓ/∂μ_B  = −Σ_i dxhat_i / √(σ²_B + ε)      (+ dvar · Σ_i −2(x_i − μ_B)/m = 0)
        dx_i  = dxhat_i/√(σ²_B+ε)  +  dmean/m  +  dvar · 2(x_i − μ_B)/m
                 direct              through μ_B   through σ²_B

    cache: the one batchnorm_forward returned. Returns {"direct", "mean", "var": (m, D),
    "dmean", "dvar": (D,)}; the three parts add up to batchnorm_backward's dx (a test checks).
    """
    xhat, gamma, std = cache["xhat"], cache["gamma"], cache["std"]
    m = xhat.shape[0]
    with np.errstate(all="ignore"):
        dxhat = dy * gamma                                   # (m, D)
        xc = xhat * std                                      # (m, D)  x − μ_B
        dvar = (dxhat * xc).sum(0) * -0.5 * std**-3          # (D,)
        dmean = -dxhat.sum(0) / std                          # (D,)
        return {
            "direct": dxhat / std,                           # (m, D)
            "mean": np.broadcast_to(dmean / m, xhat.shape).copy(),
            "var": dvar * 2 * xc / m,
            "dmean": dmean, "dvar": dvar,
        }


def epsilon_study(x, eps_values=None) -> dict:
    """How ε changes the normalisation of each feature of x (m, D), from batchnorm_forward.

    For each ε: gain = 1/√(σ²_B + ε) (how much the feature's differences x − μ_B are
    multiplied by), max |x̂| and the variance of x̂ (= σ²_B/(σ²_B + ε)). NaN where ε = 0 meets
    σ²_B = 0 (x̂ = 0/0). Returns {"eps": (E,), "gain", "max_abs_xhat", "xhat_var": (E, D)}.
    """
    x = np.asarray(x, dtype=float)
    if eps_values is None:
        eps_values = np.logspace(-12, 0, 61)
    eps_values = np.asarray(eps_values, dtype=float)
    d = x.shape[1]
    gain = np.empty((len(eps_values), d))
    max_abs = np.empty_like(gain)
    xhat_var = np.empty_like(gain)
    ones, zeros = np.ones(d), np.zeros(d)
    with np.errstate(all="ignore"):
        for i, eps in enumerate(eps_values):
            _, cache = batchnorm_forward(x, ones, zeros, eps)
            gain[i] = 1.0 / cache["std"]
            max_abs[i] = np.abs(cache["xhat"]).max(0)
            xhat_var[i] = cache["xhat"].var(0)
    return {"eps": eps_values, "gain": gain, "max_abs_xhat": max_abs, "xhat_var": xhat_var}


REFERENCE_SPREADS = {"exactly constant (δ = 0)": 0.0, "nearly constant (δ = 0.001)": 1e-3}


def reference_study(config: FormulaConfig) -> dict:
    """epsilon_study of two reference features built like the page's feature 1 when it is made
    constant: exactly (δ = 0) and nearly (δ = 1e-3). {label: study with D = 1}."""
    c = config
    return {label: epsilon_study(make_batch(c.batch_size, 1, c.shift, c.scale, True, spread, c.seed))
            for label, spread in REFERENCE_SPREADS.items()}


def _loss(x, gamma, beta, eps, dy) -> float:
    y, _ = batchnorm_forward(x, gamma, beta, eps)
    return float((dy * y).sum())


def _numerical_dx(x, gamma, beta, eps, dy, std) -> np.ndarray:
    """Central differences of ℓ(x) = Σ dy · BN(x), one feature at a time (BN treats features
    apart, so a NaN in one feature stays there); step 1e-5 · √(σ²_B+ε) of that feature."""
    dx = np.empty_like(x)
    with np.errstate(all="ignore"):
        for j in range(x.shape[1]):
            xj, gj, bj, dyj = x[:, [j]], gamma[[j]], beta[[j]], dy[:, [j]]
            h = 1e-5 * std[j] if np.isfinite(std[j]) and std[j] > 0 else 1e-8
            for i in range(x.shape[0]):
                xp, xm = xj.copy(), xj.copy()
                xp[i, 0] += h
                xm[i, 0] -= h
                dx[i, j] = (_loss(xp, gj, bj, eps, dyj) - _loss(xm, gj, bj, eps, dyj)) / (2 * h)
    return dx


def formula_lesson(config: FormulaConfig) -> FormulaLesson:
    """Run the config's mini-batch through Algorithm 1 and its backward pass (bn_core.batchnorm)."""
    c = config
    x = make_batch(c.batch_size, c.features, c.shift, c.scale, c.constant, c.spread, c.seed)  # (m, D)
    d = x.shape[1]
    with np.errstate(all="ignore"):
        _, stats = batchnorm_forward(x, np.ones(d), np.zeros(d), c.eps)
        xmean, xvar = stats["xmean"], stats["xvar"]
        if c.identity:
            gamma, beta = np.sqrt(xvar), xmean.copy()
        else:
            gamma, beta = np.full(d, float(c.gamma)), np.full(d, float(c.beta))
        y, cache = batchnorm_forward(x, gamma, beta, c.eps)                   # (m, D)
        y_id, _ = batchnorm_forward(x, np.sqrt(xvar), xmean, c.eps)
        y_id_exact, _ = batchnorm_forward(x, np.sqrt(xvar + c.eps), xmean, c.eps)
        xhat = cache["xhat"]
        nonfinite = [j + 1 for j in range(d) if not np.all(np.isfinite(xhat[:, j]))]

        dy = _upstream_gradient(c.upstream, y, c.seed)                       # (m, D)
        dx, dgamma, dbeta = batchnorm_backward(dy, cache)
        paths = backward_paths(dy, cache)
        dx_num = _numerical_dx(x, gamma, beta, c.eps, dy, cache["std"])
        # relative to the largest single term (the direct path): dx itself may cancel to ~0
        denom = np.maximum.reduce([np.abs(dx).max(0), np.abs(dx_num).max(0),
                                   np.abs(paths["direct"]).max(0)])
        grad_check = np.abs(dx - dx_num).max(0) / np.where(denom > 0, denom, 1.0)
        sum_dx_xhat_expected = (c.eps / (xvar + c.eps)) * (gamma * dy * xhat).sum(0) / cache["std"]
        if c.eps == 0:
            sum_dx_xhat_expected = np.where(np.isfinite(xhat).all(0), 0.0, np.nan)

        y_shift, _ = batchnorm_forward(x + SHIFT_TEST, gamma, beta, c.eps)
        y_scale, _ = batchnorm_forward(x * SCALE_TEST, gamma, beta, c.eps)

        return FormulaLesson(
            config=c, x=x, xmean=xmean, xc=x - xmean, sq=(x - xmean) ** 2, xvar=xvar,
            std=cache["std"], xhat=xhat, gamma=gamma, beta=beta, y=y,
            identity_error=np.abs(y_id - x).max(0),
            identity_error_exact=np.abs(y_id_exact - x).max(0),
            nonfinite=nonfinite,
            eps_study=epsilon_study(x),
            eps_reference=reference_study(c),
            dy=dy, dx=dx, dgamma=dgamma, dbeta=dbeta, paths=paths,
            dx_numerical=dx_num, grad_check=grad_check,
            sum_dx=dx.sum(0), sum_dx_xhat=(dx * xhat).sum(0),
            sum_dx_xhat_expected=sum_dx_xhat_expected,
            shift_change=np.abs(y_shift - y).max(0),
            scale_change=np.abs(y_scale - y).max(0),
        )


def eps_table(lesson: FormulaLesson, feature: int = 1) -> pd.DataFrame:
    """One feature (1-based) at ε = 0, the page's ε, PyTorch's 1e-5 and Keras's 1e-3:
    σ²_B, √(σ²_B+ε), the gain 1/√(σ²_B+ε), x̂ of the first examples and max |x̂|."""
    j = feature - 1
    x = lesson.x[:, [j]]
    rows, seen = [], []
    names = {PYTORCH_EPS: "PyTorch's default", KERAS_EPS: "Keras's default"}
    for eps in [0.0, lesson.config.eps, PYTORCH_EPS, KERAS_EPS]:
        if eps in seen:
            continue
        seen.append(eps)
        notes = [n for n in (names.get(eps), "yours" if eps == lesson.config.eps else None) if n]
        with np.errstate(all="ignore"):
            _, cache = batchnorm_forward(x, np.ones(1), np.zeros(1), eps)
            xhat = cache["xhat"][:, 0]
            row = {
                "ε": f"ε = {format_eps(eps)}" + (f" ({', '.join(notes)})" if notes else ""),
                "σ²_B": float(cache["xvar"][0]), "√(σ²_B+ε)": float(cache["std"][0]),
                "gain 1/√(σ²_B+ε)": float(1.0 / cache["std"][0]),
                "max |x − μ_B|": float(np.abs(x[:, 0] - cache["xmean"][0]).max()),
                "max |x̂|": float(np.abs(xhat).max()),
            }
            for i in range(min(3, len(xhat))):
                row[f"x̂_{i + 1}"] = float(xhat[i])
        rows.append(row)
    return pd.DataFrame(rows).set_index("ε")


def inference_view(lesson: FormulaLesson) -> np.ndarray:
    """y recomputed with batchnorm_inference from the batch's own μ_B and σ²_B: the same
    numbers as training mode (a check that Algorithm 1 is the inference formula with the
    batch's statistics)."""
    c = lesson.config
    return batchnorm_inference(lesson.x, lesson.gamma, lesson.beta, lesson.xmean, lesson.xvar, c.eps)


# ----------------------------------------------------------------------------- figures

FEATURE_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728")


def step_figure(before: np.ndarray, after: np.ndarray, before_label: str, after_label: str,
                after_marks=(), height: int = 250):
    """Before/after dot strips of a step of Algorithm 1: one row of dots per feature, each panel
    with its own x-axis (the scales differ), black ticks at each feature's mean.
    after_marks: x positions of dotted reference lines in the 'after' panel.
    Four traces in all (dots and means per panel): light to draw."""
    import plotly.graph_objects as go

    m, d = before.shape
    names = [f"feature {j + 1}" for j in range(d)]
    traces = []
    for axis, values in (("", before), ("2", after)):
        values = np.asarray(values, dtype=float)
        finite = np.isfinite(values)                                        # (m, D)
        cols = np.broadcast_to(np.arange(d), values.shape)[finite]
        traces.append(go.Scatter(
            x=values[finite], y=[names[j] for j in cols], mode="markers",
            xaxis="x" + axis, yaxis="y" + axis, showlegend=False,
            marker=dict(size=9, color=[FEATURE_COLOURS[j] for j in cols], opacity=0.75,
                        line=dict(width=0.5, color="white")),
            hovertemplate="%{y}: %{x:.4g}<extra></extra>"))
        means = [(names[j], float(values[finite[:, j], j].mean())) for j in range(d) if finite[:, j].any()]
        traces.append(go.Scatter(
            x=[v for _, v in means], y=[n for n, _ in means], mode="markers",
            xaxis="x" + axis, yaxis="y" + axis, showlegend=False,
            marker=dict(symbol="line-ns", size=20, line=dict(width=3, color="black")),
            hovertemplate="%{y}: mean %{x:.4g}<extra></extra>"))
    shapes = [dict(type="line", xref="x2", yref="y2 domain", x0=xv, x1=xv, y0=0, y1=1,
                   line=dict(color="grey", dash="dot", width=1))
              for xv in after_marks if np.isfinite(xv)]
    rows = dict(categoryorder="array", categoryarray=names[::-1], range=[-0.6, d - 0.4])
    return go.Figure(traces, layout=dict(
        height=height + 24 * max(0, d - 2), margin=dict(l=10, r=10, t=30, b=10), shapes=shapes,
        xaxis=dict(anchor="y"), yaxis=dict(domain=[0.6, 1.0], **rows),
        xaxis2=dict(anchor="y2"), yaxis2=dict(domain=[0.0, 0.34], **rows),
        annotations=[dict(text=f"before: {before_label}", x=0.5, y=1.0, xref="paper", yref="paper",
                          xanchor="center", yanchor="bottom", showarrow=False, font=dict(size=13)),
                     dict(text=f"after: {after_label}", x=0.5, y=0.36, xref="paper",
                          yref="paper", xanchor="center", yanchor="bottom", showarrow=False,
                          font=dict(size=13))],
    ))


def epsilon_figure(study: dict, eps: float, reference: dict | None = None, height: int = 360):
    """Gain 1/√(σ²_B+ε) of each feature against ε (log–log), reference features dashed, with
    ε marks for PyTorch, Keras and the page's choice (ε = 0 cannot sit on a log axis)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    d = study["gain"].shape[1]
    for j in range(d):
        g = study["gain"][:, j]
        fig.add_trace(go.Scatter(x=study["eps"], y=g, mode="lines", name=f"feature {j + 1}",
                                 line=dict(color=FEATURE_COLOURS[j], width=2.5),
                                 hovertemplate="ε %{x:.0e}: gain %{y:.4g}<extra></extra>"))
    for (label, ref), dash in zip((reference or {}).items(), ("dash", "dot")):
        fig.add_trace(go.Scatter(x=ref["eps"], y=ref["gain"][:, 0], mode="lines", name=label,
                                 line=dict(color="black", width=1.5, dash=dash),
                                 hovertemplate="ε %{x:.0e}: gain %{y:.4g}<extra></extra>"))
    marks = [(PYTORCH_EPS, "PyTorch 1e-5", "right", "grey", "dot"),
             (KERAS_EPS, "Keras 1e-3", "left", "grey", "dot")]
    if eps > 0 and eps not in (PYTORCH_EPS, KERAS_EPS):
        marks.append((eps, "your ε", "left", "black", "dash"))
    for x, label, side, colour, dash in marks:      # shapes take ε, annotations log10 ε
        fig.add_shape(type="line", xref="x", yref="paper", x0=x, x1=x,
                      y0=0, y1=1, line=dict(color=colour, dash=dash, width=1.5))
        fig.add_annotation(x=math.log10(x), y=1, xref="x", yref="paper", text=label,
                           showarrow=False, xanchor=side, yanchor="bottom", font=dict(size=11))
    fig.update_xaxes(type="log", title="ε", exponentformat="power")
    fig.update_yaxes(type="log", title="gain 1/√(σ²_B + ε)", exponentformat="power")
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=30, b=10),
                      legend=dict(orientation="h", y=-0.22, x=0))
    return fig


def paths_figure(lesson: FormulaLesson, feature: int, height: int = 300):
    """dx of one feature per example, as the three paths (bars) and their total (diamonds)."""
    import plotly.graph_objects as go

    j = feature - 1
    p = lesson.paths
    idx = list(range(1, lesson.x.shape[0] + 1))
    fig = go.Figure()
    for key, label, colour in (("direct", "direct (through x̂)", "#8c8c8c"),
                               ("mean", "through μ_B", "#1f77b4"),
                               ("var", "through σ²_B", "#ff7f0e")):
        fig.add_trace(go.Bar(x=idx, y=p[key][:, j], name=label, marker_color=colour))
    fig.add_trace(go.Scatter(x=idx, y=lesson.dx[:, j], mode="markers", name="dx (total)",
                             marker=dict(symbol="diamond", size=10, color="black")))
    fig.update_layout(barmode="relative", height=height, margin=dict(l=10, r=10, t=30, b=10),
                      legend=dict(orientation="h", y=1.15, x=0), xaxis_title="example i",
                      yaxis_title=f"∂ℓ/∂x, feature {feature}")
    fig.update_xaxes(dtick=1 if len(idx) <= 16 else 2)
    return fig
