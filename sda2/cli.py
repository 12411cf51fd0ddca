"""The ``sda2`` command line: start the app, load the demo, ingest, list and delete datasets."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from sda2 import config


def _cmd_app(args: argparse.Namespace) -> int:
    from sda2 import store
    from sda2.ingest import DEFAULT_NAME, load_default

    if not store.list_datasets():
        print(load_default().summary())
    elif DEFAULT_NAME not in store.list_datasets():
        print(f"Datasets here: {', '.join(store.list_datasets())}.")
    command = [sys.executable, "-m", "streamlit", "run", str(config.PROJECT_ROOT / "app.py"),
               "--server.address", args.address, "--server.port", str(args.port),
               "--server.headless", "true", "--browser.gatherUsageStats", "false"]
    print(f"sda2 is starting at http://{'localhost' if args.address == '127.0.0.1' else args.address}:{args.port}")
    os.execv(sys.executable, command)


def _cmd_demo(args: argparse.Namespace) -> int:
    from sda2.ingest import load_default

    print(load_default(args.name, mode=_mode(args)).summary())
    return 0


def _cmd_ingest(args: argparse.Namespace) -> int:
    from sda2 import ingest

    mode = _mode(args)
    if args.source == "folder":
        report = ingest.import_folder(args.root, args.name or Path(args.root).resolve().name, mode, layout=args.layout,
                                      classes=args.classes)
    elif args.source == "table":
        report = ingest.import_table(args.path, args.name or Path(args.path).stem, mode, filepath_col=args.filepath_col,
                                     label_col=args.label_col, tags_col=args.tags_col, split_col=args.split_col,
                                     base_dir=args.base_dir, classes=args.classes)
    elif args.source == "coco":
        report = ingest.import_coco(args.json, args.name or Path(args.json).stem, args.images_dir, mode)
    elif args.source == "mnist":
        report = ingest.import_mnist(args.images, args.labels, args.name or "mnist", mode, out_dir=args.out_dir,
                                     split=args.split, limit=args.limit)
    else:
        report = ingest.import_fiftyone(args.dataset, args.name or f"{args.dataset}-sda2", args.label_field, mode)
    print(report.summary())
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    from sda2 import store

    names = store.list_datasets()
    if not names:
        print("No datasets yet. Load the default one with `sda2 demo`.")
    for name in names:
        ds = store.open_dataset(name)
        kinds = ", ".join(f"{f.name} ({f.kind})" for f in store.label_fields(ds)) or "no label fields"
        print(f"{name}\t{len(ds):,} samples\t{kinds}")
    return 0


def _cmd_delete(args: argparse.Namespace) -> int:
    from sda2 import store

    store.delete_dataset(args.name)
    print(f"Deleted dataset {args.name!r}.")
    return 0


def _mode(args: argparse.Namespace) -> str:
    return "overwrite" if args.overwrite else "append" if args.append else "error"


def _add_mode_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--overwrite", action="store_true", help="replace a dataset of that name")
    group.add_argument("--append", action="store_true", help="add to a dataset of that name")


def _add_classes_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--classes", type=lambda text: [c.strip() for c in text.split(",") if c.strip()],
                        help="comma-separated class names; samples with other labels are skipped (default: all)")


def _add_ingest(sub) -> None:
    ingest = sub.add_parser("ingest", help="import images and labels from a folder, table, COCO, MNIST or FiftyOne",
                            description="Import a dataset; prints what was loaded and what was skipped and why.")
    sources = ingest.add_subparsers(dest="source", required=True, metavar="SOURCE")

    def source(name: str, help_text: str, default_name: str) -> argparse.ArgumentParser:
        parser = sources.add_parser(name, help=help_text, description=help_text)
        parser.add_argument("--name", help=f"dataset name (default: {default_name})")
        _add_mode_flags(parser)
        parser.set_defaults(func=_cmd_ingest)
        return parser

    folder = source("folder", "an image folder: ROOT/<class>/<image> or ROOT/<split>/<class>/<image>",
                    "the folder's name")
    folder.add_argument("root", help="the folder holding one sub-folder per class (or per split)")
    folder.add_argument("--layout", choices=["auto", "class", "split"], default="auto",
                        help="folder layout (default: detected)")
    _add_classes_flag(folder)

    table = source("table", "a CSV or Parquet table: image path, label (or tags), optional split, extra columns",
                   "the file's name without extension")
    table.add_argument("path", help="the .csv, .tsv or .parquet file")
    table.add_argument("--filepath-col", default="filepath", help="column of image paths (default filepath)")
    table.add_argument("--label-col", default="label", help="column of class names (default label)")
    table.add_argument("--tags-col", help="column of tags separated by | or ; (multi-label; replaces --label-col)")
    table.add_argument("--split-col", default="split", help="column of split names, if present (default split)")
    table.add_argument("--base-dir", help="folder that relative paths start from (default: the table's folder)")
    _add_classes_flag(table)

    coco = source("coco", "COCO detection JSON (boxes become Detections)", "the JSON file's name")
    coco.add_argument("json", help="the COCO annotations file (instances_*.json)")
    coco.add_argument("--images-dir", help="folder of the images (default: found beside the JSON)")

    mnist = source("mnist", "MNIST-style idx files (written as PNGs, then imported)", "mnist")
    mnist.add_argument("images", help="images idx file, e.g. t10k-images-idx3-ubyte.gz")
    mnist.add_argument("labels", help="labels idx file, e.g. t10k-labels-idx1-ubyte.gz")
    mnist.add_argument("--out-dir", help="where the PNGs go (default: the project's media folder)")
    mnist.add_argument("--split", help="split name for every sample, e.g. test")
    mnist.add_argument("--limit", type=int, help="import only the first N images")

    fiftyone = source("fiftyone", "an existing FiftyOne image dataset (copied; the source is left as it is)",
                      "SOURCE-sda2")
    fiftyone.add_argument("dataset", help="name of the FiftyOne dataset")
    fiftyone.add_argument("--label-field", default="ground_truth", help="its label field (default ground_truth)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every ``sda2`` sub-command."""
    parser = argparse.ArgumentParser(prog="sda2", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    app = sub.add_parser("app", help="start the app (loads the default dataset when there is none)")
    app.add_argument("--address", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    app.add_argument("--port", type=int, default=8501, help="port (default 8501)")
    app.set_defaults(func=_cmd_app)

    demo = sub.add_parser("demo", help="load the embedded default dataset (scikit-learn digits)")
    demo.add_argument("--name", default="digits", help="dataset name (default digits)")
    _add_mode_flags(demo)
    demo.set_defaults(func=_cmd_demo)

    _add_ingest(sub)

    lst = sub.add_parser("list", help="list the stored datasets")
    lst.set_defaults(func=_cmd_list)

    delete = sub.add_parser("delete", help="delete a dataset")
    delete.add_argument("name")
    delete.set_defaults(func=_cmd_delete)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args) or 0
    except (KeyError, ValueError, RuntimeError) as exc:
        print(f"sda2: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
