"""sda2, a Software 2.0 IDE: the notebook API. A notebook and an app page call the same functions.

    import sda2
    sda2.load_default()                      # the embedded digits dataset
    ds = sda2.open_dataset("digits")
    sda2.class_distribution(ds)              # a pandas DataFrame

Names are imported on first use, so ``import sda2`` is fast and starts no database until one is needed.
"""

from __future__ import annotations

import importlib

from sda2 import database as _database

_database.export_environment()

# public name -> module that defines it (or "module:attribute" where the names differ)
_API = {
    "list_datasets": "sda2.store",
    "create_account": "sda2.accounts",
    "list_accounts": "sda2.accounts",
    "disable_account": "sda2.accounts",
    "enable_account": "sda2.accounts",
    "set_role": "sda2.accounts",
    "set_password": "sda2.accounts",
    "verify_account": "sda2.accounts:verify",
    "team_mode": "sda2.accounts",
    "open_dataset": "sda2.store",
    "delete_dataset": "sda2.store",
    "label_fields": "sda2.store",
    "classes": "sda2.store",
    "splits": "sda2.store",
    "load_default": "sda2.ingest",
    "import_folder": "sda2.ingest",
    "import_table": "sda2.ingest",
    "import_coco": "sda2.ingest",
    "import_mnist": "sda2.ingest",
    "import_fiftyone": "sda2.ingest",
    # see the data
    "dataset_overview": "sda2.explore.overview",
    "class_distribution": "sda2.explore.overview",
    "tag_cooccurrence": "sda2.explore.overview",
    "query_samples": "sda2.explore.browse",
    "filter_samples": "sda2.explore.browse",
    "sort_samples": "sda2.explore.browse",
    "page_rows": "sda2.explore.browse",
    "numeric_fields": "sda2.explore.browse",
    "sample_fields": "sda2.explore.browse",
    "class_probabilities": "sda2.explore.browse",
    "sample_tags": "sda2.explore.browse",
    "field_range": "sda2.explore.browse",
    "fiftyone_app_url": "sda2.explore.fiftyone_app:app_url",
    "launch_fiftyone_app": "sda2.explore.fiftyone_app:launch",
    # model in the loop
    "compute_predictions": "sda2.compute.predictions",
    "finetune_predictions": "sda2.compute.finetune",
    "recommended_model": "sda2.compute.finetune",
    "import_predictions": "sda2.compute.predictions",
    "evaluate": "sda2.explore.evaluation",
    "failure_by": "sda2.explore.evaluation",
    "failure_fields": "sda2.explore.evaluation",
    "save_thresholds": "sda2.explore.evaluation",
    "load_thresholds": "sda2.explore.evaluation",
    "has_predictions": "sda2.explore.evaluation",
    # labeling quality
    "agreement_report": "sda2.explore.labeler_quality",
    "efficiency_report": "sda2.explore.labeler_quality",
    "annotation_records": "sda2.explore.labeler_quality",
    "AgreementReport": "sda2.explore.labeler_quality",
    "EfficiencyReport": "sda2.explore.labeler_quality",
    "aggregate_answers": "sda2.analysis.consensus",
    "plan_labeling": "sda2.analysis.reliability:plan_accuracy",
    "cheapest_plan": "sda2.analysis.reliability",
    # curation: the one write path for human decisions
    "set_label": "sda2.curation.edits",
    "set_labels": "sda2.curation.edits",
    "mark": "sda2.curation.edits",
    "tag": "sda2.curation.edits",
    "untag": "sda2.curation.edits",
    "review": "sda2.curation.edits",
    "resolve_group": "sda2.curation.edits",
    "undo": "sda2.curation.edits",
    "undo_last": "sda2.curation.edits",
    "preview_bulk": "sda2.curation.bulk",
    "apply_bulk": "sda2.curation.bulk",
    "undo_bulk": "sda2.curation.bulk",
    "bulk_relabel": "sda2.curation.bulk",
    "bulk_tag": "sda2.curation.bulk",
    "bulk_mark": "sda2.curation.bulk",
    "bulk_exclude": "sda2.curation.bulk",
    "bulk_queue": "sda2.curation.bulk",
    "find_similar": "sda2.compute.similar",
    "EditConflict": "sda2.curation.edits",
    "audit_log": "sda2.curation.audit",
    "export_log": "sda2.curation.audit",
    "reconcile_audit_log": "sda2.curation.audit:reconcile",
    "training_view": "sda2.curation.queries",
    "review_queue": "sda2.curation.queries",
    "review_progress": "sda2.curation.queries",
    "duplicate_groups": "sda2.curation.queries",
    "IngestReport": "sda2.ingest",
    "IngestError": "sda2.ingest",
    # embeddings, maps, detectors, labeling and selection
    "compute_embeddings": "sda2.compute.embeddings",
    "import_embeddings": "sda2.compute.embeddings",
    "load_embeddings": "sda2.compute.embeddings",
    "embedding_keys": "sda2.compute.embeddings",
    "compute_map": "sda2.compute.projection",
    "list_runs": "sda2.compute.results",
    "delete_run": "sda2.compute.results",
    "run_staleness": "sda2.compute.results",
    "label_version": "sda2.label_versions",
    "load_map": "sda2.compute.projection",
    "map_status": "sda2.compute.projection",
    "map_info": "sda2.compute.projection",
    "map_frame": "sda2.explore.map_frame",
    "tag_samples": "sda2.curation.saved_views",
    "save_view": "sda2.curation.saved_views",
    "saved_views": "sda2.curation.saved_views",
    "load_view": "sda2.curation.saved_views",
    "delete_view": "sda2.curation.saved_views",
    "find_label_issues": "sda2.analysis.label_issues",
    "find_detection_issues": "sda2.analysis.label_issues",
    "label_quality_scores": "sda2.analysis.label_issues",
    "find_duplicates": "sda2.analysis.duplicates",
    "detect_label_issues": "sda2.compute.label_issues",
    "detect_duplicates": "sda2.compute.duplicates",
    "read_duplicate_groups": "sda2.compute.duplicates",
    # issue checks: one contract, a registry, one writer
    "issue_types": "sda2.issues.registry",
    "register_issue": "sda2.issues.registry:register",
    "find_issues": "sda2.issues.find",
    "issue_overview": "sda2.issues.find",
    "delete_issue_result": "sda2.issues.writer:delete_result",
    "create_queue": "sda2.curation.queue",
    "next_item": "sda2.curation.queue",
    "submit": "sda2.curation.queue",
    "skip": "sda2.curation.queue",
    "back": "sda2.curation.queue",
    "adjudicate": "sda2.curation.queue",
    "progress": "sda2.curation.queue",
    "labeler_progress": "sda2.curation.queue",
    "labelers": "sda2.curation.queue",
    "disagreements": "sda2.curation.queue",
    "list_queues": "sda2.curation.queue",
    "delete_queue": "sda2.curation.queue",
    "items_frame": "sda2.curation.queue",
    "record_annotation": "sda2.curation.annotations",
    "annotations_frame": "sda2.curation.annotations",
    "update_queue": "sda2.curation.queue",
    "set_gold": "sda2.curation.gold",
    "unset_gold": "sda2.curation.gold",
    "gold_items": "sda2.curation.gold",
    "create_qualification": "sda2.curation.gold",
    "qualification_status": "sda2.curation.gold",
    "qualification_next": "sda2.curation.gold",
    "answer_qualification": "sda2.curation.gold",
    "reset_qualification": "sda2.curation.gold",
    "set_pause_threshold": "sda2.curation.gold",
    "lift_pause": "sda2.curation.gold",
    "gold_accuracy": "sda2.curation.gold",
    "LabelerBlocked": "sda2.curation.gold",
    "next_review": "sda2.curation.review_stage",
    "review_answer": "sda2.curation.review_stage",
    "rework_items": "sda2.curation.review_stage",
    "review_summary": "sda2.curation.review_stage",
    "team_figures": "sda2.explore.team_figures",
    "class_schema": "sda2.curation.class_schema",
    "set_class_schema": "sda2.curation.class_schema",
    "save_guideline": "sda2.curation.guidelines",
    "guideline": "sda2.curation.guidelines",
    "guideline_history": "sda2.curation.guidelines",
    "relabel_outdated": "sda2.curation.relabel",
    "select_samples": "sda2.explore.label_next",
    "save_selection": "sda2.explore.label_next",
    "compare_selection": "sda2.explore.label_next",
    "export_selection": "sda2.explore.label_next",
    "selection_table": "sda2.explore.label_next",
    "pool_ids": "sda2.explore.label_next",
    "data_efficiency": "sda2.analysis.data_efficiency",
    "labels_needed": "sda2.analysis.data_efficiency",
    "label_savings": "sda2.analysis.data_efficiency",
    "autolabel_preview": "sda2.curation.autolabel:preview",
    "apply_autolabels": "sda2.curation.autolabel:apply",
    "undo_autolabels": "sda2.curation.autolabel:undo",
    "replace_labels_from_predictions": "sda2.curation.autolabel",
    "create_spot_check": "sda2.curation.autolabel",
    "spot_check_report": "sda2.curation.autolabel",
    # hand-off: releases, diffs, exports, the quality report
    "create_release": "sda2.curation.releases",
    "list_releases": "sda2.curation.releases",
    "release_info": "sda2.curation.releases",
    "release_frame": "sda2.curation.releases",
    "release_dataset": "sda2.curation.releases",
    "diff_releases": "sda2.curation.release_diff:diff",
    "export_dataset": "sda2.report.export",
    "quality_report": "sda2.report.quality_report:build_report",
    "write_report": "sda2.report.quality_report",
}

__all__ = sorted(_API)


def __getattr__(name: str):
    if name not in _API:
        raise AttributeError(f"module 'sda2' has no attribute {name!r}")
    module, _, attribute = _API[name].partition(":")
    value = getattr(importlib.import_module(module), attribute or name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))
