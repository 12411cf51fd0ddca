"""Guidelines: the class schema, the versioned labeling guideline with examples per class, and relabeling
the answers an older version decided."""

import pandas as pd
import streamlit as st

from sda2.curation import class_schema as cs, guidelines, relabel
from sda2.ui import guideline_widgets as gw, labeling_widgets as lw, review_widgets as rw, sample_grid
from sda2.ui.safe_text import md

context = st.session_state["context"]
dataset = context.dataset()
st.title("Guidelines")
rw.show_messages()
if not lw.require_annotator(context):
    st.stop()
who = context.annotator

# ---------------------------------------------------------------- class schema
schema = cs.class_schema(dataset)
st.subheader("Class schema" + (f" v{schema.version}" if schema else ""))
if schema is None:
    st.info("No class schema yet: list the classes below (name, description, key), or load a YAML/JSON file.")
known = guidelines.known_classes(dataset, context.label_field)
rows = [{"name": c.name, "description": c.description, "key": c.key or ""} for c in schema.classes] if schema \
    else [{"name": c, "description": "", "key": ""} for c in known]
with st.form("schema_form"):
    table = st.data_editor(pd.DataFrame(rows or [{"name": "", "description": "", "key": ""}],
                                        columns=["name", "description", "key"]),
                           num_rows="dynamic", hide_index=True, key="schema_editor", width="stretch")
    multi = st.checkbox("Multi-label (a sample may have several classes)",
                        value=bool(schema and schema.multi_label), key="schema_multi")
    upload = st.file_uploader("…or load a schema file", type=["yaml", "yml", "json"], key="schema_file")
    saved = st.form_submit_button("Save schema", type="primary")
if saved:
    if upload is not None:
        import tempfile
        from pathlib import Path

        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / Path(upload.name).name
            path.write_bytes(upload.getvalue())
            rw.apply(cs.set_class_schema, dataset, str(path), who, field=context.label_field,
                     success=f"Class schema loaded from {upload.name}.")
    else:
        entries = [{"name": r["name"], "description": r.get("description") or "", "key": r.get("key") or None}
                   for r in table.to_dict("records") if str(r.get("name") or "").strip()]
        rw.apply(cs.set_class_schema, dataset, entries, who, multi_label=multi, field=context.label_field,
                 success="Class schema saved.")
    st.rerun()

# ---------------------------------------------------------------- the guideline
current = guidelines.guideline(dataset)
version = current["version"] if current else 0
st.subheader(f"Guideline v{version}" if current else "Guideline (no version yet)")
state_key = f"guide_examples:{dataset.name}:{version}"
examples = st.session_state.setdefault(state_key, {c: {k: list(v) for k, v in kinds.items()}
                                                   for c, kinds in (current or {}).get("examples", {}).items()})
text = st.text_area("Guideline (Markdown)", value=(current or {}).get("text", ""), height=220, key=f"guide_text_{version}",
                    placeholder="# How to label\n- A cat seen from behind is still a cat.")
with st.expander("Preview", expanded=False):
    st.markdown(gw.guideline_markdown(text))

st.markdown("**Examples per class** (sample ids from this dataset; tick samples on the Samples page to pick them)")
classes = guidelines.known_classes(dataset, context.label_field)
if not classes:
    st.warning("No classes yet: save a class schema above first.")
    st.stop()
a, b = st.columns(2)
cls = a.selectbox("Class", classes, key="guide_class")
kind = b.selectbox("Kind", guidelines.KINDS, format_func=lambda k: guidelines.KIND_TITLES[k], key="guide_kind")
chosen = examples.get(cls, {}).get(kind, [])
ids_text = st.text_area("Sample ids (one per line)", value="\n".join(chosen), key=f"guide_ids_{version}_{cls}_{kind}")
typed = [line.strip() for line in ids_text.splitlines() if line.strip()]
if typed != chosen:
    examples.setdefault(cls, {})[kind] = typed
    chosen = typed
ticked = sorted(sample_grid.checked())
if st.button(f"Add the {len(ticked):,} samples ticked on the Samples page", key="guide_add_ticked",
             disabled=not ticked):
    examples.setdefault(cls, {})[kind] = list(dict.fromkeys(chosen + ticked))
    st.session_state.pop(f"guide_ids_{version}_{cls}_{kind}", None)
    st.rerun()
paths = guidelines.sample_filepaths(dataset, chosen)
unknown = [i for i in chosen if i not in paths]
if unknown:
    st.error(md(f"{len(unknown)} id(s) are not samples of this dataset, e.g. {unknown[0]}. Fix: paste ids from "
                "the Samples page or tick samples there."))
gw.example_grid(pd.DataFrame({"sample_id": list(paths), "filepath": list(paths.values())}), "guide_pick")

previous = set((current or {}).get("examples", {}))
touched = sorted(c for c in set(examples) | previous
                 if {k: v for k, v in examples.get(c, {}).items() if v} != (current or {}).get("examples", {}).get(c, {}))
with st.form("guide_save"):
    changed = st.multiselect("Classes whose rules changed (their answers under older versions can be relabeled)",
                             classes, default=[c for c in touched if c in classes], key=f"guide_changed_{version}")
    note = st.text_input("What changed (a note for labelers)", key=f"guide_note_{version}")
    save = st.form_submit_button(f"Save as version {version + 1}", type="primary")
if save:
    clean = {c: {k: v for k, v in kinds.items() if v} for c, kinds in examples.items()}
    if rw.apply(guidelines.save_guideline, dataset, text, {c: k for c, k in clean.items() if k}, changed, note, who,
                success=f"Guideline v{version + 1} saved."):
        st.session_state.pop(state_key, None)
    st.rerun()

# ---------------------------------------------------------------- history and relabeling
st.subheader("Version history")
history = gw.history_table(dataset)
if history.empty:
    st.caption("No version saved yet.")
else:
    st.dataframe(history, hide_index=True, key="guide_history")

if version > 1:
    st.subheader("Relabel for changed classes")
    st.caption("Queues the samples whose answers were given under an older version, for the classes changed since.")
    with st.form("relabel_form"):
        qname = st.text_input("Queue name", value=f"relabel v{version}", key="relabel_name")
        only = st.multiselect("Only these classes (empty: each answer's classes changed since its version)", classes,
                              key="relabel_classes")
        go = st.form_submit_button("Queue relabeling for changed classes", type="primary")
    if go:
        outdated = relabel.outdated_answers(dataset, only or None, context.label_field)
        n = len({a["sample_id"] for a in outdated})
        samples = f"{n:,} sample" + ("" if n == 1 else "s")
        if rw.apply(relabel.relabel_outdated, dataset, qname.strip(), only or None, who, context.label_field,
                    success=f"Queue {qname.strip()!r} made: {samples} to relabel."):
            st.session_state["labeling_queue"] = qname.strip()
            st.session_state["relabel_done"] = f"Queue {qname.strip()!r}: {samples} to relabel under v{version}."
        st.rerun()
    done = st.session_state.get("relabel_done")
    if done:
        st.success(md(done))
