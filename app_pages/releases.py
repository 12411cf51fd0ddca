"""Releases: snapshot the dataset as a version, compare versions, export one, download its quality report."""

import tempfile
from pathlib import Path

import streamlit as st

from sda2.report import export
from sda2.curation import release_diff, releases
from sda2.report import figures, quality_report
from sda2.ui.safe_text import md
from sda2.ui.collection_widgets import collection_section

context = st.session_state["context"]
name = context.dataset_name
st.title(f"Releases of {md(name)}")
st.caption("A release is an immutable snapshot of the samples, labels, splits and marks: later edits never change "
           "it. Compare releases, export one in a standard format, and hand it over with its quality report.")

with st.form("make_release"):
    st.subheader("Make a release")
    left, mid, right = st.columns(3)
    version = left.text_input("Version", key="release_version", placeholder="e.g. v1")
    guideline = mid.text_input("Labeling guideline version", key="release_guideline", placeholder="optional")
    notes = right.text_input("Notes", key="release_notes", placeholder="what changed, for whom")
    if st.form_submit_button("Make release", key="make_release_button"):
        try:
            info = releases.create_release(name, version.strip(), context.annotator, notes=notes,
                                           guideline_version=guideline.strip() or None)
            st.success(f"Released {md(info.dataset)}@{md(info.version)}: {info.samples:,} samples, "
                       f"{info.excluded:,} excluded, {info.stored_rows:,} rows stored.")
        except (ValueError, KeyError) as exc:
            st.error(md(str(exc)))

infos = releases.list_releases(name)
if not infos:
    st.info("No releases yet. Make the first one above (e.g. version v1).")
    st.stop()
st.subheader("Releases")
st.dataframe([{"version": r.version, "made at": f"{r.created_at:%Y-%m-%d %H:%M} UTC", "by": r.created_by,
               "samples": r.samples, "excluded": r.excluded, "ambiguous": r.ambiguous,
               "guideline": r.guideline, "stored rows": r.stored_rows, "notes": r.notes} for r in infos],
             hide_index=True, key="release_table")
versions = [r.version for r in infos]

st.subheader("Compare")
left, right = st.columns(2)
old = left.selectbox("From release", versions, index=len(versions) - 1, key="diff_old")
new = right.selectbox("To", [release_diff.NOW] + versions[::-1], key="diff_new",
                      help="'now' is the dataset as it is, with every edit since the release.")
result = release_diff.diff(name, old, new)
summary = result.summary
cols = st.columns(6)
for col, (key, label) in zip(cols, [("added", "Added"), ("removed", "Removed"), ("excluded", "Excluded"),
                                    ("restored", "Restored"), ("label", "Labels changed"), ("split", "Split moved")]):
    col.metric(label, f"{summary[key]:,}")
st.plotly_chart(figures.shift_figure(result.distribution, old, new), key="diff_shift")
st.dataframe(result.changes.assign(old_label=result.changes["old_label"].map(release_diff.label_text),
                                   new_label=result.changes["new_label"].map(release_diff.label_text)),
             hide_index=True, key="diff_changes")
st.download_button("Download the changes (CSV)", result.to_csv(), file_name=f"{name}_{old}_to_{new}.csv",
                   key="diff_csv")

collection_section(name, versions)

st.subheader("Export")
left, mid, right = st.columns(3)
exp_version = left.selectbox("Release", versions[::-1], key="export_version")
fmt = mid.selectbox("Format", [f for f, kinds in export.FORMATS.items() if context.label_kind in kinds],
                    key="export_format")
out = right.text_input("Into folder (new or empty)", key="export_out", placeholder="/path/to/hand-off")
allow = st.checkbox("Export even when near-duplicates span splits (warn instead of refusing)", key="export_allow")
if st.button("Export", key="export_button", disabled=not out.strip()):
    try:
        report = export.export_dataset(name, fmt, out.strip(), version=exp_version, allow_cross_split=allow)
        st.success(md(report.summary()))
    except (ValueError, KeyError, RuntimeError) as exc:
        st.error(md(str(exc)))

st.subheader("Quality report")
rep_version = st.selectbox("Release", versions[::-1], key="report_version")
if st.button("Build the report", key="report_button"):
    with st.spinner("Writing the report…"):
        page = quality_report.build_report(name, version=rep_version).html()
    st.session_state["report_html"] = (rep_version, page)
built = st.session_state.get("report_html")
if built and built[0] == rep_version:
    st.download_button("Download report (HTML)", built[1], file_name=f"{name}_{rep_version}_report.html",
                       mime="text/html", key="report_download")
    if st.button("Also print it to PDF", key="report_pdf"):
        with tempfile.TemporaryDirectory() as folder:
            html_path = Path(folder) / "report.html"
            html_path.write_text(built[1], encoding="utf-8")
            try:
                pdf = quality_report.print_pdf(html_path, html_path.with_suffix(".pdf")).read_bytes()
                st.download_button("Download report (PDF)", pdf, file_name=f"{name}_{rep_version}_report.pdf",
                                   mime="application/pdf", key="report_pdf_download")
            except RuntimeError as exc:
                st.error(md(str(exc)))
