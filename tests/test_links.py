"""Garbage in every URL parameter of every page gives notices, never a traceback (a learner may
paste a damaged link; a link may come from an older version of the app)."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
GARBAGE = ["abc", "-1e999", "nan", "", "1,2,x", "<script>", "none", "9" * 40]


def configs():
    from bn_core.experiments.config import SweepConfig
    from bn_core.formula.config import FormulaConfig
    from bn_core.inference.config import InferenceConfig
    from bn_core.trainer import TrainConfig

    pages = [("pages/1_lab.py", TrainConfig), ("pages/2_formula.py", FormulaConfig),
             ("pages/3_inference.py", InferenceConfig), ("pages/4_experiments.py", SweepConfig)]
    try:
        from bn_core.why.config import WhyConfig
        pages.append(("pages/5_why.py", WhyConfig))
    except ImportError:
        pass
    try:
        from bn_core.alternatives.config import NormsConfig
        pages.append(("pages/6_norms.py", NormsConfig))
    except ImportError:
        pass
    return [(page, cls) for page, cls in pages if (ROOT / page).exists()]


@pytest.mark.parametrize("page,config", configs(), ids=lambda v: getattr(v, "__name__", v))
def test_garbage_in_every_parameter_gives_notices_not_a_traceback(page, config):
    names = [c.url_name for c in config.controls() if c.url_name]
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page(page)
    for i, name in enumerate(names):
        at.query_params[name] = GARBAGE[i % len(GARBAGE)]
    at.query_params["no_such_parameter"] = "1"
    at.run()
    assert not at.exception, at.exception
    notices = " ".join(w.value for w in at.warning)
    assert "no_such_parameter" in notices                 # one notice per parameter it ignored
    assert not [e.value for e in at.error if "Traceback" in e.value]
