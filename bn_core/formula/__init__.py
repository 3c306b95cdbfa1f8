"""The formula lesson (pages/2_formula.py): one concrete mini-batch through Algorithm 1, step by
step, then ε and the backward pass.

    config      FormulaConfig: every knob of the page (also its URL), the choices of ε, scale…
    lesson      the batch, the walk (μ_B, σ²_B, x̂, y), the ε study, the gradients and their
                three paths, as plain data (FormulaLesson); every number from bn_core.batchnorm
    figures     the step strips, the gain against ε, the gradient paths, and their captions

    config = FormulaConfig(batch_size=8, features=3, shift=5.0, scale=3.0, eps=1e-5)
    walk = lesson.formula_lesson(config)
    figures.step_figure(walk.x, walk.xc, "x", "x − μ_B")
"""
