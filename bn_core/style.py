"""One look for every chart: the networks' colours, the font, and small plotly layout helpers.

Every network has one colour in every chart of every lesson (Okabe–Ito, safe for colour-blind
readers): without BN vermilion, BN before the activation blue, BN after green; where networks
share one plot their lines also differ in dash (solid, dashed, dotted), for grayscale print. Figures are
built as plain dicts (cheaper than make_subplots) and numbers go out as float32 arrays (plotly
writes them base64-encoded, 4 bytes a number).
"""

from __future__ import annotations

import textwrap

import numpy as np

__all__ = ["COLORS", "DASHES", "FONT", "fill", "arr", "line_mode", "axis_id", "grid", "cell",
           "base_layout", "wrap", "titled", "title_out", "figure", "CONFIG"]

COLORS = {"none": "#D55E00", "before": "#0072B2", "after": "#009E73"}
DASHES = {"none": "solid", "before": "dash", "after": "dot"}   # lines also told apart in grey
FONT = dict(family="Source Sans Pro, Arial, sans-serif", size=13)
CONFIG = {"displaylogo": False}           # plotly's config for every chart


def fill(network: str, opacity: float = 0.22) -> str:
    """The network's colour as a translucent fill, e.g. for a percentile band."""
    hex_color = COLORS.get(network, "#666666").lstrip("#")
    r, g, b = (int(hex_color[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{opacity})"


def arr(values) -> np.ndarray:
    """Numbers for a figure: float32; NaN/inf → NaN, which plotly draws as a gap."""
    out = np.asarray(values, dtype=np.float32).ravel()
    return np.where(np.isfinite(out), out, np.float32(np.nan))


def line_mode(xs) -> str:
    """Lines, with markers while there are too few points to see a line (e.g. at step 0)."""
    return "lines" if len(xs) > 2 else "lines+markers"


def axis_id(n: int) -> str:
    """'' for the first axis, else its number: xaxis, xaxis2, …"""
    return "" if n == 1 else str(n)


def cell(r: int, c: int, cols: int) -> dict:
    """The axes of cell (r, c) in a `grid` of `cols` columns."""
    n = r * cols + c + 1
    return {"xaxis": f"x{axis_id(n)}", "yaxis": f"y{axis_id(n)}"}


def grid(rows: int, cols: int, *, hgap: float = 0.05, vgap: float = 0.08,
         col_titles: list[str] | None = None, col_colors: list[str] | None = None,
         row_titles: list[str] | None = None, share_y: str | None = "row",
         share_x: bool = True) -> dict:
    """A layout dict for a rows × cols grid of axes. Cell (r, c) uses axes x{n}/y{n} with
    n = r·cols + c + 1 (see `cell`). share_y: "row" (each row one y range), "all", or None."""
    layout = {"annotations": []}
    w = (1 - hgap * (cols - 1)) / cols
    h = (1 - vgap * (rows - 1)) / rows
    for r in range(rows):
        for c in range(cols):
            n = r * cols + c + 1
            x0 = c * (w + hgap)
            y1 = 1 - r * (h + vgap)
            xa = {"domain": [x0, x0 + w], "anchor": f"y{axis_id(n)}", "automargin": True,
                  "showgrid": True, "zeroline": False}
            ya = {"domain": [max(0.0, y1 - h), y1], "anchor": f"x{axis_id(n)}", "automargin": True,
                  "zeroline": False}
            if share_x and n > 1:
                xa["matches"] = "x"
            if share_y == "row" and c > 0:
                ya["matches"] = f"y{axis_id(r * cols + 1)}"
                ya["showticklabels"] = False
            elif share_y == "all" and n > 1:
                ya["matches"] = "y"
                if c > 0:
                    ya["showticklabels"] = False
            if r < rows - 1 and share_x:
                xa["showticklabels"] = False
            if row_titles and c == 0:
                ya["title"] = {"text": row_titles[r], "standoff": 4}
            layout[f"xaxis{axis_id(n)}"] = xa
            layout[f"yaxis{axis_id(n)}"] = ya
    for c, title in enumerate(col_titles or []):
        x0 = c * (w + hgap)
        color = (col_colors or [None] * cols)[c]
        layout["annotations"].append({
            "text": f"<b>{title}</b>", "x": x0 + w / 2, "y": 1.0, "xref": "paper", "yref": "paper",
            "xanchor": "center", "yanchor": "bottom", "showarrow": False,
            "font": {"size": 14, "color": color},
        })
    return layout


def base_layout(height: int, **extra) -> dict:
    """White background, the font, a horizontal legend under the chart, unified hover."""
    layout = {
        "height": height, "margin": {"l": 60, "r": 20, "t": 40, "b": 95},
        "template": "plotly_white",              # the same look in every renderer (a page,
        "font": FONT, "plot_bgcolor": "white", "paper_bgcolor": "white",   # the HTML export)
        "hovermode": "x unified",
        "legend": {"orientation": "h", "y": -0.3, "x": 0, "yanchor": "top"},
    }
    layout.update(extra)
    return layout


TITLE_CHARS = 90      # a title line that fits a chart on a 1280 px screen beside the sidebar
TITLE_LINE = 19      # px, one line of a 15 px title


def wrap(text: str, width: int = TITLE_CHARS) -> list[str]:
    """A title's lines: its own <br> kept, each part broken at spaces into lines of at most
    `width` characters (plotly never wraps a title: a long one is cut off at the chart's edge)."""
    return [line for part in text.split("<br>") for line in (textwrap.wrap(part, width) or [""])]


def titled(fig, title: str, height: int = 420, bottom: int = 110, legend_y: float = -0.2):
    """A lesson figure's look (experiments, alternatives): the title top left, in as many lines
    as it needs (`wrap`), the top margin growing with them; the legend in a row under the plot
    (clear of the panel titles), `bottom` pixels below for it. Returns fig."""
    lines = wrap(title)
    fig.update_layout(title=dict(text="<br>".join(lines), x=0.0, xanchor="left", y=1.0,
                                 yref="container", yanchor="top", pad=dict(t=12),
                                 font=dict(size=15)),
                      font=FONT, height=height + TITLE_LINE * (len(lines) - 1),
                      margin=dict(l=60, r=20, t=80 + TITLE_LINE * (len(lines) - 1), b=bottom),
                      template="plotly_white",
                      legend=dict(orientation="h", yanchor="top", y=legend_y, xanchor="left",
                                  x=0.0))
    return fig


def title_out(fig, top: int = 40):
    """(the title, the figure without it): for a page to write the title above the chart, where
    it wraps to the screen (plotly never wraps a title: on a phone a long one is cut off). The
    title's lines are joined with spaces; the top margin shrinks to `top` (room for the panels'
    own titles) and the figure's height by as much. A go.Figure is copied; a figure without a
    title comes back as it is, with ""."""
    title = getattr(getattr(fig.layout, "title", None), "text", None) if hasattr(fig, "layout") else None
    if not title:
        return "", fig
    fig = type(fig)(fig)
    margin = fig.layout.margin.t if fig.layout.margin.t is not None else 80
    height = fig.layout.height
    fig.update_layout(title=None, margin=dict(t=min(margin, top)))
    if height is not None:
        fig.update_layout(height=height - max(margin - top, 0))
    return " ".join(part.strip() for part in title.split("<br>")), fig


def figure(data: list, layout: dict, frames: list | None = None, as_dict: bool = False):
    """The figure: a plotly go.Figure, or (as_dict=True) the same as a plain dict {"data",
    "layout", "frames"}, which skips plotly's validation (a few ms per trace): for live updates,
    redrawn several times a second (live_chart takes either)."""
    if as_dict:
        return {"data": data, "layout": layout, **({"frames": frames} if frames else {})}
    import plotly.graph_objects as go

    return go.Figure(data=data, layout=layout, frames=frames)
