"""The bulk action bar headless (AppTest) on the Samples page, the map and a confusion cell: preview, apply, undo."""

from __future__ import annotations

import numpy as np
import pytest

import sda2
from sda2.curation import audit
from fiftyone import ViewField as F  # noqa: E402  (after sda2, which points FiftyOne at the test database)
from tests.apptest import open_page
from tests.conftest import private_copy

PAGE = "app_pages/samples.py"


@pytest.fixture
def ds(digits, dataset_name):
    """A private copy of 30 digits with hand-made embeddings (sample 0's direction shared by samples 1-3)."""
    copy = private_copy(digits, dataset_name, 30)
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(30, 6)).astype(np.float32)
    vectors[1:4] = vectors[0] * np.array([1.5, 2.0, 3.0])[:, None]
    sda2.import_embeddings(copy, vectors, key="embeddings_test", ids=copy.values("id"))
    return copy


def _labels(ds, ids):
    view = ds.select(ids, ordered=True)
    return view.values("ground_truth.label")


def _text(at) -> str:
    return " ".join(m.value for m in at.markdown) + " " + " ".join(s.value for s in at.success)


def test_tick_tiles_preview_apply_and_undo_a_relabel(ds):
    ids = ds.values("id")
    at = open_page(PAGE, ds.name, "alice")
    assert not at.get("selectbox") or all(s.key != "samples_bulk_action" for s in at.selectbox)
    for sid in ids[:4]:
        at.checkbox(key=f"samples_check_{sid}").check().run()
    assert "4 selected" in _text(at)
    before = _labels(ds, ids[:4])
    target = "7" if "7" not in before else "8"
    at.selectbox(key="samples_bulk_action").set_value("Relabel").run()
    at.selectbox(key="samples_bulk_label").set_value(target).run()
    assert not [b for b in at.button if b.key == "samples_bulk_apply"]  # no apply before a preview
    at.button(key="samples_bulk_preview_button").click().run()
    assert "4 of 4 selected sample(s) change" in _text(at)
    table = next(d.value for d in at.dataframe if "count" in d.value.columns)
    assert int(table["count"].sum()) == 4 and set(table["new"]) == {target}
    assert _labels(ds, ids[:4]) == before  # a preview writes nothing
    at.button(key="samples_bulk_apply").click().run()
    assert not at.exception, at.exception
    assert _labels(ds, ids[:4]) == [target] * 4
    log = audit.audit_log(ds)
    assert len(log) == 4 and log["batch_id"].nunique() == 1 and set(log["annotator"]) == {"alice"}
    assert "Changed 4 sample(s)" in _text(at)
    at.button(key="samples_bulk_undo").click().run()
    assert not at.exception, at.exception
    assert _labels(ds, ids[:4]) == before
    assert any("4 sample(s) restored" in i.value for i in at.info)


def test_select_all_matching_then_tag_and_a_changed_action_drops_the_preview(ds):
    at = open_page(PAGE, ds.name, "alice")
    at.multiselect(key="samples_labels").set_value(["3"]).run()
    matching = ds.match(F("ground_truth.label") == "3").values("id")
    at.button(key="samples_select_all").click().run()
    assert f"{len(matching)} selected" in _text(at)
    at.selectbox(key="samples_bulk_action").set_value("Add tag").run()
    at.text_input(key="samples_bulk_tag").input("look <b>again</b>").run()
    at.button(key="samples_bulk_preview_button").click().run()
    assert f"{len(matching)} of {len(matching)} selected" in _text(at)
    at.text_input(key="samples_bulk_tag").input("other").run()  # the preview no longer matches: gone
    assert not [b for b in at.button if b.key == "samples_bulk_apply"]
    at.text_input(key="samples_bulk_tag").input("look <b>again</b>").run()
    at.button(key="samples_bulk_preview_button").click().run()
    at.button(key="samples_bulk_apply").click().run()
    assert sorted(ds.match_tags("look <b>again</b>").values("id")) == sorted(matching)
    at.button(key="samples_select_clear").click().run()
    assert "Tick tiles to act on many samples at once." in _text(at)


def test_find_similar_shows_the_nearest_and_acts_on_them(ds):
    ids = ds.values("id")
    at = open_page(PAGE, ds.name, "alice")
    at.button(key=f"samples_pick_{ids[0]}").click().run()
    at.button(key="samples_find_similar").click().run()
    at.selectbox(key="similar_embeddings").set_value("embeddings_test").run()
    at.number_input(key="similar_k").set_value(3).run()
    assert not at.exception, at.exception
    shown = [b.key[len("similar_pick_"):] for b in at.button if b.key and b.key.startswith("similar_pick_")]
    assert set(shown) == set(ids[1:4])
    at.selectbox(key="similar_bulk_action").set_value("Mark").run()
    at.selectbox(key="similar_bulk_mark").set_value("ambiguous").run()
    at.button(key="similar_bulk_preview_button").click().run()
    at.button(key="similar_bulk_apply").click().run()
    assert sorted(ds.match_tags("ambiguous").values("id")) == sorted(ids[1:4])


def _predict(ds, wrong: int = 6) -> None:
    """Predictions on ``ds``: the first ``wrong`` samples predicted as label + 1, the rest right."""
    import fiftyone as fo

    truth = [int(v) for v in ds.values("ground_truth.label")]
    predicted = [(t + 1) % 10 if i < wrong else t for i, t in enumerate(truth)]
    ds.set_values("predictions", [fo.Classification(label=str(p), confidence=0.9) for p in predicted])


def test_new_prediction_field_shows_at_once_and_a_confusion_cell_is_acted_on(ds):
    at = open_page(PAGE, ds.name, "alice")
    assert "prediction field **none**" in " ".join(c.value for c in at.caption)
    _predict(ds)  # computed meanwhile (as the Evaluation page's button does)
    at.run()
    assert not at.exception, at.exception
    assert "prediction field **predictions**" in " ".join(c.value for c in at.caption)
    assert at.multiselect(key="samples_predictions") is not None

    at.switch_page("app_pages/evaluation.py").run()
    assert not at.exception, at.exception
    first = ds.first()
    true_cls, pred_cls = first.ground_truth.label, first.predictions.label
    cell = [s.id for s in ds.select_fields(["ground_truth", "predictions"])
            if s.ground_truth.label == true_cls and s.predictions.label == pred_cls]
    at.selectbox(key="cm_true").set_value(true_cls).run()
    at.selectbox(key="cm_pred").set_value(pred_cls).run()
    at.selectbox(key="cm_bulk_action").set_value("Relabel").run()
    at.selectbox(key="cm_bulk_label").set_value(pred_cls).run()
    at.button(key="cm_bulk_preview_button").click().run()
    at.button(key="cm_bulk_apply").click().run()
    assert not at.exception, at.exception
    assert set(ds.select(cell).values("ground_truth.label")) == {pred_cls}
    at.button(key="cm_bulk_undo").click().run()
    assert set(ds.select(cell).values("ground_truth.label")) == {true_cls}
