"""What the lab page (pages/1_lab.py) says in more than a line: its introduction, the help of its
downloads, and two notes of its reading (bn_core.lab.reading re-exports them): the caution from
Santurkar et al. and why BN struggles with tiny mini-batches."""

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
    "learn (the paper called this *internal covariate shift*); with BN it is held steady. ")
TRY = {True: "**Press Train**, then try the **Paper setup** (the paper's Figure 1), a larger "
             "learning rate, BN after the activation, or the **ε = 0 breaks it** setup (in the "
             "sidebar).",
       False: "**Press Train** and watch them move."}   # the link fixes what the setups change


def intro(setups: bool = True) -> str:
    """The introduction, ending with what to try: the setups, where they can be used (a
    teacher's link that locks what they change disables them)."""
    return INTRO + TRY[setups]

CSV_HELP = ("One row per snapshot, network, layer and recorded unit (whole-layer rows have no "
            "unit): p15, p50, p85, mean, std; loss, accuracy, saturation and gradient norm on the "
            "whole-layer rows.")
HTML_HELP = ("Every chart in one HTML file that opens offline (about 5 MB: it includes "
             "plotly.js).")
SCRIPT_HELP = ("These networks and settings as a standalone PyTorch script "
               "(torch.nn.BatchNorm1d), to run at home: python batchnorm_lab.py --steps 1500. It "
               "prints each network's test accuracy.")

SANTURKAR_NOTE = (
    "A caution the 2015 paper could not give: the steady distributions you see are what BN was "
    "designed for (the paper called their drift *internal covariate shift*), but they may not be "
    "why BN helps. Santurkar et al. (2018) added random noise after every BN layer, so the "
    "distributions shifted all the time, and the networks still trained about as well as with "
    "plain BN. What they found BN does change is the loss landscape: it becomes smoother, so "
    "larger steps are safe."
)


def small_batch_note(config) -> str | None:
    """Why BN struggles with mini-batches of 2–4 (train mode vs eval mode), where it applies."""
    if config.batch_size > 4 or config.placement == "none":
        return None
    return (f"**BN with mini-batches of {config.batch_size}.** BN normalises each unit over the "
            "mini-batch: with 2 examples every unit's two values become exactly −1 and +1 "
            "(whatever they were), so in training the layer above sees little more than which of "
            "the two was larger, and the batch statistics jump from batch to batch. At test time "
            "(eval mode) BN uses running averages of those noisy statistics instead, a different "
            "normalisation from the one the network trained with, so test accuracy suffers. The "
            "network without BN has no batch statistics and is not affected this way. See the "
            "*Inference: train vs eval* lesson for both modes side by side.")
