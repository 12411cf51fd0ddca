"""The ``sda2`` command line: start the app, load the demo, ingest, list and delete datasets."""

from __future__ import annotations

import argparse
import os
import sys

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
