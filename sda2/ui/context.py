"""The sidebar every page shares: which dataset, label field, prediction field, split and annotator."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from sda2 import store
from sda2.ingest import DEFAULT_NAME, load_default
from sda2.ui import roles
from sda2.ui.safe_text import md

ALL_SPLITS = "all splits"


@dataclass(frozen=True)
class Context:
    """What the user picked in the sidebar; pages read their data through it."""

    dataset_name: str
    label_field: str
    label_kind: str
    prediction_field: str | None
    split: str | None
    annotator: str  # "" until the user types a name: attributed actions ask for one (never "anonymous")

    def dataset(self):
        """The chosen dataset (reloaded, so other processes' changes show)."""
        return store.open_dataset(self.dataset_name)

    def view(self):
        """The chosen dataset restricted to the chosen split."""
        from fiftyone import ViewField as F

        ds = self.dataset()
        return ds.match(F("split") == self.split) if self.split else ds


def _empty_state() -> None:
    st.title("sda2")
    st.info("There are no datasets yet. Load the embedded default (1,797 real handwritten digits, 10 classes) "
            "to look around, or import your own with `sda2 ingest --help`.")
    if st.button("Load the default dataset", key="load_default", type="primary"):
        with st.spinner("Writing 1,797 digit images and importing them…"):
            report = load_default()
        st.success(md(report.summary()))
        st.rerun()


def _forget_field_choices() -> None:
    """A new dataset has other fields: let the field pickers start from their defaults again."""
    for key in ("label_field", "prediction_field", "split"):
        st.session_state.pop(key, None)


def _follow_new_fields(dataset_name: str, schema: list[str], prediction_options: list[str],
                       prediction_default: str) -> None:
    """Make fields computed since the last run show at once (e.g. predictions made on the Evaluation page).

    A keyed select box keeps its old value when its options change, so a "(none)" chosen before the
    predictions existed would hide them until a reload: while the prediction picker is on "(none)" (or on a
    field that is gone), a changed list of options lets it take its default again. When the dataset's fields
    change, cached figures and filter choices are dropped, so every page reads the new fields.
    """
    seen = st.session_state.get("_sidebar_fields")
    now = (dataset_name, tuple(schema), tuple(prediction_options))
    if seen == now:
        return
    if seen is not None and seen[0] == dataset_name:
        picked = st.session_state.get("prediction_field")
        # only when the default differs: resetting "(none)" to "(none)" sends the browser a value, and one sent
        # by a run that a pick overtook (a slow run, a quick user) put the picker back on "(none)" after the pick
        if (picked == "(none)" or picked not in prediction_options) and picked != prediction_default:
            st.session_state.pop("prediction_field", None)
        if seen[1] != now[1]:
            st.cache_data.clear()
    st.session_state["_sidebar_fields"] = now


def _default_choice(key: str, options: list[str], default: str) -> None:
    """Put ``default`` in a keyed picker's state unless it holds one of ``options``, before the picker is drawn.

    Dropping a picker's state (another dataset, new fields) is not enough: the server then takes the default
    while the browser keeps showing the old choice and sends it back on the next rerun (a dataset with
    predictions showed "(none)" and lost them at the next click). A value set in the session state reaches
    the browser.
    """
    if st.session_state.get(key) not in options:
        st.session_state[key] = default


def sidebar() -> Context | None:
    """Draw the sidebar pickers; None (after drawing a helpful empty state) when there is nothing to show."""
    names = store.list_datasets()
    if not names:
        _empty_state()
        return None
    default = names.index(DEFAULT_NAME) if DEFAULT_NAME in names else 0
    with st.sidebar:
        name = st.selectbox("Dataset", names, index=default, key="dataset", on_change=_forget_field_choices)
        ds = store.open_dataset(name)
        fields = store.label_fields(ds)
        if not fields:
            st.warning(f"{md(repr(name))} has no label field sda2 understands (Classification, Classifications or "
                       "Detections). Import labels with `sda2 ingest`, or pick another dataset.")
            return None
        names_ = [f.name for f in fields]
        gt_index = names_.index("ground_truth") if "ground_truth" in names_ else 0
        _default_choice("label_field", names_, names_[gt_index])
        label_field = st.selectbox("Label field", names_, key="label_field")
        pred_options = ["(none)"] + [f.name for f in fields if f.name != label_field]
        pred_default = "predictions" if "predictions" in pred_options else "(none)"
        _follow_new_fields(name, sorted(ds.get_field_schema()), pred_options, pred_default)
        _default_choice("prediction_field", pred_options, pred_default)
        prediction = st.selectbox("Prediction field", pred_options, key="prediction_field")
        split_names = store.splits(ds)
        if split_names:
            _default_choice("split", [ALL_SPLITS] + split_names, ALL_SPLITS)
        split = st.selectbox("Split", [ALL_SPLITS] + split_names, key="split") if split_names else ALL_SPLITS
        account = roles.current()  # team mode: edits and labels carry the signed-in account, not a typed name
        annotator = account.name if account is not None else st.text_input(
            "Your name (for edits and labels)", key="annotator", placeholder="e.g. alice")
        st.caption(f"{len(ds):,} samples in {md(repr(name))}")
    kind = next(f.kind for f in fields if f.name == label_field)
    return Context(name, label_field, kind, None if prediction == "(none)" else prediction,
                   None if split == ALL_SPLITS else split, " ".join(annotator.split()))
