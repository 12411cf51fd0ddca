"""Streamlit pieces for guidelines: the guideline beside the labeling panel (collapsed, searchable, each class's
examples as thumbnails), the schema editor, the example picker and the version history.

The guideline's markdown is the curator's text: each line keeps its block marker (heading, list item)
and the rest goes through :func:`sda2.ui.safe_text.md`, so headings and lists read as written while no
LaTeX, colour, icon, image or link markup in it is rendered.
"""

from __future__ import annotations

import re
from types import EllipsisType

import pandas as pd
import streamlit as st

from sda2.curation import class_schema as cs, guidelines
from sda2.ui import thumbnails
from sda2.ui.safe_text import md

_BLOCK = re.compile(r"^(\s{0,3}#{1,6}\s+|\s*[-*+]\s+|\s*\d+[.)]\s+)")
EXAMPLE_SIZE = 120


def guideline_markdown(text: str, query: str = "") -> str:
    """The guideline's text as safe Markdown (block markers kept, the rest escaped); only the lines holding
    ``query`` (case ignored) and the headings above them when a query is given."""
    out, heading = [], None
    for line in str(text or "").splitlines():
        match = _BLOCK.match(line)
        marker, rest = (match.group(1), line[match.end():]) if match else ("", line)
        safe = marker.replace("*", "-").replace("+", "-") + md(rest) if rest.strip() else ""
        if marker.strip().startswith("#"):
            heading = safe
            if not query or query.casefold() in rest.casefold():
                out.append(safe)
                heading = None
            continue
        if query and query.casefold() not in line.casefold():
            continue
        if query and heading:
            out.append(heading)
            heading = None
        out.append(safe)
    return "\n\n".join(line for line in out if line) if query else "\n".join(out)


def example_grid(rows: pd.DataFrame, key: str, columns: int = 6) -> None:
    """Thumbnails of example samples (``sample_id``, ``filepath``, optional ``kind``), captioned."""
    if rows.empty:
        return
    cols = st.columns(columns)
    for i, (_, row) in enumerate(rows.iterrows()):
        caption = (f"{guidelines.KIND_TITLES[row['kind']].split()[0].lower()} · " if "kind" in row else "") \
            + md(str(row["sample_id"])[-6:])
        cols[i % columns].image(str(thumbnails.thumbnail(row["filepath"], size=EXAMPLE_SIZE)), caption=caption,
                                output_format="PNG")


def guideline_beside_labeling(dataset, key: str = "guide",
                              schema: cs.ClassSchema | None | EllipsisType = ...) -> None:
    """The current guideline in a collapsed expander with a search box: the text, and per class its
    description and examples (positive, negative, edge cases) as thumbnails. Nothing when there is none.
    ``schema``: the class schema when the caller has read it (None: there is none); by default it is read here."""
    doc = guidelines.guideline(dataset)
    schema = cs.class_schema(dataset) if schema is ... else schema
    if doc is None and schema is None:
        return
    title = f"Guideline v{doc['version']}" if doc else "Classes"
    with st.expander(title, expanded=False, icon=":material/menu_book:"):
        query = st.text_input("Search the guideline", key=f"{key}_search", placeholder="a word or a class name")
        text = guideline_markdown(doc["text"], query) if doc else ""
        if text:
            st.markdown(text)
        elif query:
            st.caption(f"No line of the text holds {md(query)!s}.")
        examples = guidelines.example_samples(dataset) if doc else pd.DataFrame(columns=["class"])
        names = list(schema.names) if schema else []
        names += [c for c in examples["class"].unique() if c not in names]
        for cls in names:
            description = schema.description(cls) if schema else ""
            if query and query.casefold() not in f"{cls} {description}".casefold():
                continue
            st.markdown(f"**{md(cls)}**" + (f": {md(description)}" if description else ""))
            example_grid(examples[examples["class"] == cls], f"{key}_{cls}")


def history_table(dataset) -> pd.DataFrame:
    """The guideline's versions with what changed, in words, for a table (newest first)."""
    history = guidelines.guideline_history(dataset)
    if history.empty:
        return history
    changed = []
    for _, row in history.iterrows():
        parts = (["text"] if row["text_changed"] else []) + [f"examples of {', '.join(row['examples_changed'])}"
                                                            for _ in [0] if row["examples_changed"]]
        changed.append("; ".join(parts) or "nothing")
    return pd.DataFrame({"version": history["version"], "saved": history["saved_at"], "by": history["author"],
                         "changed classes": [", ".join(c) for c in history["changed_classes"]],
                         "what changed": changed, "note": history["note"], "examples": history["n_examples"]})
