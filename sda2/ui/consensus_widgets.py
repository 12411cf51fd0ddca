"""Streamlit pieces for consensus and planning: pick an aggregation method, see each labeler's estimated accuracy,
and find the cheapest labeling plan (answers per item, review share, honeypots) that reaches a target accuracy."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from sda2.analysis import consensus, reliability
from sda2.explore import consensus_inputs
from sda2.ui.safe_text import escape_figure, md

METHOD_NAMES = {"auto": "auto (sda2 EM)", "sda2": "sda2 EM (sparse, prior and gold)", "majority": "majority vote",
                "dawid_skene": "Dawid–Skene", "one_coin": "one-coin Dawid–Skene", "glad": "GLAD",
                "mace": "MACE"}


def answers_frame(records: pd.DataFrame) -> pd.DataFrame:
    """Annotation records (sample_id, annotator, label) as consensus answers (item, worker, label)."""
    frame = records.rename(columns={"sample_id": "item", "annotator": "worker"})
    return frame.loc[frame["label"].notna(), ["item", "worker", "label"]].astype(str)


def accuracy_figure(result: consensus.ConsensusResult, counts: pd.Series) -> go.Figure:
    """Bars: each labeler's estimated accuracy (answers in the hover), lowest first."""
    acc = result.worker_accuracy.sort_values()
    fig = go.Figure(go.Bar(x=[str(w) for w in acc.index], y=acc.round(4).tolist(), marker_color="#4c78a8",
                           customdata=counts.reindex(acc.index).fillna(0).astype(int).tolist(),
                           hovertemplate="%{x}: %{y:.1%} estimated accuracy, %{customdata} answers<extra></extra>"))
    fig.update_layout(title=f"Estimated accuracy per labeler ({METHOD_NAMES.get(result.method, result.method)})",
                      yaxis=dict(title="estimated accuracy", tickformat=".0%", range=[0, 1]),
                      xaxis=dict(title="labeler", type="category"), height=340, margin=dict(t=50, b=40))
    return escape_figure(fig)


def before_after(plain: consensus.ConsensusResult, result: consensus.ConsensusResult, majority: pd.Series,
                 anchors: pd.Series) -> pd.DataFrame:
    """Answers only vs. with the model prior and/or gold: mean confidence, items differing from the majority and
    from the answers-only consensus, and (with gold) how many gold items the consensus gets right."""
    added = " and ".join(name for name, what in (("model prior", "prior"), ("gold", "gold")) if result.info.get(what))
    rows = []
    for name, r in (("answers only", plain), (f"with {added}", result)):
        labels = r.labels.reindex(majority.index)
        right = int((r.labels.reindex(anchors.index) == anchors).sum())
        rows.append({"consensus": name, "mean confidence": round(float(r.confidence.mean()), 4),
                     "items ≠ majority": int((labels != majority).sum()),
                     "items ≠ answers only": int((labels != plain.labels.reindex(majority.index)).sum()),
                     "gold items right": f"{right} of {len(anchors)}" if len(anchors) else "—"})
    return pd.DataFrame(rows)


def consensus_section(records: pd.DataFrame, key: str = "consensus", dataset=None,
                      pred_field: str | None = "predictions") -> None:
    """Method picker, the model prior and gold anchors (with ``dataset``: checkboxes, figures before/after), the
    consensus in one line, labelers' estimated accuracy and the planner."""
    answers = answers_frame(records)
    if answers.empty:
        st.info("No answers yet: consensus and the planner need labels from the Labeling page.")
        return
    method = st.selectbox("Consensus method", list(METHOD_NAMES), format_func=METHOD_NAMES.get, key=f"{key}_method",
                          help="auto uses sda2's sparse EM: each labeler's accuracy and the items' labels are "
                               "estimated together; the others are crowd-kit's.")
    items = answers["item"].unique()
    prior = consensus_inputs.model_prior(dataset, items, pred_field) if dataset is not None else None
    anchors = consensus_inputs.gold_anchors(dataset, items) if dataset is not None else pd.Series(dtype=str)
    own = method in ("auto", "sda2")
    a, b = st.columns(2)
    use_prior = a.checkbox("Model probabilities as prior", key=f"{key}_prior", disabled=prior is None or not own,
                           help="the stored out-of-fold probabilities of the prediction field replace the class "
                                "shares as each item's prior" if prior is not None else
                                "needs stored probabilities for every answered sample (Evaluation page: predict)")
    use_gold = b.checkbox(f"Gold answers as anchors ({len(anchors):,} answered gold item(s))", key=f"{key}_gold",
                          disabled=anchors.empty or not own, help="gold items keep their known label; labelers' "
                                                                  "accuracy is learnt from them too")
    if not own and (prior is not None or not anchors.empty):
        st.caption("The model prior and gold anchors need the sda2 EM (auto): crowd-kit's methods take neither.")
    try:
        result = consensus.aggregate_answers(answers, method=method)
        plain = result
        if own and ((use_prior and prior is not None) or (use_gold and not anchors.empty)):
            result = consensus.aggregate_answers(answers, method=method, probabilities=prior if use_prior else None,
                                                 gold=anchors if use_gold and not anchors.empty else None)
    except (ValueError, ImportError) as error:
        st.error(md(str(error)))
        return
    majority = answers.groupby("item")["label"].agg(lambda s: s.value_counts().index[0])
    changed = int((result.labels.reindex(majority.index) != majority).sum())
    st.caption(md(result.summary()) + f" It differs from the plain majority on {changed:,} item(s).")
    if result is not plain:
        st.dataframe(before_after(plain, result, majority, anchors), hide_index=True, key=f"{key}_before_after")
    counts = answers.groupby("worker").size()
    st.plotly_chart(accuracy_figure(result, counts), key=f"{key}_accuracy")
    st.subheader("Plan for a target accuracy")
    st.caption("How far to trust a plan: it simulates labelers of the measured accuracies whose errors are "
               "independent. Real crowds' errors coincide on hard items, so plans without review come out "
               "optimistic: replayed on CIFAR-10N's real answers, 3 answers per item were predicted at 95.4 % and "
               "delivered 91.2 %, while the plan with review was predicted at 99.0 % and delivered 99.0 %. Prefer "
               "plans that review the least certain items, and check a sample against gold.")
    cols = st.columns(4)
    target = cols[0].number_input("Target accuracy (%)", 80.0, 99.9, 99.0, 0.1, key=f"{key}_target") / 100
    honeypots = cols[1].number_input("Honeypot rate (%)", 0.0, 50.0, 5.0, 1.0, key=f"{key}_honeypots") / 100
    reviewer = cols[2].number_input("Reviewer accuracy (%)", 50.0, 100.0, 99.0, 0.5, key=f"{key}_reviewer") / 100
    review_cost = cols[3].number_input("A review costs (answers)", 0.1, 10.0, 1.0, 0.1, key=f"{key}_review_cost")
    classes = max(int(answers["label"].nunique()), 2)
    if st.button("Find the cheapest plan", key=f"{key}_plan"):
        with st.spinner("Simulating plans…"):
            best, table = reliability.cheapest_plan(result.worker_accuracy, target=target, honeypot_rate=honeypots,
                                                    reviewer_accuracy=reviewer, review_cost=review_cost,
                                                    classes=classes, weights=counts)
        if best is None:
            st.warning(f"No plan with up to 7 answers per item reaches {target:.1%} with these labelers. Fix: raise "
                       "the reviewer accuracy or the honeypot rate (weak labelers get paused), or lower the target.")
        else:
            st.success(f"Cheapest plan for {target:.1%}: {best.answers_per_item} answer(s) per item, "
                       f"{best.review_share:.0%} of items reviewed (least certain first), {honeypots:.0%} honeypots "
                       f"→ expected accuracy {best.accuracy:.2%} "
                       f"({best.accuracy_low:.2%}–{best.accuracy_high:.2%}) "
                       f"at {best.cost:.2f} answers per item.")
        shown = table.assign(accuracy=(table["accuracy"] * 100).round(2), cost=table["cost"].round(2),
                             review_share=(table["review_share"] * 100).round(0))
        st.dataframe(shown[["answers_per_item", "review_share", "accuracy", "cost", "workers_kept", "meets_target"]]
                     .rename(columns={"answers_per_item": "answers per item", "review_share": "reviewed (%)",
                                      "accuracy": "expected accuracy (%)", "cost": "answers per item, all in",
                                      "workers_kept": "labelers kept", "meets_target": "meets target"}),
                     hide_index=True)
