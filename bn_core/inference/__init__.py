"""The inference lesson (pages/3_inference.py): where BN's statistics come from at test time,
and what goes wrong.

    config       InferenceConfig: every knob of the page (also its URL); the lesson's network
    training     train_network: the network trained with the shared trainer (`Run`), every
                 step's batch statistics recorded; TrainedNetwork (plain, cacheable data)
    estimates    running averages replayed for any momentum, Algorithm 2 layer by layer, the
                 notes' and the paper's variance factors, PyTorch's and Keras's conventions
    lesson       inference_lesson: the four ways to get the statistics compared, one input in
                 two modes, a batch of one (InferenceLesson, plain data)
    batch_sizes  the small-batch study: one network per training batch size, both modes
    figures      the running averages' convergence, the batch-size study, and their captions

    config = InferenceConfig(batch_size=32, steps=600, momentum=0.1)
    trained = training.train_network(config.train_config())   # a few seconds
    shown = lesson.inference_lesson(trained, config)          # cheap: tables, accuracies, curves
    study = batch_sizes.batch_size_sweep(seed=0)              # six more networks
"""
