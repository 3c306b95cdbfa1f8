"""The formula lesson's figures (`bn_core.formula.figures`) draw what the lesson computed."""

import numpy as np
import pytest

from bn_core.formula import figures
from bn_core.formula.config import FormulaConfig
from bn_core.formula.lesson import formula_lesson


@pytest.mark.parametrize("config", [FormulaConfig(), FormulaConfig(eps=0.0, constant=True, spread=0.0, batch_size=2)])
def test_figures_build(config):
    lesson = formula_lesson(config)
    fig = figures.step_figure(lesson.xc, lesson.xhat, "x − μ_B", "x̂", [-1.0, 1.0])
    assert len(fig.data) == 4                     # dots and means, per panel
    fig = figures.epsilon_figure(lesson.eps_study, config.eps, lesson.eps_reference)
    assert len(fig.data) == config.features + 2
    fig = figures.paths_figure(lesson, 2)
    assert [t.name for t in fig.data] == ["direct (through x̂)", "through μ_B", "through σ²_B", "dx (total)"]


def test_figures_plot_the_lesson_numbers():
    lesson = formula_lesson(FormulaConfig(features=2))
    dots, means = figures.step_figure(lesson.x, lesson.xc, "x", "x − μ_B").data[:2]
    np.testing.assert_allclose(sorted(dots.x), sorted(lesson.x.ravel()))
    np.testing.assert_allclose(means.x, lesson.xmean)
    fig = figures.paths_figure(lesson, 2)
    np.testing.assert_allclose(fig.data[1].y, lesson.paths["mean"][:, 1])
    np.testing.assert_allclose(fig.data[3].y, lesson.dx[:, 1])
    assert fig.layout.yaxis.title.text == "∂ℓ/∂x, feature 2"
    assert figures.paths_caption(2).startswith("dx of feature 2")
