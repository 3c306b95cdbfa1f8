"""The small-batch study (`bn_core.inference.batch_sizes`): equal examples or equal steps, seeded."""

import pandas as pd

from bn_core.inference.batch_sizes import batch_size_sweep


def test_batch_size_sweep_small(data):
    assert list(batch_size_sweep(seed=1, sizes=(2, 8), examples=40)["steps"]) == [20, 5]
    frame = batch_size_sweep(seed=1, sizes=(2, 8), steps=15)
    assert list(frame.index) == [2, 8] and list(frame["steps"]) == [15, 15]
    assert frame[["eval mode", "training mode"]].stack().between(0, 1).all()
    pd.testing.assert_frame_equal(frame, batch_size_sweep(seed=1, sizes=(2, 8), steps=15))
