"""What the lab page (pages/1_lab.py) says in more than a line: its introduction and the help
of its downloads."""

INTRO = (
    "A neural network turns its input into a prediction through a few **layers**; each "
    "layer computes weighted sums of the previous layer's outputs, $z = W u + b$, and passes "
    "them through an **activation** function $g(z)$ (by default a sigmoid, like the 2015 "
    "paper). Here the *same* network is trained two (or three) times, side by side: as it "
    "is, and with **Batch Normalization** (BN), which re-centres and re-scales $z$ over each "
    "mini-batch. All copies start from the same weights and see the same mini-batches, so "
    "every difference you see comes from BN alone.\n\n"
    "While they train, watch the inputs $z$ of the activations, measured on the same held-out "
    "examples at every moment. Without BN their distribution drifts as the earlier layers "
    "learn (the paper called this *internal covariate shift*); with BN it is held steady. "
    "**Press Train**, then try the **Paper setup** (the paper's Figure 1), a larger learning "
    "rate, BN after the activation, or the **ε = 0 breaks it** setup (in the sidebar).")

CSV_HELP = ("One row per snapshot, network, layer and recorded unit (whole-layer rows have no "
            "unit): p15, p50, p85, mean, std; loss, accuracy, saturation and gradient norm on the "
            "whole-layer rows.")
HTML_HELP = ("Every chart in one HTML file that opens offline (about 5 MB: it includes "
             "plotly.js).")
SCRIPT_HELP = ("These networks and settings as a standalone PyTorch script "
               "(torch.nn.BatchNorm1d), to run at home: python batchnorm_lab.py --steps 1500. It "
               "prints each network's test accuracy.")
