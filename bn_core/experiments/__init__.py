"""Experiments across seeds (pages/4_experiments.py): many networks of one shape trained at once,
and what the data say.

    config = SweepConfig.default("lr")            # every knob; also the page's URL query
    result = run_sweep(config, progress=print)    # all seeds × settings, batched
    verdict(result)                               # plain-language conclusions with uncertainty
    figure(result); result.summary_frame()        # plotly figures, tidy table (CSV)

    config      the knobs of the four experiments, their defaults, the URL
    training    which networks, batched how (one bn_core.trainer.Run per stack), the results
    prose       the Verdict record, number formats, the paired Holm-corrected comparisons
    ranges      which stretch of a grid trains, and what its ends mean
    verdicts    the verdicts, the rule sentence, the few-seeds note
    figures     one figure per experiment
"""
