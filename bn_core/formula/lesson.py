"""The formula lesson's computation: one seeded mini-batch through Algorithm 1 and its backward
pass, as plain data for the page.

    walk = formula_lesson(FormulaConfig())   # the batch, μ_B, σ²_B, x̂, y, ε study, gradients
    walk.summary_frame(), walk.paths_frame(1), eps_table(walk, 1)

Every number comes from `bn_core.batchnorm` (batchnorm_forward, batchnorm_backward,
batchnorm_inference): this module only builds the batch, calls those functions, and arranges
what they return. Notation: see `bn_core.formula.config`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bn_core.batchnorm import (KERAS_EPS, PYTORCH_EPS, batchnorm_backward, batchnorm_forward,
                               batchnorm_inference)
from bn_core.formula.config import MAX_BATCH, MAX_FEATURES, UPSTREAM, FormulaConfig, format_eps

__all__ = ["FormulaLesson", "formula_lesson", "make_batch", "backward_paths", "epsilon_study",
           "reference_study", "eps_table", "inference_view", "SCALE_TEST", "SHIFT_TEST",
           "REFERENCE_SPREADS"]

SCALE_TEST = 10.0           # the input is multiplied by this to show (near) scale invariance
SHIFT_TEST = 7.0            # … and shifted by this to show shift invariance
REFERENCE_SPREADS = {"exactly constant (δ = 0)": 0.0, "nearly constant (δ = 0.001)": 1e-3}


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

def _rows(m: int) -> pd.Index:
    return pd.Index([str(i) for i in range(1, m + 1)], name="i")


def _over_batch(name: str, how: str, doc: str) -> property:
    """A (D,) statistic of the (m, D) array `name` over the batch ("mean", "var", "std"); NaN
    where a feature is NaN, without a warning."""
    def get(self) -> np.ndarray:
        with np.errstate(all="ignore"):
            return getattr(getattr(self, name), how)(0)
    return property(get, doc=doc)


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

    xhat_mean = _over_batch("xhat", "mean", "(D,) the mean of x̂: 0 (up to rounding).")
    xhat_var = _over_batch("xhat", "var", "(D,) the variance of x̂: σ²_B/(σ²_B + ε).")
    y_mean = _over_batch("y", "mean", "(D,) the mean of y: β.")
    y_std = _over_batch("y", "std", "(D,) the standard deviation of y: |γ|, up to ε.")

    def _features(self) -> list[str]:
        return [f"feature {j + 1}" for j in range(self.x.shape[1])]

    def summary_frame(self) -> pd.DataFrame:
        """One row per feature: μ_B, σ²_B, √(σ²_B+ε), γ, β, and the checks on x̂ and y."""
        with np.errstate(all="ignore"):
            return pd.DataFrame({
                "feature": self._features(),
                "μ_B": self.xmean, "σ²_B": self.xvar, "√(σ²_B+ε)": self.std,
                "mean of x̂": self.xhat_mean, "variance of x̂": self.xhat_var,
                "γ": self.gamma, "β": self.beta,
                "mean of y": self.y_mean, "std of y": self.y_std,
            }).set_index("feature")

    def batch_frame(self, values: np.ndarray, symbol: str = "",
                    extra: dict | None = None) -> pd.DataFrame:
        """An (m, D) array as a table: rows i = 1…m, columns 'feature j' (or '<symbol>, feature
        j'); `extra` {row label: (D,) values} adds rows below (μ_B, σ²_B, …)."""
        m, d = values.shape
        cols = [f"{symbol}, {name}" if symbol else name for name in self._features()]
        frame = pd.DataFrame(values, columns=cols, index=_rows(m))
        for label, row in (extra or {}).items():
            frame.loc[label] = np.asarray(row, dtype=float)
        return frame

    def gradient_frame(self) -> pd.DataFrame:
        """One row per feature: dγ, dβ, Σ dx, Σ dx·x̂ (and what ε predicts for it), the checks."""
        return pd.DataFrame({
            "feature": self._features(),
            "dγ = Σ dy·x̂": self.dgamma, "dβ = Σ dy": self.dbeta,
            "Σ dx": self.sum_dx, "Σ dx·x̂": self.sum_dx_xhat,
            "ε/(σ²_B+ε)·Σ dx̂·x̂/√(σ²_B+ε)": self.sum_dx_xhat_expected,
            f"max |BN(x+{SHIFT_TEST:g}) − BN(x)|": self.shift_change,
            f"max |BN({SCALE_TEST:g}x) − BN(x)|": self.scale_change,
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
        }, index=_rows(self.x.shape[0]))
        with np.errstate(all="ignore"):
            frame.loc["Σ"] = frame.sum(axis=0, skipna=False).to_numpy()
        return frame


# ----------------------------------------------------------------------------- the backward pass

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


# ----------------------------------------------------------------------------- ε

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


def reference_study(config: FormulaConfig) -> dict:
    """epsilon_study of two reference features built like the page's feature 1 when it is made
    constant: exactly (δ = 0) and nearly (δ = 1e-3). {label: study with D = 1}."""
    c = config
    return {label: epsilon_study(make_batch(c.batch_size, 1, c.shift, c.scale, True, spread,
                                            c.seed))
            for label, spread in REFERENCE_SPREADS.items()}


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


# ----------------------------------------------------------------------------- the lesson

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


def inference_view(lesson: FormulaLesson) -> np.ndarray:
    """y recomputed with batchnorm_inference from the batch's own μ_B and σ²_B: the same
    numbers as training mode (a check that Algorithm 1 is the inference formula with the
    batch's statistics)."""
    c = lesson.config
    return batchnorm_inference(lesson.x, lesson.gamma, lesson.beta, lesson.xmean, lesson.xvar,
                               c.eps)
