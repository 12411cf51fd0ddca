"""Image-quality checks: blurry, dark, light, low information, odd size, odd aspect ratio, grayscale.

One check per kind, as cleanvision has (``is_blurry_issue`` / ``blurry_score`` ...), all scored from one
read of the images (``sda2.compute.image_quality``, cached) by ``sda2.analysis.image_quality``, where the
measures and thresholds are explained. Options per check: ``threshold`` (a score below it is flagged).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sda2.analysis.image_quality import CHECKS, quality_scores
from sda2.compute.image_quality import image_properties_frame
from sda2.issues.base import IssueCheck, IssueContext, IssueResult
from sda2.issues.registry import register

DESCRIPTIONS = {
    "blurry": "Blurry: much less fine detail than the dataset's typical image.",
    "dark": "Too dark: even its brightest pixels are dim.",
    "light": "Too bright: even its darkest pixels are light (washed out).",
    "low_information": "Little information: few distinct gray levels, unusually few for this dataset.",
    "odd_size": "Odd size: half or double the dataset's usual size, and unusual here.",
    "odd_aspect_ratio": "Odd aspect ratio: one side at least twice the other, unusual here.",
    "grayscale": "Grayscale among colour images.",
}


def quality_frame(context: IssueContext) -> pd.DataFrame:
    """Every image-quality score and flag, once per context (thresholds from each check's options)."""
    thresholds = {name: context.options_for(name)["threshold"] for name in CHECKS
                  if "threshold" in context.options_for(name)}

    def compute() -> pd.DataFrame:
        properties = image_properties_frame(context.dataset, progress=context.progress).reindex(context.ids)
        return quality_scores(properties, thresholds)

    return context.shared(("image_quality", tuple(sorted(thresholds.items()))), compute)


class ImageQualityCheck(IssueCheck):
    """One image-quality check; :data:`CHECKS` names them (one subclass each)."""

    needs = ("images",)

    def find(self, context: IssueContext) -> IssueResult:
        """The check's columns of the shared image-quality frame."""
        frame = quality_frame(context)
        scores = frame[self.score_field].to_numpy(dtype=np.float64)
        summary = {k: v for k, v in frame.attrs.items() if k != "thresholds"}
        summary["threshold"] = frame.attrs["thresholds"][self.name]
        return self.result(context, frame[self.flag_field].to_numpy(dtype=bool), scores, summary)


for _name in CHECKS:
    register(type(f"{_name.title().replace('_', '')}Check", (ImageQualityCheck,),
                  {"name": _name, "description": DESCRIPTIONS[_name], "__module__": __name__,
                   "__doc__": DESCRIPTIONS[_name]}))
