"""The theme in .streamlit/config.toml meets WCAG AA (4.5:1 for normal text).

Streamlit derives two of its text colours from the configured ones (checked in the browser with
axe-core, Streamlit 1.67): captions, help text and page-link captions are textColor at 60 %
opacity over the background, and a selected pill is primaryColor text on primaryColor at 10 %
opacity over the background. With the defaults (textColor #2f2d2b, primary #2563eb) those were
3.88:1 and 4.49:1.
"""

import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
THEME = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["theme"]
# Streamlit's light-theme defaults, where config.toml leaves them unset
BACKGROUND = THEME.get("backgroundColor", "#ffffff")
SIDEBAR = THEME.get("secondaryBackgroundColor", "#f8f8f7")
TEXT = THEME.get("textColor", "#2f2d2b")
PRIMARY = THEME.get("primaryColor", "#c53948")
AA = 4.5


def rgb(color: str) -> tuple[int, int, int]:
    color = color.lstrip("#")
    return tuple(int(color[i:i + 2], 16) for i in (0, 2, 4))


def over(fg: str, bg: str, alpha: float) -> str:
    """fg at `alpha` opacity drawn over bg, as the browser composites it."""
    mixed = (round(alpha * f + (1 - alpha) * b) for f, b in zip(rgb(fg), rgb(bg)))
    return "#" + "".join(f"{c:02x}" for c in mixed)


def luminance(color: str) -> float:
    """WCAG 2.x relative luminance."""
    lin = [c / 255 for c in rgb(color)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in lin]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_the_formula_against_known_values():
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)   # the classic AA grey
    # what axe measured with Streamlit's default theme
    assert over("#2f2d2b", "#ffffff", 0.6) == "#828180"
    assert contrast("#828180", "#ffffff") == pytest.approx(3.88, abs=0.01)
    assert over("#2563eb", "#ffffff", 0.1) == "#e9effd"
    assert contrast("#2563eb", "#e9effd") == pytest.approx(4.48, abs=0.01)


@pytest.mark.parametrize("bg", [BACKGROUND, SIDEBAR])
def test_body_text_and_captions_meet_aa(bg):
    assert contrast(TEXT, bg) >= AA
    caption = over(TEXT, bg, 0.6)
    assert contrast(caption, bg) >= AA, f"caption {caption} on {bg}"


def test_a_selected_pill_and_a_primary_button_meet_aa():
    pill_bg = over(PRIMARY, BACKGROUND, 0.1)
    assert contrast(PRIMARY, pill_bg) >= AA, f"pill {PRIMARY} on {pill_bg}"
    assert contrast("#ffffff", PRIMARY) >= AA          # a primary button's label
    assert contrast(PRIMARY, BACKGROUND) >= AA         # links and slider values


def test_a_long_chart_title_wraps_instead_of_running_off_the_chart():
    """style.titled: plotly cuts a title at the chart's edge, so long ones are wrapped at spaces,
    every word kept, and the figure grows by the extra lines."""
    import plotly.graph_objects as go

    from bn_core.style import TITLE_CHARS, titled

    title = ("Final accuracy, paired by seed: each seed's difference (dot; ×: a run diverged), "
             "mean ± the margin to be clear, as in the verdict (bar; filled: clear)")
    fig = titled(go.Figure(), title, 360)
    lines = fig.layout.title.text.split("<br>")
    assert len(lines) == 2 and all(len(line) <= TITLE_CHARS for line in lines)
    assert " ".join(lines) == title and lines[-1].endswith("(bar; filled: clear)")
    assert fig.layout.height == 360 + 19 and fig.layout.margin.t == 80 + 19
    short = titled(go.Figure(), "Lead.<br>Short title", 360)
    assert short.layout.title.text == "Lead.<br>Short title"      # its own break kept


def test_a_page_writes_the_title_above_the_chart_and_the_chart_loses_its_room():
    """style.title_out: the experiment pages show a figure's title as text above it (it wraps on
    a phone, where plotly would cut it); the figure keeps its plot area: height and top margin
    shrink by the same amount."""
    import plotly.graph_objects as go

    from bn_core.style import title_out, titled

    title = ("Final accuracy, paired by seed: each seed's difference (dot; ×: a run diverged), "
             "mean ± the margin to be clear, as in the verdict (bar; filled: clear)")
    fig = titled(go.Figure(), title, 360)
    text, out = title_out(fig)
    assert text == title and not out.layout.title.text
    assert out.layout.margin.t == 40
    assert out.layout.height - out.layout.margin.t == fig.layout.height - fig.layout.margin.t
    assert fig.layout.title.text                                     # the original is untouched
    assert title_out(go.Figure()) == ("", title_out(go.Figure())[1])  # no title: as it is
