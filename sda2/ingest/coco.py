"""COCO object-detection JSON: every image becomes a sample, its boxes ``fo.Detections``.

Boxes are stored as FiftyOne does, [x, y, width, height] relative to the image (0..1), from COCO's
absolute pixels and the image size in the JSON (or in the image's header when the JSON has none).
Images are looked up in ``images_dir``; by default in the folder, among the JSON's folder, the one
above it and their ``images/``, ``<split>/`` (from the file name: ``instances_val2017.json`` -> ``val2017``),
``images/<split>/`` and ``data/`` sub-folders, that holds the most of them. When no image is found the
import stops before anything else, naming the folders it looked in; a missing or unreadable image
(every image is decoded fully) is skipped with the reason, and its annotations with it.
A box reaching outside its image is clipped to the image's edges (counted, with its annotation ids, in
the report's notes); an annotation whose category or image is unknown, whose box is not a positive
[x, y, w, h] or lies wholly outside the image, is skipped with the reason. An image without annotations
gets empty ``Detections``. ``iscrowd`` is kept as a box attribute; segmentations and keypoints are not
imported. Each sample keeps its COCO image id in the ``coco_id`` field.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from sda2 import hints
from sda2.ingest.base import Box, IngestError, IngestReport, Mode, Record, Skipped, paused_gc
from sda2.ingest.writer import ImageInfo, check_target, image_infos, write_dataset


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


def _split_names(json_path: Path) -> list[str]:
    """Split names a COCO file's name suggests: "instances_val2017.json" -> val2017, "train.json" -> train."""
    stem = json_path.name.split(".")[0]
    return list(dict.fromkeys(n for n in (stem, stem.rsplit("_", 1)[-1]) if n.strip("_")))


def candidate_dirs(json_path: Path) -> list[Path]:
    """Folders where a COCO file's images usually are, in the order they are tried.

    The JSON's folder and the one above it (``annotations/`` sits beside the image folders in COCO's own
    layout), each as is and with the sub-folders ``images/``, ``<split>/``, ``images/<split>/`` and ``data/``.
    """
    splits = _split_names(json_path)
    subs = [Path("."), Path("images"), *map(Path, splits), *(Path("images") / s for s in splits), Path("data")]
    return list(dict.fromkeys(base / sub for base in (json_path.parent, json_path.parent.parent) for sub in subs))


def _spread(items: list, n: int) -> list:
    """At most ``n`` items taken evenly from ``items``."""
    return items if len(items) <= n else [items[i * len(items) // n] for i in range(n)]


def find_images_dir(json_path: Path, file_names: list[str]) -> Path | None:
    """The candidate folder that holds the most of ``file_names`` (a sample of 200), or None when none holds any."""
    sample = _spread(file_names, 200)
    best, best_hits = None, 0
    for folder in candidate_dirs(json_path):
        hits = sum(1 for name in sample if (folder / name).is_file()) if folder.is_dir() else 0
        if hits > best_hits:
            best, best_hits = folder, hits
            if hits == len(sample):
                break
    return best


def _searched(json_path: Path) -> str:
    """The folders ``candidate_dirs`` tries, in words."""
    subs = ["images/", *(f"{s}/" for s in _split_names(json_path)), *(f"images/{s}/" for s in _split_names(json_path)),
            "data/"]
    return (f"{json_path.parent} and {json_path.parent.parent}, and in their sub-folders "
            f"{', '.join(subs[:-1])} and {subs[-1]}")


def _no_images(json_path: Path, file_names: list[str], where: str) -> IngestError:
    flag = hints.hint(cli="--images-dir FOLDER", api="images_dir=FOLDER")
    others = f" nor any other of its {len(file_names):,} images" if len(file_names) > 1 else ""
    return IngestError(f"No image of {json_path.name} was found: looked for {file_names[0]!r}{others} in {where}. "
                       f"Nothing was written. Fix: pass the folder that holds the images as {flag}.")


def _box(annotation: dict, size: tuple[float, float], categories: dict) -> tuple[Box, bool] | str:
    """(the annotation as a relative box clipped to the image, whether it was clipped), or why it is skipped."""
    category = annotation.get("category_id")
    if category not in categories:
        known = ", ".join(str(k) for k in list(categories)[:15])
        return f"category_id {category!r} is not in categories (ids: {known}); fix the id or add the category"
    bbox = annotation.get("bbox")
    if not (isinstance(bbox, list) and len(bbox) == 4 and all(isinstance(v, (int, float)) for v in bbox)
            and all(math.isfinite(v) for v in bbox) and bbox[2] > 0 and bbox[3] > 0):
        return f"bbox {bbox!r} is not [x, y, width, height] with a positive width and height; fix or remove it"
    width, height = size
    x0, y0 = max(0.0, bbox[0]), max(0.0, bbox[1])
    x1, y1 = min(width, bbox[0] + bbox[2]), min(height, bbox[1] + bbox[3])
    if x1 <= x0 or y1 <= y0:
        return (f"bbox {bbox!r} lies wholly outside the {width:g}x{height:g} image; fix the box (or the "
                "image's width and height) or remove it")
    clipped = (x0, y0, x1, y1) != (bbox[0], bbox[1], bbox[0] + bbox[2], bbox[1] + bbox[3])
    attributes = {"iscrowd": int(annotation["iscrowd"])} if "iscrowd" in annotation else {}
    box = Box(categories[category], [x0 / width, y0 / height, (x1 - x0) / width, (y1 - y0) / height], attributes)
    return box, clipped


def _count(n: int, word: str) -> str:
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}{'es' if word.endswith('x') else 's'}"


def coco_records(json_path: Path, images_dir: Path | None = None,
                 ) -> tuple[list[Record], list[Skipped], list[str], list[str], dict[str, ImageInfo | str]]:
    """(records, skipped items, notes, class names in category-id order, image facts by path) from a COCO file.

    Every image is decoded first (in threads); when none is found the import stops there, naming the
    folders it looked in. Annotations of images that cannot be read are not imported (counted in a note).
    """
    data = _load(json_path)
    categories = {}
    for c in data["categories"]:
        if not isinstance(c, dict) or "id" not in c or not str(c.get("name") or "").strip():
            raise IngestError(f"{json_path.name}: category {c!r} needs an 'id' and a 'name'. Fix: complete it.")
        categories[c["id"]] = str(c["name"]).strip()
    skipped: list[Skipped] = []
    images: dict = {}
    for im in data["images"]:
        if not isinstance(im, dict) or "id" not in im or not isinstance(im.get("file_name"), str) \
                or not im["file_name"]:
            skipped.append(Skipped(f"{json_path.name} image {im!r:.80}",
                                   "needs an 'id' and a 'file_name'; complete it"))
        elif im["id"] in images:
            skipped.append(Skipped(f"image id {im['id']} ({im['file_name']})",
                                   f"id used already by {images[im['id']]['file_name']}; give each image its own id"))
        else:
            images[im["id"]] = im
    file_names = [im["file_name"] for im in images.values()]
    if images_dir is not None:
        images_dir = Path(images_dir).expanduser().resolve()
        where = str(images_dir)
    else:
        where = _searched(json_path)
        images_dir = find_images_dir(json_path, file_names) if file_names else json_path.parent
        if images_dir is None:
            raise _no_images(json_path, file_names, where)
    paths = {image_id: str(images_dir / im["file_name"]) for image_id, im in images.items()}
    facts = dict(zip(paths.values(), image_infos(list(paths.values()))))
    if file_names and all(isinstance(f, str) and f.startswith("file not found") for f in facts.values()):
        raise _no_images(json_path, file_names, where)
    readable = {image_id for image_id, path in paths.items() if isinstance(facts[path], ImageInfo)}
    for image_id in images:
        if image_id not in readable:
            reason = facts[paths[image_id]]
            if reason.startswith("file not found"):
                reason = f"file not found in {images_dir}; fix the file name or add the file"
            skipped.append(Skipped(f"image id {image_id} ({images[image_id]['file_name']})", reason))
    boxes: dict = {image_id: [] for image_id in readable}
    clipped: list = []
    orphans = 0
    for ann in data.get("annotations") or []:
        if not isinstance(ann, dict):
            skipped.append(Skipped(f"annotation {ann!r:.80}", "is not an object with 'image_id', 'category_id' and "
                                                               "'bbox'; fix or remove it"))
            continue
        item = f"annotation {ann.get('id', '?')}"
        image = images.get(ann.get("image_id"))
        if image is None:
            skipped.append(Skipped(item, f"image_id {ann.get('image_id')!r} is not in images; fix the id or "
                                         "remove the annotation"))
            continue
        if image["id"] not in readable:
            orphans += 1  # its image is skipped (reported above)
            continue
        box = _box(ann, _size(image, facts[paths[image["id"]]]), categories)
        if isinstance(box, str):
            skipped.append(Skipped(f"{item} (image {image['file_name']})", box))
            continue
        boxes[image["id"]].append(box[0])
        if box[1]:
            clipped.append(ann.get("id", "?"))
    records = [Record(paths[image_id], boxes[image_id], None, {"coco_id": image_id},
                      f"image id {image_id} ({im['file_name']})") for image_id, im in images.items()
               if image_id in readable]
    annotated = sum(1 for b in boxes.values() if b)
    notes = [f"images looked up in {images_dir}: {len(readable):,} of {len(images):,} found and readable",
             f"{_count(sum(len(b) for b in boxes.values()), 'box')} on {_count(annotated, 'image')}, "
             f"{_count(len(readable) - annotated, 'image')} without boxes"]
    if clipped:
        shown = ", ".join(map(str, clipped[:10])) + (" …" if len(clipped) > 10 else "")
        notes.append(f"{_count(len(clipped), 'box')} reached outside the image: clipped to its edges "
                     f"(annotation {shown})")
    if orphans:
        notes.append(f"{_count(orphans, 'annotation')} of skipped images not imported")
    return records, skipped, notes, list(dict.fromkeys(categories.values())), facts


def _size(image: dict, info: ImageInfo) -> tuple[float, float]:
    """The image's size as the JSON gives it, else as its file says."""
    width, height = image.get("width"), image.get("height")
    if isinstance(width, (int, float)) and isinstance(height, (int, float)) and width > 0 and height > 0:
        return float(width), float(height)
    return float(info.width), float(info.height)


def import_coco(json_path: str | Path, name: str, images_dir: str | Path | None = None,
                mode: Mode = "error") -> IngestReport:
    """Import a COCO detection JSON file (boxes become ``fo.Detections`` in ``ground_truth``) as dataset ``name``."""
    check_target(name, mode)
    with paused_gc():
        records, skipped, notes, classes, facts = coco_records(Path(json_path).expanduser().resolve(), images_dir)
    return write_dataset(name, records, "detection", mode, classes=classes, skipped=skipped, notes=notes,
                         checked=facts)
