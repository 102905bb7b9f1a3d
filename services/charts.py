"""A small horizontal bar chart as SVG, drawn by the server and placed inline in the page.

Nothing is loaded from another host (no script, no web font: the system's own font), so it
works on slow networks and under the site's Content-Security-Policy; colours and sizes are
presentation attributes, not CSS, because the policy allows no inline styles. Every piece of
text is escaped; the chart names itself with <title> and <desc> for screen readers, and
each bar carries its own <title> (a tooltip) with the exact figure.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

# The site's red and blue: told apart by people with the common colour-vision deficiencies
# and readable on white.
COLOURS = ("#a8141c", "#0b57a4", "#8a5a00", "#1e6b2a")
FONT = "system-ui, -apple-system, 'PingFang SC', 'Microsoft YaHei', sans-serif"
FONT_SIZE = 14
BAR = 12  # height of one bar
GAP = 10  # between two rows of bars
LEGEND = 26
PAD = 6
# Characters XML 1.0 does not allow at all; a name pasted from elsewhere could hold one.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_ID = re.compile(r"[^A-Za-z0-9_-]")


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float]


def _text(value) -> str:
    return escape(_NOT_XML.sub("", str(value)), quote=True)


def text_width(text: str, size: float = FONT_SIZE) -> float:
    """A font-free estimate: Chinese characters are about one em wide, Latin about half."""
    return sum(size if ord(ch) > 0x2E7F else size * 0.6 for ch in text)


def fit(text: str, width: float, size: float = FONT_SIZE) -> str:
    """`text`, cut with an ellipsis so that it fits `width`."""
    if text_width(text, size) <= width:
        return text
    while text and text_width(text + "…", size) > width:
        text = text[:-1]
    return text + "…"


def bar_chart(
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    description: str = "",
    ident: str = "chart",
    width: int = 400,
    value_format: Callable[[float], str] = lambda v: f"{v:g}",
) -> Markup:
    """Horizontal bars: one group per label, one bar per series, the value at the end of
    each bar, a legend on top. Returns markup ready to place inline in HTML."""
    ident = _ID.sub("", ident) or "chart"
    many = len(series) > 1
    top = LEGEND if many else PAD
    label_w = min(max((text_width(label) for label in labels), default=0) + PAD, width * 0.38)
    values = [v for s in series for v in s.values]
    value_w = max((text_width(value_format(v)) for v in values), default=0) + PAD
    plot_x = label_w + PAD
    plot_w = max(width - plot_x - value_w - PAD, 40)
    peak = max(values, default=0) or 1
    group_h = BAR * len(series) + GAP
    height = top + max(len(labels), 1) * group_h + PAD

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height:g}" '
        f'viewBox="0 0 {width} {height:g}" role="img" aria-labelledby="{ident}-title {ident}-desc" '
        f'font-family="{_text(FONT)}" font-size="{FONT_SIZE}">',
        f'<title id="{ident}-title">{_text(title)}</title>',
        f'<desc id="{ident}-desc">{_text(description)}</desc>',
    ]
    if many:
        x = 0.0
        for i, s in enumerate(series):
            out.append(f'<rect x="{x:g}" y="6" width="12" height="12" fill="{COLOURS[i % len(COLOURS)]}"/>')
            out.append(f'<text x="{x + 17:g}" y="17" fill="#1a1a1a">{_text(s.name)}</text>')
            x += 17 + text_width(s.name) + 16
    if not labels:
        out.append(f'<text x="0" y="{top + 14}" fill="#555">—</text>')
    for row, label in enumerate(labels):
        y0 = top + row * group_h
        middle = y0 + BAR * len(series) / 2
        out.append(
            f'<text x="{label_w:g}" y="{middle + FONT_SIZE * 0.35:g}" text-anchor="end" fill="#1a1a1a">'
            f"<title>{_text(label)}</title>{_text(fit(label, label_w - PAD))}</text>"
        )
        for i, s in enumerate(series):
            value = s.values[row] if row < len(s.values) else 0
            shown = value_format(value)
            length = plot_w * max(value, 0) / peak
            y = y0 + i * BAR
            out.append(
                f'<rect x="{plot_x:g}" y="{y + 1:g}" width="{length:.1f}" height="{BAR - 2}" '
                f'fill="{COLOURS[i % len(COLOURS)]}">'
                f"<title>{_text(label)} · {_text(s.name)}: {_text(shown)}</title></rect>"
            )
            out.append(
                f'<text x="{plot_x + length + 4:.1f}" y="{y + BAR - 1:g}" font-size="{FONT_SIZE - 2}" '
                f'fill="#1a1a1a">{_text(shown)}</text>'
            )
    axis_end = top + max(len(labels), 1) * group_h - GAP / 2
    out.append(f'<line x1="{plot_x:g}" y1="{top - 2:g}" x2="{plot_x:g}" y2="{axis_end:g}" stroke="#767676"/>')
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704  (every piece of text above went through _text)
