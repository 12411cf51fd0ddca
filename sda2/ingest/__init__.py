"""Importers: every data source becomes records, and one writer stores them (see ``writer.py``).

Each returns an ``IngestReport`` (what was loaded, what was skipped and why) and takes ``mode``:
"error" (default: refuse an existing name), "overwrite" (replace it only once the new one is whole)
or "append" (add to it; same label kind).
"""

from sda2.ingest.base import IngestError, IngestReport, Record, Skipped
from sda2.ingest.coco import import_coco
from sda2.ingest.digits import DEFAULT_NAME, load_digits_dataset
from sda2.ingest.fiftyone_dataset import import_fiftyone
from sda2.ingest.folder import import_folder
from sda2.ingest.mnist import import_mnist
from sda2.ingest.table import import_table

load_default = load_digits_dataset

__all__ = ["DEFAULT_NAME", "IngestError", "IngestReport", "Record", "Skipped", "import_coco", "import_fiftyone",
           "import_folder", "import_mnist", "import_table", "load_default", "load_digits_dataset"]
