"""A fine-tuning run killed mid-fold resumes at the unfinished fold, with the same fold assignments."""

import json
import os
from pathlib import Path

import numpy as np

from sda2 import arrays, store
from sda2.compute.finetune import assign_folds, finetune_predictions
from tests.conftest import private_copy
from tests.faults.conftest import run_killed

RUN = """
from sda2.compute.finetune import finetune_predictions
result = finetune_predictions({name!r}, folds=2, epochs=1, frozen_blocks=13, input_size=32, device="cpu",
                              progress=False)
print("finished", result.folds_reused)
"""


def test_a_kill_in_the_second_fold_resumes_there_with_the_same_folds(digits, dataset_name):
    ds = private_copy(digits, dataset_name, 60)
    # the epoch point passes once (fold 1's only epoch) and kills in fold 2, after fold 1 was saved
    run_killed(RUN.format(name=dataset_name), crash_at="finetune.epoch", crash_after=1)
    plans = list((arrays.folder(ds) / "finetune").glob("*/plan.json"))
    assert len(plans) == 1
    folder = Path(plans[0]).parent
    before = json.loads((folder / "plan.json").read_text())
    assert (folder / "fold_0.npz").exists() and not (folder / "fold_1.npz").exists()
    saved_at = os.stat(folder / "fold_0.npz").st_mtime_ns

    resumed = finetune_predictions(ds, folds=2, epochs=1, frozen_blocks=13, input_size=32, device="cpu",
                                   progress=False)  # the same call, in this process
    assert resumed.plan_dir == str(folder) and resumed.folds_reused == 1 and len(resumed.ids) == 60
    np.testing.assert_allclose(resumed.proba.sum(axis=1), 1, atol=1e-6)  # every sample predicted
    after = json.loads((folder / "plan.json").read_text())
    assert after == before  # same plan, same fold of every sample
    assert os.stat(folder / "fold_0.npz").st_mtime_ns == saved_at  # the finished fold was not trained again
    classes = store.classes(ds)
    codes = np.array([classes.index(v) for v in ds.values("ground_truth.label")])
    assert after["fold_of"] == assign_folds(codes, 2, 0)[0].tolist()
