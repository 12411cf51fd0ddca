"""Selection: choose what to label next (strategy, budget, pool), compare the pick with its pool, keep it."""

import streamlit as st

from sda2.explore import label_next
from sda2.compute.embeddings import embedding_keys
from sda2.ui import label_next_figures as sf
from sda2.ui.safe_text import md

try:
    from sda2.curation import queue as labeling_queue
except ImportError:  # the labeling queue is optional
    labeling_queue = None

WHOLE = "whole dataset"
context = st.session_state["context"]
name = context.dataset_name
pred_field = context.prediction_field or "predictions"
st.title("Select what to label next")
st.caption("Pick a strategy and a budget; the selection is compared with its pool (classes and how well it covers "
           "the embedding map) and can be kept as a tag or saved view, downloaded, or sent to a labeling queue.")

choices = label_next.pool_choices(name)
controls = st.columns([2, 1, 1, 2])
strategy = controls[0].selectbox("Strategy", list(label_next.DESCRIPTIONS), key="sel_strategy",
                                 format_func=lambda s: s.replace("_", " "))
budget = controls[1].number_input("Budget (samples)", min_value=1, value=100, step=10, key="sel_budget")
pool_kind = controls[2].selectbox("Pool", [WHOLE] + [kind for kind, names in choices.items() if names],
                                  key="sel_pool_kind")
pool_name = (controls[3].selectbox(f"Which {pool_kind}", choices[pool_kind], key="sel_pool_name")
             if pool_kind != WHOLE else None)
st.caption(f"**{strategy.replace('_', ' ')}**: {label_next.DESCRIPTIONS[strategy]}.")

with st.expander("Which strategy saves labels on this dataset? Replay them on the labeled samples"):
    st.caption("Each strategy picks from 80 % of the labeled samples at growing budgets; a classifier trained on its "
               "picks is scored on the other 20 %. A strategy above the dashed random line reaches the same "
               "accuracy with fewer labels.")
    if st.button("Replay the strategies", key="sel_replay"):
        with st.spinner("Replaying five strategies at five budgets, two seeds each…"):
            try:
                st.session_state["sel_replay_result"] = (name, label_next.strategy_savings(
                    name, label_field=context.label_field))
            except (KeyError, ValueError) as error:
                st.error(md(error.args[0] if isinstance(error, KeyError) else error))
    replay = st.session_state.get("sel_replay_result")
    if replay is not None and replay[0] == name:
        from sda2.analysis.data_efficiency import label_savings

        st.plotly_chart(sf.accuracy_vs_budget(replay[1], title="Held-out accuracy vs labels spent"),
                        key="sel_replay_chart")
        st.dataframe(label_savings(replay[1]), hide_index=True, key="sel_replay_table")

keys = embedding_keys(name)
options = st.columns([2, 1, 3])
key = options[0].selectbox("Embeddings", keys, key="sel_embeddings") if len(keys) > 1 else None
if len(keys) == 1:
    options[0].caption(f"Embeddings: {md(keys[0])}")
seed = options[1].number_input("Seed", min_value=0, value=0, step=1, key="sel_seed")
seed_with_labeled = options[2].checkbox(
    "Count labeled samples outside the pool", value=True, key="sel_seed_with_labeled",
    help="Diversity then covers what they leave uncovered, class balance counts them, and no near duplicate "
         "of one is picked.")

missing = label_next.missing_inputs(name, strategy, key, pred_field, context.label_field)
if missing:
    for message in missing:
        st.info(md(message))
    st.stop()

pool = {"split": pool_name} if pool_kind == "split" else {"tag": pool_name} if pool_kind == "tag" else \
    {"saved_view": pool_name} if pool_kind == "saved view" else {}
if st.button(f"Select {int(budget):,} samples", key="sel_run", type="primary"):
    with st.spinner(f"Selecting with {strategy.replace('_', ' ')}…"):
        try:
            ids = label_next.select_samples(name, strategy, int(budget), embeddings_key=key, pred_field=pred_field,
                                           label_field=context.label_field, seed=int(seed),
                                           seed_with_labeled=seed_with_labeled, **pool)
            st.session_state["sel_result"] = {"dataset": name, "ids": ids, "pool": pool, "strategy": strategy,
                                              "key": key}
        except (ValueError, KeyError) as error:
            st.error(md(error.args[0] if error.args else error))

result = st.session_state.get("sel_result")
if not result or result["dataset"] != name:
    st.info("Choose a strategy, a budget and a pool, then press **Select** to see the selection here.")
    st.stop()

ids = result["ids"]
pool_ids = label_next.pool_ids(name, **result["pool"])
comparison = label_next.compare_selection(name, ids, pool_ids, label_field=context.label_field, pred_field=pred_field,
                                         embeddings_key=result["key"])
where = ", ".join(f"{k.replace('_', ' ')} {v!r}" for k, v in result["pool"].items()) or "the whole dataset"
st.subheader(f"{len(ids):,} samples selected by {result['strategy'].replace('_', ' ')} from {len(pool_ids):,} "
             f"in {md(where)}")
if len(ids) < int(budget):
    st.warning(f"The pool allowed only {len(ids):,} of the {int(budget):,} asked for (after labeled samples and "
               "near duplicates were left out).")
left, right = st.columns(2)
with left:
    st.markdown("**Classes: selection vs pool**")
    st.plotly_chart(sf.class_distribution(comparison.classes), key="sel_classes")
with right:
    st.markdown("**Coverage of the pool**")
    if comparison.points is not None:
        st.plotly_chart(sf.selection_map(comparison.points), key="sel_map")
    else:
        st.info("There is no 2-D map of these embeddings yet, so coverage is measured in the embeddings. Compute "
                "the map on the **Embedding map** page to see the selection on it.")
    st.caption(md(comparison.summary()))

save, download, send = st.columns(3)
with save:
    with st.form("sel_save_form"):
        kind = st.radio("Keep the selection as", ["tag", "saved view"], horizontal=True, key="sel_save_kind")
        label = st.text_input("Name", key="sel_save_name", placeholder="e.g. batch-3")
        submitted = st.form_submit_button("Save selection", key="sel_save", type="primary")
    if submitted:
        try:
            count = label_next.save_selection(name, ids, **({"tag": label} if kind == "tag" else {"saved_view": label}),
                                             description=f"sda2 selection: {result['strategy']}, {where}",
                                             annotator=context.annotator)
            st.success(f"Kept {count:,} samples as {kind} {md(repr(label.strip()))}.")
        except ValueError as error:
            st.error(md(error))
with download:
    st.markdown("**Export**")
    st.download_button("Download the list (CSV)", label_next.selection_table(name, ids, context.label_field)
                       .to_csv(index=False), file_name=f"{name}-{result['strategy']}-{len(ids)}.csv",
                       mime="text/csv", key="sel_download")
    st.caption("Rank, sample id, file path and current label, in the order picked.")
with send:
    if labeling_queue is not None:
        with st.form("sel_queue_form"):
            queue_name = st.text_input("Labeling queue name", key="sel_queue_name", placeholder="e.g. batch-3")
            make = st.form_submit_button("Create labeling queue", key="sel_queue")
        if make:
            try:
                labeling_queue.create_queue(context.dataset(), queue_name, ids, created_by=context.annotator,
                                            source=f"selection: {result['strategy']}, {where}",
                                            field=context.label_field)
                st.success(f"Queue {md(repr(queue_name.strip()))} holds {len(ids):,} samples in the order picked; open the "
                           "**Labeling** page to work through it.")
            except ValueError as error:
                st.error(md(error))
