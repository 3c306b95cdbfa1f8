"""The inference lesson's figures (`bn_core.inference.figures`)."""

import numpy as np
import pandas as pd

from bn_core.inference import figures


def test_figures_build(lesson):
    fig = figures.convergence_figure(lesson.convergence)
    assert len(fig.data) == 2 * (len(lesson.convergence["paths"]) + 1)
    frame = pd.DataFrame({"eval mode": [0.5, 0.9], "training mode": [0.4, 0.9]}, index=[2, 4])
    assert len(figures.sweep_figure(frame).data) == 2


def test_convergence_figure_draws_long_runs_at_most_max_points_exactly():
    steps = np.arange(5001)
    mean, var = np.sin(steps / 300.0), 1 + np.cos(steps / 700.0)
    conv = {"steps": steps, "paths": {"0.1": (mean, var)}, "checkpoints": [0, 5000],
            "exact_mean": [0.0, 0.1], "exact_var": [1.0, 1.1]}
    fig = figures.convergence_figure(conv)
    line = fig.data[0]
    assert len(line.x) == figures.MAX_POINTS and line.x[0] == 0 and line.x[-1] == 5000
    np.testing.assert_array_equal(line.y, mean[np.asarray(line.x)])      # values at those steps
    short = figures.convergence_figure({**conv, "steps": steps[:300],
                                   "paths": {"0.1": (mean[:300], var[:300])}})
    assert list(short.data[0].x) == list(range(300))                       # short runs: every step
