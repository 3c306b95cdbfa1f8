"""The covariate-shift lab (pages/1_lab.py): its setups, measures, reading, figures and exports.

    presets     the default run, the paper's Figure 1, "ε = 0 breaks it"; record_every_for
    measures    drift against the noise floor, the shift rate (internal covariate shift), collapse
    reading     the run in plain sentences
    figures     loss/accuracy, percentile bands, shift rate, saturation and gradients
    histograms  every layer's input distribution, pooled and per unit, animated
    views       the page's views by name, the live schedule and its pacer
    export      the CSV table, the standalone HTML file and the PyTorch script (script)

The training itself is the shared trainer, `bn_core.trainer.Run`, whose snapshots
(`bn_core.records`) hold everything these modules read.
"""
