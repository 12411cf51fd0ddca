"""Label errors headless: jump to any suspect; batch-accept the sure suggestions with preview, apply and undo."""

from __future__ import annotations

import numpy as np
import pytest

from sda2 import arrays
from sda2.curation import audit, bulk
from tests.apptest import open_page
from tests.conftest import private_copy

PAGE = "app_pages/label_errors.py"
CONFIDENCE = [0.99, 0.98, 0.97, 0.90, 0.60, 0.50]  # of the suggestions of the six flagged samples


@pytest.fixture
def flagged(digits, dataset_name):
    """40 digits, six flagged with a suggestion of confidence CONFIDENCE; (dataset, flagged ids, labels, suggested)."""
    ds = private_copy(digits, dataset_name, 40)
    ids, labels = ds.values("id"), ds.values("ground_truth.label")
    rows = [3, 7, 11, 15, 19, 23]
    suggested = list(labels)
    for i in rows:
        suggested[i] = str((int(labels[i]) + 1) % 10)
    ds.set_values("label_quality", [0.05 * (rows.index(i) + 1) if i in rows else 1.0 for i in range(40)])
    ds.set_values("is_label_issue", [i in rows for i in range(40)])
    ds.set_values("suggested_label", suggested)
    probs = np.full((40, 10), 0.001)
    for i in range(40):
        probs[i, int(suggested[i])] = CONFIDENCE[rows.index(i)] if i in rows else 0.95
    arrays.save(ds, "probabilities", ids, probs, classes=[str(c) for c in range(10)])
    return ds, [ids[i] for i in rows], [labels[i] for i in rows], [suggested[i] for i in rows]


def _labels(ds, ids):
    return ds.select(ids, ordered=True).values("ground_truth.label")


def test_recommended_threshold_and_preview_are_exact(flagged):
    ds, ids, labels, suggested = flagged
    frame = bulk.suggestions(ds)
    assert frame["sample_id"].tolist() == ids and np.allclose(frame["confidence"], CONFIDENCE)
    assert bulk.recommended_threshold(frame["confidence"]) == pytest.approx(0.90)  # mean of the top 4 is 0.96
    assert bulk.recommended_threshold([0.6, 0.5]) is None
    preview = bulk.preview_accept(ds, 0.90)
    assert preview.change_ids == ids[:4] and preview.selected == 6
    assert int(preview.transitions["count"].sum()) == 4
    result = bulk.apply_bulk(ds, preview, "carol")
    assert _labels(ds, ids) == suggested[:4] + labels[4:]
    assert sorted(ds.match_tags("reviewed").values("id")) == sorted(ids[:4])
    assert audit.audit_log(ds)["batch_id"].nunique() == 1
    bulk.undo_bulk(ds, result, "carol")
    assert _labels(ds, ids) == labels and len(ds.match_tags("reviewed")) == 0
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        bulk.preview_accept(ds, 1.5)


def test_page_jumps_to_a_suspect_and_batch_accepts_with_preview_and_undo(flagged):
    ds, ids, labels, suggested = flagged
    at = open_page(PAGE, ds.name, "carol")
    at.selectbox(key="label_errors_jump_to").set_value(ids[3]).run()
    assert not at.exception, at.exception
    captions = [img.caption for element in at.get("image") for img in element.proto.imgs]
    assert any(ids[3] in c for c in captions) and not any(ids[0] in c for c in captions)  # the one jumped to
    assert at.selectbox(key=f"other_label_{ids[3]}") is not None
    assert at.slider(key="batch_accept_threshold").value == pytest.approx(0.90)  # the page's recommendation
    at.button(key="batch_accept_preview_button").click().run()
    assert "4 of 6 suspects would take their suggested label" in " ".join(m.value for m in at.markdown)
    assert _labels(ds, ids) == labels  # the preview wrote nothing
    at.button(key="batch_accept_apply").click().run()
    assert not at.exception, at.exception
    assert _labels(ds, ids) == suggested[:4] + labels[4:]
    at.button(key="batch_accept_undo").click().run()
    assert not at.exception, at.exception
    assert _labels(ds, ids) == labels
