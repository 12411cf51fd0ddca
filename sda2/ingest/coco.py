"""COCO object-detection JSON: every image becomes a sample, its boxes ``fo.Detections``.

Boxes are stored as FiftyOne does, [x, y, width, height] relative to the image (0..1), from COCO's
absolute pixels and the image size in the JSON (or in the image's header when the JSON has none).
An annotation whose category or image is unknown, or whose box is not a positive [x, y, w, h], is
skipped with the reason; an image without annotations gets empty ``Detections``. ``iscrowd`` is kept
as a box attribute; segmentations and keypoints are not imported. Each sample keeps its COCO image id
in the ``coco_id`` field. Images are looked up in ``images_dir``; by default the first of the JSON's
folder, its ``images/`` sub-folder and ``../images`` that holds the first image.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

from sda2.ingest.base import Box, IngestError, IngestReport, Mode, Record, Skipped, paused_gc
from sda2.ingest.writer import ImageInfo, check_target, image_info, write_dataset


def _load(json_path: Path) -> dict:
    try:
        with open(json_path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise IngestError(f"{json_path} not found. Fix: give the path of a COCO annotations JSON file.") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise IngestError(f"{json_path} is not valid JSON ({exc}). Fix: repair or re-export the file.") from None
    if not isinstance(data, dict) or not isinstance(data.get("images"), list) \
            or not isinstance(data.get("categories"), list):
        keys = ", ".join(data) if isinstance(data, dict) else type(data).__name__
        raise IngestError(f"{json_path} is not COCO detection JSON: it needs 'images' and 'categories' lists "
                          f"(it has: {keys}). Fix: export the annotations in COCO format.")
    return data


def _images_dir(json_path: Path, images: list[dict]) -> Path:
    folder = json_path.parent
    candidates = [folder, folder / "images", folder.parent / "images"]
    first = next((im.get("file_name") for im in images if im.get("file_name")), None)
    for candidate in candidates:
        if first and (candidate / first).exists():
            return candidate
    return folder


def _box(annotation: dict, size: tuple[float, float], categories: dict) -> Box | str:
    """The annotation as a relative box, or the reason it is skipped."""
    category = annotation.get("category_id")
    if category not in categories:
        known = ", ".join(str(k) for k in list(categories)[:15])
        return f"category_id {category!r} is not in categories (ids: {known}); fix the id or add the category"
    bbox = annotation.get("bbox")
    if not (isinstance(bbox, list) and len(bbox) == 4 and all(isinstance(v, (int, float)) for v in bbox)
            and all(math.isfinite(v) for v in bbox) and bbox[2] > 0 and bbox[3] > 0):
        return f"bbox {bbox!r} is not [x, y, width, height] with a positive width and height; fix or remove it"
    width, height = size
    attributes = {"iscrowd": int(annotation["iscrowd"])} if "iscrowd" in annotation else {}
    return Box(categories[category], [bbox[0] / width, bbox[1] / height, bbox[2] / width, bbox[3] / height],
               attributes)


def coco_records(json_path: Path, images_dir: Path | None = None) -> tuple[list[Record], list[Skipped], list[str],
                                                                           list[str]]:
    """(records, skipped items, notes, class names in category-id order) from a COCO JSON file."""
    data = _load(json_path)
    categories = {}
    for c in data["categories"]:
        if not isinstance(c, dict) or "id" not in c or not str(c.get("name") or "").strip():
            raise IngestError(f"{json_path.name}: category {c!r} needs an 'id' and a 'name'. Fix: complete it.")
        categories[c["id"]] = str(c["name"]).strip()
    images_dir = Path(images_dir) if images_dir else _images_dir(json_path, data["images"])
    skipped: list[Skipped] = []
    images: dict = {}
    for im in data["images"]:
        if not isinstance(im, dict) or "id" not in im or not im.get("file_name"):
            skipped.append(Skipped(f"{json_path.name} image {im!r:.80}",
                                   "needs an 'id' and a 'file_name'; complete it"))
        elif im["id"] in images:
            skipped.append(Skipped(f"image id {im['id']} ({im['file_name']})",
                                   f"id used already by {images[im['id']]['file_name']}; give each image its own id"))
        else:
            images[im["id"]] = im
    boxes: dict = {image_id: [] for image_id in images}
    sizes: dict = {}
    for ann in data.get("annotations") or []:
        item = f"annotation {ann.get('id', '?')}"
        image = images.get(ann.get("image_id"))
        if image is None:
            skipped.append(Skipped(item, f"image_id {ann.get('image_id')!r} is not in images; fix the id or "
                                         "remove the annotation"))
            continue
        if image["id"] not in sizes:
            sizes[image["id"]] = _size(image, images_dir)
        size = sizes[image["id"]]
        box = _box(ann, size, categories) if size else "the image's size is unknown (not in the JSON and the " \
                                                        "file is unreadable); fix the image"
        if isinstance(box, str):
            skipped.append(Skipped(f"{item} (image {image['file_name']})", box))
        else:
            boxes[image["id"]].append(box)
    records = [Record(str(images_dir / im["file_name"]), boxes[image_id], None, {"coco_id": image_id},
                      f"image id {image_id} ({im['file_name']})") for image_id, im in images.items()]
    annotated = sum(1 for b in boxes.values() if b)
    notes = [f"{sum(len(b) for b in boxes.values()):,} boxes on {annotated:,} images, "
             f"{len(images) - annotated:,} images without boxes", f"images looked up in {images_dir}"]
    return records, skipped, notes, list(dict.fromkeys(categories.values()))


def _size(image: dict, images_dir: Path) -> tuple[float, float] | None:
    width, height = image.get("width"), image.get("height")
    if isinstance(width, (int, float)) and isinstance(height, (int, float)) and width > 0 and height > 0:
        return float(width), float(height)
    info = image_info(os.path.join(images_dir, image["file_name"]))
    return (float(info.width), float(info.height)) if isinstance(info, ImageInfo) else None


def import_coco(json_path: str | Path, name: str, images_dir: str | Path | None = None,
                mode: Mode = "error") -> IngestReport:
    """Import a COCO detection JSON file (boxes become ``fo.Detections`` in ``ground_truth``) as dataset ``name``."""
    check_target(name, mode)
    with paused_gc():
        records, skipped, notes, classes = coco_records(Path(json_path).expanduser().resolve(), images_dir)
    return write_dataset(name, records, "detection", mode, classes=classes, skipped=skipped, notes=notes)
