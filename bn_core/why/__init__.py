"""Why does BN work? (pages/5_why.py): Santurkar et al. (2018) tested on this app's networks.

    config = WhyConfig.default("landscape")        # every knob; also the page's URL query
    result = run_experiment(config, progress=print)  # all its networks in one stack, measured
    verdict(result); figures(result)               # what the data say; the charts and captions

    config     the knobs of the four experiments, their defaults, the URL
    probes     G and G′ (their internal covariate shift) and the landscape along the gradient,
               on the engine's public interface, changing nothing (snapshot / restore)
    linear     their deep linear network, with the engine's interface
    training   what each experiment trains (one bn_core.trainer.Run) and records
    verdicts   paired tests by seed, Holm-corrected per experiment: does it reproduce?
    figures    the charts (the lab's percentile panels for the noisy-BN distributions)
    prose      the claims, the noise model as used, and what is disputed
"""
