"""The escaping helpers of sda2.ui.safe_text, the CJK badge font, and blind-labeling visibility in sda2.explore.labeler_quality."""

import string

import numpy as np
import plotly.graph_objects as go
import pytest

from sda2.ui import thumbnails
from sda2.ui.safe_text import MD_ALWAYS, WORD_JOINER, escape_figure, md, md_list, plot, unplot

NASTY = ["alice@example.com", "www.example.com", "<b>bold</b>", "a &amp; b", "![t](http://127.0.0.1:9/track.png)", "고양이_아주_긴_이름의_클래스", "$x^2$",
         ":red[r] :smile: :material/home:", "%{y} of %{x}", "# heading", "1. item", "- item", "> quote",
         "`code`", "[link](javascript:alert(1))", "<img src=x onerror=alert(1)>", "back\\slash", "two\nlines"]


def _unescape_md(text: str) -> str:
    """What CommonMark shows for a string made only of text and backslash escapes."""
    out, i = [], 0
    while i < len(text):
        if text[i] == WORD_JOINER:  # invisible
            i += 1
        elif text[i] == "\\" and i + 1 < len(text) and text[i + 1] in string.punctuation:
            out.append(text[i + 1])
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _escaped_at(escaped: str, i: int) -> bool:
    """Whether ``escaped[i]`` is preceded by an odd run of backslashes (a CommonMark escape)."""
    run = len(escaped[:i]) - len(escaped[:i].rstrip("\\"))
    return run % 2 == 1


@pytest.mark.parametrize("text", NASTY)
def test_md_escapes_every_markup_character_and_reads_back_as_the_text(text):
    escaped = md(text)
    assert _unescape_md(escaped) == text.replace("\n", " ")
    assert "\n" not in escaped
    for i, ch in enumerate(escaped):
        if ch in MD_ALWAYS and ch != "\\" or (ch == ":" and i + 1 < len(escaped) and escaped[i + 1] != " "):
            assert _escaped_at(escaped, i), (text, escaped, i)


@pytest.mark.parametrize("text, expected", [
    ("고양이 cat 3", "고양이 cat 3"), ("a*b", "a\\*b"), ("<b>", "\\<b\\>"), ("&amp;", "\\&amp;"),
    ("8 predicted as 1: 8 samples", "8 predicted as 1: 8 samples"), ("under-predicts '8'", "under-predicts '8'"),
    (":smile: x", "\\:smile\\: x"), (":red[r]", "\\:red\\[r\\]"), ("# h", "\\# h"), ("1. x", "1\\. x"),
    ("12) x", "12\\) x"), ("- x", "\\- x"), ("  > x", "  \\> x"), ("batch-1", "batch-1"), ("a:b", "a\\:b"),
    ("Labels:", "Labels:"), (":material/home:", "\\:material\\/home:"),
    ("http://x.org/a", "http\\:\u2060\\/\\/x.org\\/a"), ("mail a@b.com", "mail a@\u2060b.com"),
    ("see www.x.com", "see www\u2060.x.com"), ("awww.x", "awww.x")])
def test_md_escapes_only_what_is_markup_there(text, expected):
    assert md(text) == expected


def test_md_handles_none_numbers_and_lists():
    assert md(None) == "" and md(7) == "7"
    assert md_list(["a_b", "<i>"]) == "a\\_b, \\<i\\>"


def test_plot_turns_markup_into_entities_that_plotly_shows_as_the_text():
    assert plot("<b>bold</b>") == "&lt;b&gt;bold&lt;/b&gt;"
    assert plot("a &amp; b") == "a &amp;amp; b"
    assert plot("$x$") == "&#36;x&#36;"
    assert plot("%{y} 50%") == "&#37;{y} 50%"  # a template field is broken, a plain percent stays
    assert plot("고양이_아주_긴_이름의_클래스") == "고양이_아주_긴_이름의_클래스"
    assert plot(None) == "" and plot(3) == "3"


def test_unplot_maps_an_escaped_category_back_to_its_raw_name():
    classes = ["<b>bold</b>", "a &amp; b", "3"]
    assert unplot(plot("<b>bold</b>"), classes) == "<b>bold</b>"
    assert unplot("a &amp;amp; b", classes) == "a &amp; b"
    assert unplot("3", classes) == "3"
    assert unplot("missing", classes) == "missing"


def test_escape_figure_escapes_categories_text_hover_names_and_axis_orders_only():
    names = ["<b>bold</b>", "a &amp; b", "![t](http://127.0.0.1:9/track.png)"]
    fig = go.Figure([
        go.Bar(x=names, y=[1, 2, 3], name="<i>split</i>", text=names, hovertext=np.array(names),
               customdata=np.array([[1.0, 2.0]] * 3), hovertemplate="<b>%{x}</b>: %{y}<extra></extra>"),
        go.Heatmap(z=[[1, 2], [3, 4]], x=names[:2], y=names[:2], text=np.array([["1", "2"], ["3", "<4>"]])),
        go.Scattergl(x=np.arange(3, dtype=np.float32), y=np.arange(3, dtype=np.float32),
                     customdata=np.array(["65a0", "65a1", "65a2"], dtype=object))])
    fig.update_layout(title="<b>kept</b>", xaxis={"type": "category", "categoryarray": names},
                      yaxis={"tickvals": [1, 2], "ticktext": ["<1>", "two"]})
    escape_figure(fig)
    bar, heat, points = fig.data
    assert list(bar.x) == [plot(n) for n in names] and list(bar.text) == [plot(n) for n in names]
    assert list(bar.hovertext) == [plot(n) for n in names]
    assert bar.name == "&lt;i&gt;split&lt;/i&gt;"
    assert bar.hovertemplate == "<b>%{x}</b>: %{y}<extra></extra>"  # the code's own markup stays
    assert np.asarray(bar.customdata).tolist() == [[1.0, 2.0]] * 3
    assert list(heat.x) == [plot(n) for n in names[:2]] and np.asarray(heat.text)[1][1] == "&lt;4&gt;"
    assert np.asarray(points.x).dtype.kind == "f" and list(points.customdata) == ["65a0", "65a1", "65a2"]
    assert list(fig.layout.xaxis.categoryarray) == [plot(n) for n in names]
    assert list(fig.layout.yaxis.ticktext) == ["&lt;1&gt;", "two"] and list(fig.layout.yaxis.tickvals) == [1, 2]
    assert fig.layout.title.text == "<b>kept</b>"


def test_korean_badges_get_a_font_with_hangul():
    from PIL import ImageFont

    assert thumbnails.needs_wide_font("고양이") and not thumbnails.needs_wide_font("cat → dog 3")
    path = thumbnails.wide_font_path()
    assert path is not None, "no CJK font installed: apt-get install fonts-nanum (scripts/setup.sh --browser)"
    assert thumbnails.font_for("고양이", 20).path == path
    dejavu = ImageFont.truetype("DejaVuSans-Bold.ttf", 20)
    # a font without Hangul draws every syllable as the same "missing glyph" box; the chosen one draws each
    assert bytes(dejavu.getmask("고")) == bytes(dejavu.getmask("양"))
    chosen = thumbnails.font_for("고양", 20)
    assert bytes(chosen.getmask("고")) != bytes(chosen.getmask("양"))
