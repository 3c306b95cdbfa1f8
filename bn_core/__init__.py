"""bn_core: everything BatchNorm Lab computes, with no user interface (never imports streamlit).

    batchnorm   Batch Normalization in numpy: the formulas of the paper, read on screen
    layers      the same in PyTorch (autograd), and the MLP of the lessons
    engine      K networks of one shape trained in lockstep with an explicit backward pass
    data        the bundled and generated datasets
    train       the config, the streaming trainer and its snapshots
    figures     the lab's plotly figures;  reading: the lab's plain-language reading of a run
    lesson_formula, lesson_inference   the two lessons' computations and figures
    sweep       experiments across seeds: batched sweeps, verdicts, figures
"""
