"""AppTest of what the lab page (pages/1_lab.py) *says* about runs that break (issue #23, item
1): only the text shown (markdown, errors, warnings), not the layout. The run is set through
the URL (every control lives there) and started with the button labelled Train."""

import re
from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def trained_page(**query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=240).run()
    at.switch_page("pages/1_lab.py")
    for name, value in query.items():
        at.query_params[name] = value
    at.run()
    assert not at.exception
    next(b for b in at.button if b.label == "Train").click().run()
    assert not at.exception
    return at


def shown(at) -> str:
    return "\n".join(m.value for m in at.markdown)


def test_the_page_leads_with_the_divergence_of_eps_zero():
    at = trained_page(activation="relu", placement="after", lr="0.05", batch_size="16", eps="0")
    errors = [m for e in at.error if (m := re.search(r"diverged at step ([\d,]+)", e.value))]
    assert errors, "the divergence is shown as an error"
    step = int(errors[0].group(1).replace(",", ""))
    text = shown(at)
    lead = f"- **The network with BN after activation broke: it diverged at step {step:,}**"
    assert 0 < step < 1500
    assert lead in text
    assert text.index(lead) < text.index("Test accuracy at the last snapshot")
    assert "before it diverged)" in text and "≈ noise" not in text


def test_the_page_says_the_network_without_bn_is_stuck_at_learning_rate_ten():
    at = trained_page(lr="10")
    assert any(w.value.startswith("Without BN is not learning") for w in at.warning)
    text = shown(at)
    lead = "- **The network without BN is stuck near chance**"
    assert lead in text and "saturated" in text.split(lead, 1)[1].split("\n", 1)[0]
    assert text.index(lead) < text.index("Test accuracy at the last snapshot")
