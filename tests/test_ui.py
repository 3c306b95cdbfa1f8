"""ui.py's pieces that hold no page: download data made on click that does not keep a finished
session's run alive."""

import gc

from bn_core.lab import export
from bn_core.trainer import Run, TrainConfig
from ui import made_on_click, md_escape


def test_download_data_is_made_on_click_and_does_not_keep_the_run_alive():
    run = Run(TrainConfig(depth=1, width=4, steps=20, record_every=10))
    list(run.stream())
    data = made_on_click(export.table_csv, run.history)
    assert data() == export.table(run.history).to_csv(index=False)
    assert data().count("\n") > 10
    del run
    gc.collect()
    assert data() == ""                          # the run is gone: the callable held it weakly


def test_a_small_value_kept_for_a_download_outlives_the_rerun_that_made_it():
    config = TrainConfig(depth=2, width=8, lr=0.3)
    data = made_on_click(export.pytorch_script, config, keep=True)
    del config                                   # the rerun that made the button is over
    gc.collect()
    script = data()
    assert script == export.pytorch_script(TrainConfig(depth=2, width=8, lr=0.3))
    assert len(script) > 1000                    # not "": the config was still there


def test_text_in_markdown_is_shown_as_it_is():
    assert md_escape("‖W‖ × 10, (bar; filled: clear)") == "‖W‖ × 10, (bar; filled: clear)"
    assert md_escape("a*b_c [x] $5 <br> ~ | `q` \\") == \
        "a\\*b\\_c \\[x\\] \\$5 \\<br\\> \\~ \\| \\`q\\` \\\\"
