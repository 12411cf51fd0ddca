"""User strings (class, tag, dataset, field and labeler names, reasons) shown as text, never as markup.

Streamlit renders Markdown (with KaTeX ``$…$``, ``:red[…]`` colours, ``:emoji:`` and ``:material/…:``
icons, images ``![t](url)`` the browser fetches, and HTML entities such as ``&amp;``) in st.markdown,
st.caption, st.write, st.info/warning/error/success, st.toast, titles, widget labels, button labels,
radio and segmented-control options, tab and expander labels, metric labels and values, progress text
and image captions. Plotly renders a subset of HTML (``<b>``, ``<br>``, ``<a href>``, entities) in tick
labels, hover labels, legends, titles and bar text.

* :func:`md` escapes a string for any Streamlit Markdown place with CommonMark's backslash: every character
  that starts markup anywhere in a line (``\\ ` * _ { } [ ] < > $ & | ~ /``), a colon not followed by a
  space (``:red[…]``, ``:smile:``, ``:material/…:``), and a block marker at its start (``#``, ``>``, ``-``,
  ``+``, ``=``, ``1.``, ``1)``); an invisible word joiner (U+2060) goes after ``@`` and ``://``'s colon and
  before ``www.``'s dot (GFM links e-mail addresses and URLs in the final text, escaped or not); line breaks
  become spaces. Other punctuation stays as typed, so the source
  stays readable ("1: 8 samples", "under-predicts '8'").
* :func:`plot` escapes a string for a plotly text place: ``&``, ``<``, ``>`` become entities, and so do
  ``$`` (LaTeX) and ``%{`` (a hover template field).
* :func:`escape_figure` escapes the data strings of a whole figure (categories, text, hover text, trace
  names, category order and tick labels), so a figure built from raw names displays them literally;
  titles and templates the code writes keep their markup, and user strings put into them go through
  :func:`plot` where they are written.
* :func:`unplot` maps a value a plotly selection event returns back to the raw name it was made from.

Selectbox and multiselect options and st.dataframe cells are shown as plain text by Streamlit: pass them
raw (escaping them would show the backslashes).
"""

from __future__ import annotations

import re

import numpy as np

MD_ALWAYS = "\\`*_{}[]<>$&|~/"  # characters that can start markup anywhere in a line
WORD_JOINER = "\u2060"  # zero-width, no line break: splits a URL or e-mail address so it is not linked
_WWW = re.compile(r"(?:^|[^\w.-])www$", re.IGNORECASE)  # "www" right before a dot starts a GFM link
_EMOJI_OPEN = re.compile(r":[\w+-][\w+-]*$")  # ":smile" right before a colon closes a ":smile:" shortcode
_MD_LINE_START = re.compile(r"^(\s*)([#>+=-]|\d+(?=[.)]))([.)]?)")
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029]+")
_PLOT_SPECIAL = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "$": "&#36;"}
_PLOT_PATTERN = re.compile(r"[&<>$]|%(?=\{)")
_AXIS = re.compile(r"^[xy]axis\d*$")
_TRACE_TEXT = ("text", "hovertext", "labels")  # per-point strings plotly draws


def md(text) -> str:
    """``text`` (any value; None gives "") escaped so Streamlit Markdown shows it literally, on one line."""
    if text is None:
        return ""
    line = _LINE_BREAKS.sub(" ", str(text))
    escaped = "".join(_md_char(line, i) for i in range(len(line)))
    return _MD_LINE_START.sub(_escape_marker, escaped, count=1)


def _md_char(line: str, i: int) -> str:
    """``line[i]`` as Markdown source that shows it as typed."""
    ch = line[i]
    # GFM links e-mail addresses, "http://…" and "www.…" in the final text, escaped or not: an invisible
    # word joiner inside the pattern keeps them text
    if ch == "@":
        return "@" + WORD_JOINER
    if ch == ":" and line.startswith("//", i + 1):
        return "\\:" + WORD_JOINER
    if ch == "." and _WWW.search(line[:i]):
        return WORD_JOINER + "."
    if ch in MD_ALWAYS or (ch == ":" and _colon_is_markup(line, i)):
        return "\\" + ch
    return ch


def _colon_is_markup(line: str, i: int) -> bool:
    """Whether the colon at ``line[i]`` can open or close a directive, emoji or icon (":red[", ":smile:")."""
    opens = i + 1 < len(line) and not line[i + 1].isspace()
    return opens or _EMOJI_OPEN.search(line[:i]) is not None


def _escape_marker(match: re.Match) -> str:
    """A block marker at the start of a line, escaped: "# x" → "\\# x", "1. x" → "1\\. x"."""
    space, marker, dot = match.groups()
    return f"{space}{marker}\\{dot}" if dot else f"{space}\\{marker}"


def md_list(values, sep: str = ", ") -> str:
    """Several user strings escaped with :func:`md` and joined by ``sep`` (which is written as is)."""
    return sep.join(md(v) for v in values)


def plot(text) -> str:
    """``text`` (any value; None gives "") escaped so plotly draws it literally (no tags, entities, LaTeX)."""
    if text is None:
        return ""
    return _PLOT_PATTERN.sub(lambda m: "&#37;" if m.group(0) == "%" else _PLOT_SPECIAL[m.group(0)], str(text))


def unplot(value, choices) -> object:
    """The element of ``choices`` whose :func:`plot` form (or itself) is ``value``; ``value`` when none is."""
    text = str(value)
    for choice in choices:
        if str(choice) == text:
            return choice
    for choice in choices:
        if plot(choice) == text:
            return choice
    return value


def _escaped(values):
    """``values`` with every string escaped by :func:`plot`; numbers (and numeric arrays) unchanged."""
    if values is None or isinstance(values, (int, float, bool, np.number)):
        return values
    if isinstance(values, str):
        return plot(values)
    if isinstance(values, np.ndarray):
        if values.dtype.kind in "biufcmM":  # numbers and dates: nothing to escape
            return values
        return np.array([_escaped(v) for v in values.tolist()], dtype=object).reshape(values.shape)
    if isinstance(values, (list, tuple)):
        return [_escaped(v) for v in values]
    return values


def escape_figure(fig):
    """Escape, in place, every data string of a plotly figure (x/y categories, text, hover text, labels,
    trace and legend-group names, axis category orders and tick values/labels); returns ``fig``.

    Run it once on a figure built from raw names: the strings the code writes into titles, hover
    templates and annotations are left alone (escape user strings there with :func:`plot`).
    """
    for trace in fig.data:
        updates = {}
        for prop in ("x", "y", *_TRACE_TEXT):
            if prop in trace and trace[prop] is not None:
                updates[prop] = _escaped(trace[prop])
        for prop in ("name", "legendgroup"):
            if prop in trace and isinstance(trace[prop], str):
                updates[prop] = plot(trace[prop])
        if "customdata" in trace and trace["customdata"] is not None:
            updates["customdata"] = _escaped(trace["customdata"])
        trace.update(updates)
    layout = fig.layout
    for name in list(layout.to_plotly_json()):
        if not _AXIS.match(name):
            continue
        axis = layout[name]
        for prop in ("categoryarray", "tickvals", "ticktext"):
            if axis[prop] is not None:
                axis[prop] = _escaped(axis[prop])
    return fig
