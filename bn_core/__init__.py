"""bn_core: everything BatchNorm Lab computes, with no user interface (never imports streamlit).

Shared modules, flat:

    batchnorm     BN in numpy: the formulas of the paper, read on screen (and the frameworks' defaults)
    norms         LayerNorm, GroupNorm, RMSNorm, Batch Renormalization in numpy, the same way
    controls      every knob declared once: Config dataclasses, their checks and their URL
    data          the bundled and generated datasets
    engine        K networks of one shape trained in lockstep with an explicit backward pass
    normalizers   the engine's batched normalisers
    kernels       the engine's hot spots: compiled loops beside their numpy twins
    optim         SGD, momentum and Adam on K networks at once, as torch.optim
    trainer       TrainConfig and Run: the one training loop of every lesson
    records       what a run records: snapshots and their probe-set statistics
    stats         statistics of experiments across seeds: intervals, paired tests, Holm
    style         the one palette and plotly layout helpers

One package per lesson (its computation and its figures), mirroring pages/:

    lab           covariate-shift lab (/lab)      formula      the formula (/formula)
    inference     train vs eval (/inference)      experiments  experiments across seeds
    why           why does BN work? (/why)        alternatives regularisation and alternatives
"""
