"""Streamlit pieces for labeling: the queue form, the one-sample labeling panel with keyboard shortcuts,
box review for detections, progress, adjudication, and the auto-label figures.

The panel keeps the item on screen and the moment it was shown in ``st.session_state``, so the seconds
recorded with an answer are the time the labeler looked at it, whatever reruns happened meanwhile.
The next item's image is rendered into the disk cache of :mod:`sda2.ui.thumbnails` and drawn as an
``st.image`` inside a hidden container: Streamlit serves media under a URL made from a hash of the
bytes, so when that image becomes the current one the browser already holds it and shows it at once.
"""

from __future__ import annotations

import importlib.util
import time
import unicodedata
from types import EllipsisType

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from sda2 import store
from sda2.curation import class_schema, queue as lq
from sda2.explore import labeler_quality
from sda2.ui import guideline_widgets, review_widgets as rw, thumbnails
from sda2.ui.safe_text import escape_figure, md

RESERVED_KEYS = {"c", "r"}  # Streamlit keeps these for itself
CONTROL_KEYS = {"skip": "S", "back": "B", "submit": "Enter", "accept": "A"}
NUMBER_KEYS = [str(i) for i in range(1, 10)] + ["0"]
SOURCES = ("Current view (dataset and split in the sidebar)", "Samples with a tag", "A saved view")


def shortcut_keys(classes: list[str]) -> dict[str, str | None]:
    """Keyboard key per class: the class name itself when every class is one distinct letter or digit free
    for use (e.g. digits "0"-"9"), else 1..9, 0 for the first ten classes and none for the rest."""
    lowered = [str(c).lower() for c in classes]
    taken = RESERVED_KEYS | {k.lower() for k in CONTROL_KEYS.values()}
    if all(len(c) == 1 and c.isalnum() and c not in taken for c in lowered) and len(set(lowered)) == len(classes):
        return {c: str(c).upper() for c in classes}
    return {c: (NUMBER_KEYS[i] if i < len(NUMBER_KEYS) else None) for i, c in enumerate(classes)}


def class_keys(dataset, classes: list[str],
               schema: class_schema.ClassSchema | None | EllipsisType = ...) -> dict[str, str | None]:
    """Keyboard key per class: the keys of the dataset's class schema when it gives any (a class without one
    gets none), else :func:`shortcut_keys`. ``schema``: the schema when the caller has read it (None: there is
    none); by default it is read here."""
    schema = class_schema.class_schema(dataset) if schema is ... else schema
    given = schema.keys if schema is not None else {}
    return {c: given.get(c) for c in classes} if given else shortcut_keys(classes)


def class_descriptions(dataset, classes: list[str],
                       schema: class_schema.ClassSchema | None | EllipsisType = ...) -> dict[str, str]:
    """Each class's description from the dataset's class schema ("" for none, or without a schema); ``schema``
    as in :func:`class_keys`."""
    schema = class_schema.class_schema(dataset) if schema is ... else schema
    return {c: schema.description(c) if schema is not None else "" for c in classes}


def require_annotator(context) -> bool:
    """False (after saying how to fix it) when the labeler has not typed a name in the sidebar."""
    if context.annotator:
        return True
    st.warning("Type your name in the sidebar (\"Your name\") to start labeling: every answer is recorded "
               "with its labeler, for agreement and throughput figures.")
    return False


def create_queue_form(dataset, context, key: str = "new_queue", select_key: str | None = None) -> None:
    """A form that makes a queue from the current view, a tag or a saved view, with labels per sample and overlap;
    the new queue is then picked in the select box ``select_key``."""
    tags = sorted(t for t in dataset.distinct("tags"))
    saved = sorted(dataset.list_saved_views())
    source = st.radio("Samples from", SOURCES, key=f"{key}_source", horizontal=True)
    with st.form(key):
        name = st.text_input("Queue name", key=f"{key}_name", placeholder="e.g. batch-1")
        tag = st.selectbox("Tag", tags, key=f"{key}_tag") if source == SOURCES[1] else None
        view_name = st.selectbox("Saved view", saved, key=f"{key}_view") if source == SOURCES[2] else None
        unlabeled = st.checkbox(f"Only samples without a {md(repr(context.label_field))} label", key=f"{key}_unlabeled")
        a, b, c = st.columns(3)
        per_sample = a.number_input("Labelers per sample", 1, 9, 1, key=f"{key}_per_sample",
                                    help="blind multi-labeling: each labeler answers without seeing the others")
        overlap = b.slider("Overlap (share labeled by that many)", 0.0, 1.0, 0.2, 0.05, key=f"{key}_overlap",
                           help="the rest of the samples get one labeler")
        seed = c.number_input("Seed", 0, 10**6, 0, key=f"{key}_seed")
        review_changes = st.checkbox("Answers that change an existing label wait for a curator's OK", value=True,
                                     key=f"{key}_review_changes",
                                     help="Off: the agreed answer replaces the old label at once (logged, undoable).")
        r1, r2 = st.columns(2)
        review = r1.selectbox("Review stage", ("none", "every item", "a sample"), key=f"{key}_review",
                              help="A reviewer accepts each answer (or a sample of them) before it becomes a label.")
        review_share = r2.slider("Share of items reviewed (a sample)", 0.05, 1.0, 0.2, 0.05, key=f"{key}_review_share")
        if not st.form_submit_button("Create queue", type="primary"):
            return
    if (source == SOURCES[1] and not tag) or (source == SOURCES[2] and not view_name):
        st.error("Nothing to pick from: the dataset has no " + ("tags." if source == SOURCES[1] else "saved views."))
        return
    view = lq.queue_source(dataset, context.split if source == SOURCES[0] else None, tag, view_name, unlabeled,
                           context.label_field)
    described = {SOURCES[0]: f"view: {context.split or 'all splits'}", SOURCES[1]: f"tag: {tag}",
                 SOURCES[2]: f"saved view: {view_name}"}[source] + (" (unlabeled)" if unlabeled else "")
    if rw.apply(lq.create_queue, dataset, name, view, int(per_sample), float(overlap), int(seed),
                field=context.label_field, created_by=context.annotator, source=described,
                review_changes=review_changes, success=f"Queue {name.strip()!r} created.",
                review={"none": None, "every item": "all"}.get(review, float(review_share))):
        if select_key:
            st.session_state[select_key] = name.strip()
        st.rerun()


def _state(key: str) -> dict:
    return st.session_state.setdefault(key, {"sample_id": None, "shown_at": None, "revisit": False, "tags": None})


def _show(state: dict, sample_id: str | None, revisit: bool = False) -> None:
    state.update(sample_id=sample_id, shown_at=time.time(), revisit=revisit, tags=None)


def _answer(dataset, queue: str, annotator: str, state: dict, label) -> None:
    """Button callback: record the answer for the item on screen with the seconds since it was shown."""
    seconds = round(time.time() - state["shown_at"], 3)
    if rw.apply(lq.submit, dataset, queue, annotator, state["sample_id"], label, seconds,
                success=f"Saved ({seconds:.1f} s)."):
        _show(state, None)


def _skip(dataset, queue: str, annotator: str, state: dict) -> None:
    if state["revisit"]:
        _show(state, None)
        return
    rw.apply(lq.skip_item, dataset, queue, annotator, state["sample_id"], success="Skipped.")
    _show(state, None)


def _back(dataset, queue: str, annotator: str, state: dict) -> None:
    previous = lq.previous_item(dataset, queue, annotator, before=state["sample_id"] if state["revisit"] else None)
    if previous is None:
        st.session_state["review_toast"] = "Nothing earlier to go back to."
        return
    _show(state, previous, revisit=True)


def _toggle(state: dict, tag: str) -> None:
    state["tags"] = sorted(set(state["tags"]) ^ {tag})


SHORT_NAME = 10  # class names up to this long fit five buttons a row; longer ones get a row each


def display_width(text) -> int:
    """How many Latin letters wide ``text`` shows: CJK and other wide characters count twice."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in str(text))


def button_columns(classes) -> int:
    """How many class buttons a row holds so every name shows whole: 5 for short names, 2 or 1 for long ones."""
    longest = max((display_width(c) for c in classes), default=0)
    return max(1, min(len(classes), 5 if longest <= SHORT_NAME else 2 if longest <= 2 * SHORT_NAME else 1))


def _class_buttons(classes, keys, on_click, chosen=(), key: str = "cls", descriptions: dict | None = None) -> None:
    """One button per class, each showing its whole name (wrapped, never cut) and its key; its help is the
    class's description (when the schema gives one) and its key."""
    st.html(f"<style>.st-key-{key}_classes button p {{white-space: normal; overflow-wrap: anywhere; "
            "text-overflow: clip; overflow: visible}} "
            f".st-key-{key}_classes button div {{overflow: visible; white-space: normal}}</style>")
    with st.container(key=f"{key}_classes"):
        cols = st.columns(button_columns(classes))
        for i, cls in enumerate(classes):
            shortcut, description = keys.get(cls), (descriptions or {}).get(cls)
            cols[i % len(cols)].button(md(cls), key=f"{key}_{i}", shortcut=shortcut, width="stretch",
                                       type="primary" if cls in chosen else "secondary", on_click=on_click,
                                       args=(cls,), help=md(cls) + (f": {md(description)}" if description else "")
                                       + (f" (key {shortcut})" if shortcut else ""))


def canvas_boxes(objects: list[dict], image_size: tuple[int, int], size: int) -> list[list[float]]:
    """Rectangles drawn on a ``size`` square canvas showing an image of ``image_size`` (fitted and centred as
    :func:`sda2.ui.thumbnails.render` draws it) as [x, y, w, h] relative to the image, clipped to it."""
    width, height = image_size
    scale = size / max(width, height)
    shown = (max(1, round(width * scale)), max(1, round(height * scale)))
    offset = ((size - shown[0]) // 2, (size - shown[1]) // 2)
    boxes = []
    for obj in objects:
        if str(obj.get("type", "")).lower() != "rect":  # Fabric.js 7 writes "Rect"
            continue
        x0 = (obj["left"] - offset[0]) / shown[0]
        y0 = (obj["top"] - offset[1]) / shown[1]
        x1 = x0 + obj["width"] * obj.get("scaleX", 1.0) / shown[0]
        y1 = y0 + obj["height"] * obj.get("scaleY", 1.0) / shown[1]
        x0, y0, x1, y1 = (min(max(v, 0.0), 1.0) for v in (x0, y0, x1, y1))
        if x1 > x0 and y1 > y0:
            boxes.append([x0, y0, x1 - x0, y1 - y0])
    return boxes


def _drawn_boxes(item: dict, classes: list[str], key: str) -> list[dict]:
    """New boxes drawn with the mouse on the image (streamlit-drawable-canvas), all of one chosen class."""
    if importlib.util.find_spec("streamlit_drawable_canvas") is None:
        st.image(_image(item), width=thumbnails.DETAIL_SIZE, caption=f"sample {md(item['sample_id'])}",
                 output_format="PNG")
        st.caption("Drawing new boxes needs the package streamlit-drawable-canvas (pip install "
                   "streamlit-drawable-canvas==0.13.0).")
        return []
    from PIL import Image
    from streamlit_drawable_canvas import st_canvas

    label = st.selectbox("Class of new boxes", classes, key=f"{key}_new_class_{item['sample_id']}")
    st.caption(f"sample {md(item['sample_id'])} · drag on the image to draw new boxes of that class")
    size = thumbnails.DETAIL_SIZE
    result = st_canvas(drawing_mode="rect", background_image=_image(item), height=size, width=size, stroke_width=2,
                       stroke_color="#f59e0b", fill_color="rgba(245, 158, 11, 0.15)",
                       key=f"{key}_canvas_{item['sample_id']}")
    objects = ((result.json_data or {}).get("objects") or []) if result is not None else []
    with Image.open(item["filepath"]) as image:
        image_size = image.size
    return [{"label": label, "bounding_box": box} for box in canvas_boxes(objects, image_size, size)]


def _box_review(item: dict, classes: list[str], key: str) -> list[dict]:
    """Keep / reject and re-class each proposed box (the model's, else the current ones), plus boxes drawn
    on the image; the boxes to submit."""
    boxes = item["prediction"] or (item["your_answer"] if item["your_answer"] is not None else [])
    kept = []
    if not boxes:
        st.caption("No boxes proposed for this sample: draw them below, or submit to confirm it has none.")
    for i, box in enumerate(boxes):
        a, b = st.columns([1, 2])
        keep = a.checkbox(f"#{i + 1} keep", value=True, key=f"{key}_keep_{item['sample_id']}_{i}")
        choices = classes if box["label"] in classes else classes + [box["label"]]
        label = b.selectbox(f"#{i + 1} class", choices, index=choices.index(box["label"]),
                            key=f"{key}_class_{item['sample_id']}_{i}", label_visibility="collapsed")
        if keep:
            kept.append({"label": label, "bounding_box": box["bounding_box"]})
    return kept


def _image(item: dict) -> str:
    boxes = item["prediction"] if item["kind"] == "detection" and item["prediction"] else (
        item["your_answer"] if item["kind"] == "detection" and item["your_answer"] else [])
    overlay = thumbnails.Overlay(boxes=tuple(thumbnails.Box(f"#{i + 1} {b['label']}", tuple(b["bounding_box"]))
                                            for i, b in enumerate(boxes)))
    return str(thumbnails.thumbnail(item["filepath"], overlay, size=thumbnails.DETAIL_SIZE))


def _preload(dataset, queue: str, annotator: str, current: str, pred_field: str | None, key: str) -> None:
    """Render the next item's image into a hidden container so the browser has it before it is needed."""
    upcoming = lq.upcoming(dataset, queue, annotator, n=1, exclude=[current])
    st.html(f"<style>.st-key-{key}_preload {{position:absolute; width:1px; height:1px; overflow:hidden; "
            "opacity:0; pointer-events:none}}</style>")
    with st.container(key=f"{key}_preload"):
        for sample_id in upcoming:
            st.image(_image(lq.item(dataset, queue, sample_id, pred_field=pred_field)), output_format="PNG")


def labeling_panel(dataset, queue: str, annotator: str, pred_field: str | None = None, key: str = "label") -> None:
    """One item of ``queue`` for ``annotator``: the image large, class buttons with keys (toggles for tags,
    box review for detections; Accept for a review queue), Skip, Back, and the labeler's progress bar."""
    state = _state(f"{key}:{dataset.name}:{queue}:{annotator}")
    if state["sample_id"] is None:
        _show(state, lq.next_item(dataset, queue, annotator))
    mine, counts = lq.labeler_progress(dataset, queue, annotator), lq.queue_progress(dataset, queue)
    total = mine["answered"] + mine["available"]
    skipped = f", {mine['skipped']:,} skipped" if mine["skipped"] else ""
    st.progress(mine["answered"] / total if total else 1.0,
                text=f"{md(annotator)}: {mine['answered']:,} answered, {mine['available']:,} left for you{skipped} · "
                     f"queue {counts['share_done']:.0%} done ({counts['items'] - counts['open']:,} of "
                     f"{counts['items']:,} items)")
    sample_id = state["sample_id"]
    if sample_id is None:
        st.success("Nothing left for you in this queue. Thank you! Other labelers may still have items to do.")
        st.button("Back to my last answer", key=f"{key}_back_done", shortcut=CONTROL_KEYS["back"],
                  on_click=_back, args=(dataset, queue, annotator, state))
        return
    item = lq.item(dataset, queue, sample_id, annotator, pred_field if _kind(dataset, queue) == "detection" else None)
    classes = store.classes(dataset, item["field"])
    if not classes:
        st.error(md(f"No classes are known for {item['field']!r}: none declared and no sample labeled yet. Fix: "
                    f"declare them, e.g. dataset.classes[{item['field']!r}] = ['cat', 'dog']; dataset.save()."))
        return
    schema = class_schema.class_schema(dataset)  # read once: the keys, the descriptions and the guideline use it
    keys, descriptions = class_keys(dataset, classes, schema), class_descriptions(dataset, classes, schema)
    left, right = st.columns([3, 2])
    if item["kind"] == "detection":
        with left:
            drawn = _drawn_boxes(item, classes, key)
    else:
        left.image(_image(item), width=thumbnails.DETAIL_SIZE, caption=f"sample {md(sample_id)}", output_format="PNG")
    with right:
        guideline_widgets.guideline_beside_labeling(dataset, key=f"{key}_guide", schema=schema)
        if state["revisit"]:
            st.info(f"Your earlier answer: **{md(_text(item['your_answer']))}**. Answer again to change it, or "
                    "Skip to return to the queue.")
        if item["mode"] == "review":
            st.markdown(f"Proposed label: **{md(_text(item['proposal']))}**. Accept it, or pick the right class.")
            st.button(f"Accept {md(_text(item['proposal']))}", key=f"{key}_accept", type="primary",
                      shortcut=CONTROL_KEYS["accept"], width="stretch",
                      on_click=_answer, args=(dataset, queue, annotator, state, item["proposal"]))
        if item["kind"] == "classification":
            chosen = [item["your_answer"]] if state["revisit"] else []
            _class_buttons(classes, keys, lambda cls: _answer(dataset, queue, annotator, state, cls), chosen, key,
                           descriptions)
        elif item["kind"] == "multilabel":
            if state["tags"] is None:
                state["tags"] = list(item["your_answer"] or (item["proposal"] or []))
            st.caption("Toggle every tag that applies (keys), then Submit (Enter).")
            _class_buttons(classes, keys, lambda tag: _toggle(state, tag), state["tags"], key, descriptions)
            st.button("Submit", key=f"{key}_submit", type="primary", shortcut=CONTROL_KEYS["submit"],
                      on_click=lambda: _answer(dataset, queue, annotator, state, list(state["tags"])))
        else:
            kept = _box_review(item, classes, key) + drawn
            st.button(f"Submit {len(kept)} box(es)", key=f"{key}_submit", type="primary",
                      shortcut=CONTROL_KEYS["submit"], on_click=_answer,
                      args=(dataset, queue, annotator, state, kept))
        a, b = st.columns(2)
        a.button("Skip", key=f"{key}_skip", shortcut=CONTROL_KEYS["skip"], icon=":material/skip_next:",
                 width="stretch", on_click=_skip, args=(dataset, queue, annotator, state))
        b.button("Back", key=f"{key}_back", shortcut=CONTROL_KEYS["back"], icon=":material/undo:",
                 width="stretch", on_click=_back, args=(dataset, queue, annotator, state))
        same = all(str(c).upper() == k for c, k in keys.items())
        shown = "" if item["kind"] == "detection" else "each class's own key" if same else ", ".join(
            f"{k}: {md(c)}" for c, k in keys.items() if k)
        st.caption(f"Keys: {shown + ' · ' if shown else ''}S skip · B back"
                   + (" · A accept" if item["mode"] == "review" else "")
                   + (" · Enter submit" if item["kind"] != "classification" else ""))
    _preload(dataset, queue, annotator, sample_id, pred_field if item["kind"] == "detection" else None, key)


def _kind(dataset, queue: str) -> str:
    return lq.get_queue(dataset, queue)["kind"]


def _text(value) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, list):
        return ", ".join(b["label"] if isinstance(b, dict) else str(b) for b in value) or "(none)"
    return str(value)


def queue_overview(dataset, queue: str, only: str | None = None) -> None:
    """The queue's counters and the per-labeler table (only the row of ``only``, a labeler in team mode)."""
    counts = lq.queue_progress(dataset, queue)
    cols = st.columns(6)
    for col, (title, value) in zip(cols, [("Items", counts["items"]), ("Done", counts["done"]),
                                          ("Open", counts["open"]), ("Disputed", counts["disputed"]),
                                          ("Conflicts", counts["conflict"]), ("Changes to confirm", counts["changed"])]):
        col.metric(title, f"{value:,}")
    table = lq.labelers(dataset, queue)
    if only is not None:
        table = table[table["annotator"].str.strip().str.casefold() == only.strip().casefold()]
    if table.empty:
        st.caption("No answers yet.")
    else:
        st.dataframe(table, hide_index=True, column_config={
            "median_seconds": st.column_config.NumberColumn("median s / answer", format="%.1f s"),
            "total_seconds": st.column_config.NumberColumn("time on task", format="%.0f s")})


def adjudication(dataset, queue: str, annotator: str, key: str = "adjudicate", curator: bool | None = None) -> None:
    """Items whose answers disagree (or whose label changed meanwhile) that ``annotator`` may settle, and a form to
    settle one. Adjudication is a separate role: items the annotator answered, or that are still open in a queue,
    are not shown (all are to a curator: ``curator``, by default whether SDA2_CURATORS names the annotator)."""
    curator = labeler_quality.is_curator(annotator) if curator is None else curator
    everything = len(lq.disagreements(dataset, queue))
    frame = labeler_quality.adjudication_items(dataset, queue, annotator, curator)
    if frame.empty:
        st.caption("No disagreements: every item with all its answers was settled." if not everything else
                   f"{everything:,} item(s) await adjudication, none of them by you: you answered them (adjudication "
                   "is a separate role). Another person, or a curator, settles them.")
        return
    if len(frame) < everything:
        st.caption(f"{everything - len(frame):,} more item(s) you answered yourself are left to another adjudicator.")
    shown = frame.assign(answers=frame["answers"].map(lambda d: ", ".join(f"{a}: {v}" for a, v in d.items())))
    st.dataframe(shown, hide_index=True, key=f"{key}_table")
    classes = store.classes(dataset, lq.get_queue(dataset, queue)["field"])
    if _kind(dataset, queue) != "classification":
        st.caption("Multi-label and box items are settled from a notebook: sda2.curation.queue.adjudicate().")
        return
    adjudication_cards(dataset, frame, key)
    a, b, c = st.columns([3, 2, 1])
    sample_id = a.selectbox("Sample", frame["sample_id"], key=f"{key}_sample")
    row = frame.set_index("sample_id").loc[sample_id]
    answered = [str(v) for v in dict.fromkeys((row.get("proposed") or None, *row["answers"].values())) if v]
    choices = answered + [c for c in classes if c not in answered]  # the answers' labels first, never "0"
    label = b.selectbox("Label", choices, key=f"{key}_label_{sample_id}",
                        format_func=lambda c: f"{c} (answered)" if c in answered else str(c))
    c.button("Settle", key=f"{key}_go", type="primary", on_click=rw.apply,
             args=(labeler_quality.adjudicate, dataset, queue, sample_id, label, annotator),
             kwargs={"curator": curator, "success": f"Settled {sample_id} as {label}."})


def adjudication_cards(dataset, frame, key: str = "adjudicate", limit: int = 12) -> None:
    """The items to settle as thumbnails, each with its current label, every labeler's answer and the status."""
    from bson import ObjectId

    shown = frame.head(limit)
    docs = {str(d["_id"]): d["filepath"] for d in dataset._sample_collection.find(
        {"_id": {"$in": [ObjectId(s) for s in shown["sample_id"]]}}, {"filepath": 1})}
    cols = st.columns(min(4, max(1, len(shown))))
    for i, row in enumerate(shown.itertuples()):
        with cols[i % len(cols)], st.container(border=True, key=f"{key}_card_{row.sample_id}"):
            if row.sample_id in docs:
                st.image(str(thumbnails.thumbnail(docs[row.sample_id], thumbnails.Overlay(), size=128)),
                         width="stretch")
            st.markdown(f"now **{md(row.current_label or '(none)')}** · {md(row.status)}")
            if getattr(row, "proposed", ""):
                st.markdown(f"proposed **{md(row.proposed)}**")
            for who, value in row.answers.items():
                st.caption(f"{md(who)}: **{md(value)}**")
    if len(frame) > limit:
        st.caption(f"The first {limit} of {len(frame):,} items are shown; pick any of them below.")


def autolabel_figure(preview) -> go.Figure:
    """Per class: bars of samples that would be auto-labeled and stay for people, and the expected precision."""
    classes = [str(c) for c in preview["class"]]
    fig = go.Figure([
        go.Bar(x=classes, y=preview["would_label"].tolist(), name="auto-labeled", marker_color="#2563eb",
               hovertemplate="class %{x}: %{y:,} samples auto-labeled<extra></extra>"),
        go.Bar(x=classes, y=preview["below_threshold"].tolist(), name="left for people", marker_color="#9aa5b1",
               hovertemplate="class %{x}: %{y:,} samples below the threshold<extra></extra>"),
        go.Scatter(x=classes, y=preview["expected_precision"].tolist(), name="expected precision", yaxis="y2",
                   mode="markers", marker=dict(color="#16a34a", size=10),
                   error_y=dict(type="data", symmetric=False,
                                array=(preview["precision_high"] - preview["expected_precision"]).tolist(),
                                arrayminus=(preview["expected_precision"] - preview["precision_low"]).tolist()),
                   hovertemplate="class %{x}: expected precision %{y:.1%}<extra></extra>")])
    fig.update_layout(barmode="stack", height=340, margin=dict(l=10, r=10, t=40, b=10),
                      title=dict(text="Auto-labels per class (bars) and expected precision (dots, 95 % interval)",
                                 font_size=13),
                      xaxis=dict(title="predicted class", type="category"), yaxis=dict(title="samples"),
                      yaxis2=dict(title="precision", overlaying="y", side="right", range=[0, 1.05], showgrid=False,
                                  tickvals=[0, 0.25, 0.5, 0.75, 1], tickformat=".0%"),
                      legend=dict(orientation="h", y=-0.25))
    return escape_figure(fig)


def spot_check_figure(report) -> go.Figure:
    """Per class: the precision reviewers observed (with its 95 % interval) beside the one expected."""
    report = report[report["class"] != "all"]
    classes = [str(c) for c in report["class"]]
    observed = report["observed_precision"].to_numpy(dtype=float)
    low, high = (report[c].to_numpy(dtype=float) for c in ("precision_low", "precision_high"))
    fig = go.Figure([
        go.Bar(x=classes, y=observed.tolist(), name="observed", marker_color="#2563eb",
               error_y=dict(type="data", symmetric=False,
                            array=np.nan_to_num(high - observed).tolist(),
                            arrayminus=np.nan_to_num(observed - low).tolist()),
               customdata=report[["checked"]].to_numpy().tolist(),
               hovertemplate="class %{x}: %{y:.1%} of %{customdata[0]} checked<extra></extra>"),
        go.Scatter(x=classes, y=report["expected_precision"].tolist(), name="expected", mode="markers",
                   marker=dict(color="#16a34a", size=11, symbol="diamond"),
                   hovertemplate="class %{x}: expected %{y:.1%}<extra></extra>")])
    fig.update_layout(height=320, margin=dict(l=10, r=10, t=40, b=10), xaxis=dict(title="class", type="category"),
                      yaxis=dict(title="precision", range=[0, 1.05], tickformat=".0%"),
                      title=dict(text="Spot check: observed precision per class (95 % interval) vs expected",
                                 font_size=13), legend=dict(orientation="h", y=-0.25))
    return escape_figure(fig)
