"""Importers: every data source becomes records, and one writer stores them (see ``writer.py``)."""

from sda2.ingest.base import IngestError, IngestReport, Record, Skipped
from sda2.ingest.digits import DEFAULT_NAME, load_digits_dataset

load_default = load_digits_dataset

__all__ = ["DEFAULT_NAME", "IngestError", "IngestReport", "Record", "Skipped", "load_default", "load_digits_dataset"]
