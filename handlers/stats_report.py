"""The owner's statistics: the figures for `templates/stats.j2` and a chart of the last days.

The chart's texts come translated from `templates/stats_labels.j2` (see `chart_labels`);
nothing a reader sees is written here. matplotlib is imported only when a chart is drawn.
"""

from __future__ import annotations

import io
import math

from bot.core.languages import Lang
from bot.domain.stats import Day, merge
from handlers.texts import Texts, plain

LABELS = ("conversations", "handoffs", "answered_by_bot", "title")
# Fonts with Chinese glyphs, best first; DejaVu Sans (matplotlib's own) has none.
CJK_FONTS = ("Noto Sans CJK", "WenQuanYi", "Droid Sans Fallback", "AR PL")
_CJK_RANGES = ((0x2E80, 0x9FFF), (0xAC00, 0xD7AF), (0xF900, 0xFAFF), (0xFE30, 0xFE4F),
               (0xFF00, 0xFFEF), (0x20000, 0x3FFFF))


def summary(days: list[Day]) -> dict[str, Day | None]:
    """`today`, `week` (the last 7 days) and `previous_week` (the 7 before, else None).

    `days` is oldest first, today last, as `Stats.days()` returns them.
    """
    if not days:
        raise ValueError("no days to summarise")
    return {
        "today": days[-1],
        "week": merge(days[-7:]),
        "previous_week": merge(days[-14:-7]) if len(days) >= 14 else None,
    }


def chart_labels(texts: Texts, lang: Lang) -> dict[str, str]:
    """The chart's texts in `lang`: the macros of `templates/stats_labels.j2`, as plain text."""
    module = texts.env.get_template("stats_labels.j2").make_module({"lang": lang})
    return {key: plain(str(getattr(module, key)())).strip() for key in LABELS}


def chart(
    days: list[Day],
    labels: dict[str, str],
    fallback_labels: dict[str, str] | None = None,
) -> bytes:
    """A 900x500 PNG: conversations and handoffs per day, and the share the bot answered.

    If `labels` hold Chinese (or other CJK) characters and no font with those glyphs is
    installed, `fallback_labels` (English) are drawn instead of empty boxes.
    """
    # The object API with the Agg canvas: no display, no pyplot state shared between threads.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator, PercentFormatter

    families = ["DejaVu Sans"]
    if any(_is_cjk(text) for text in labels.values()):
        font = _cjk_font()
        if font is not None:
            families.append(font)  # matplotlib falls back glyph by glyph
        elif fallback_labels is not None:
            labels = fallback_labels

    x = range(len(days))
    shares = [d.answered_by_bot for d in days]
    figure = Figure(figsize=(9, 5), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    try:
        counts = figure.add_subplot()
        width = 0.4
        counts.bar([i - width / 2 for i in x], [d.conversations for d in days], width,
                   label=labels["conversations"], color="#4C78A8")
        counts.bar([i + width / 2 for i in x], [d.handoffs for d in days], width,
                   label=labels["handoffs"], color="#F58518")
        counts.yaxis.set_major_locator(MaxNLocator(integer=True))
        counts.set_ylim(0, max(counts.get_ylim()[1], 1))
        pad = max(0, 7 - len(days)) / 2  # a few days still look like days, not walls
        counts.set_xlim(-0.5 - pad, len(days) - 0.5 + pad)
        counts.set_xticks(list(x), [d.day.strftime("%d.%m") for d in days],
                          rotation=45 if len(days) > 10 else 0)
        counts.grid(axis="y", alpha=0.3)

        share = counts.twinx()
        share.plot(list(x), [math.nan if s is None else s * 100 for s in shares],
                   marker="o", color="#54A24B", label=labels["answered_by_bot"])
        share.set_ylim(0, 105)
        share.yaxis.set_major_formatter(PercentFormatter(100))
        share.set_ylabel(labels["answered_by_bot"], family=families)

        handles = counts.get_legend_handles_labels()
        lines = share.get_legend_handles_labels()
        # Under the axes: a legend inside would hide bars or points.
        figure.legend(handles[0] + lines[0], handles[1] + lines[1], loc="outside lower center",
                      ncols=3, frameon=False, prop={"family": families})
        counts.set_title(labels["title"], family=families)

        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        return buffer.getvalue()
    finally:
        figure.clear()  # not registered with pyplot: dropping the last reference frees it


def _is_cjk(text: str) -> bool:
    return any(low <= ord(char) <= high for char in text for low, high in _CJK_RANGES)


def _cjk_font() -> str | None:
    """The name of an installed font with Chinese glyphs, if matplotlib finds one."""
    from matplotlib import font_manager

    # Chinese shapes (SC, TC) before the Japanese and Korean cuts of the same font.
    names = sorted({entry.name for entry in font_manager.fontManager.ttflist},
                   key=lambda name: (not name.endswith((" SC", " TC")), name))
    for wanted in CJK_FONTS:
        for name in names:
            if wanted in name:
                return name
    return None
