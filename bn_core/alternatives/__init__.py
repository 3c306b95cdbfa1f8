"""Lesson: BN as a regulariser, and its alternatives (pages/6_norms.py).

    config = NormsConfig.default("batch")        # every knob; also the page's URL query
    result = run_experiment(config, progress)    # all seeds × networks, batched
    verdict(result)                              # plain-language conclusions with uncertainty
    figure(result); result.summary_frame()       # plotly figures, tidy table (CSV)

    config      the knobs of the three experiments, their defaults, the URL
    training    which networks, batched how (one bn_core.trainer.Run per batch size), results
    verdicts    the verdicts (paired tests by seed, Holm's correction per question)
    figures     one or two figures per experiment, and the "which axis" grid
"""
