"""The ``sda2`` command line: start the app, load the demo, ingest, list and delete datasets, and repair what
killed processes left unfinished (`sda2 doctor`)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from sda2 import config, hints, names


def app_command(address: str = "127.0.0.1", port: int = 8501) -> list[str]:
    """The Streamlit command ``sda2 app`` runs: no file watcher (the project holds ``.sda2/``, whose database
    and cache files change all the time: watching them floods the log with "Inotify queue overflowed")."""
    return [sys.executable, "-m", "streamlit", "run", str(config.PROJECT_ROOT / "app.py"),
            "--server.address", address, "--server.port", str(port), "--server.headless", "true",
            "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"]


def _cmd_app(args: argparse.Namespace) -> int:
    from sda2 import store
    from sda2.ingest import DEFAULT_NAME, load_default

    if not store.list_datasets():
        print(load_default().summary())
    elif DEFAULT_NAME not in store.list_datasets():
        print(f"Datasets here: {', '.join(store.list_datasets())}.")
    command = app_command(args.address, args.port)
    print(f"sda2 is starting at http://{'localhost' if args.address == '127.0.0.1' else args.address}:{args.port}")
    os.execv(sys.executable, command)


def _cmd_demo(args: argparse.Namespace) -> int:
    from sda2.ingest import load_default

    print(load_default(args.name, mode=_mode(args)).summary())
    return 0


def _default_name(args: argparse.Namespace, derived: str) -> str:
    """``--name``, else ``derived`` (from the input's file or folder name) when that is a valid dataset name."""
    if args.name is not None:
        return args.name
    try:
        return names.validate_dataset_name(derived)
    except ValueError as exc:
        raise ValueError(f"{exc} (This name was derived from the input; pass --name NAME to choose one.)") from None


def _cmd_ingest(args: argparse.Namespace) -> int:
    from sda2 import ingest

    mode = _mode(args)
    if args.source == "folder":
        report = ingest.import_folder(args.root, _default_name(args, Path(args.root).resolve().name), mode,
                                      layout=args.layout, classes=args.classes, unlabeled=args.unlabeled)
    elif args.source == "table":
        report = ingest.import_table(args.path, _default_name(args, Path(args.path).stem), mode,
                                     filepath_col=args.filepath_col, label_col=args.label_col, tags_col=args.tags_col,
                                     split_col=args.split_col, base_dir=args.base_dir, classes=args.classes,
                                     unlabeled=args.unlabeled)
    elif args.source == "coco":
        report = ingest.import_coco(args.json, _default_name(args, Path(args.json).stem), args.images_dir, mode)
    elif args.source == "mnist":
        report = ingest.import_mnist(args.images, args.labels, _default_name(args, "mnist"), mode,
                                     out_dir=args.out_dir, split=args.split, limit=args.limit)
    else:
        report = ingest.import_fiftyone(args.dataset, _default_name(args, f"{args.dataset}-sda2"), args.label_field,
                                        mode)
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
    for name in store.unusable_datasets():
        print(f"{name!r}\tnot opened: not a valid dataset name. Fix: rename it from Python: "
              f"fo.load_dataset({name!r}).name = 'new_name'")
    return 0


def _cmd_delete(args: argparse.Namespace) -> int:
    from sda2 import store

    store.delete_dataset(args.name)
    print(f"Deleted dataset {args.name!r}.")
    return 0


def _cmd_schema(args: argparse.Namespace) -> int:
    from sda2 import store
    from sda2.curation import class_schema

    dataset = store.open_dataset(args.name)
    if args.file:
        schema = class_schema.set_class_schema(dataset, args.file, args.by or os.environ.get("USER") or "cli",
                                                note=args.note or "")
        print(f"{args.name}: class schema v{schema.version} saved ({len(schema.classes):,} classes, "
              f"{'multi-label' if schema.multi_label else 'single-label'}).")
    else:
        schema = class_schema.class_schema(dataset)
        if schema is None:
            print(f"{args.name}: no class schema yet. Fix: sda2 schema {args.name} --file schema.yaml")
            return 1
        print(f"{args.name}: class schema v{schema.version} "
              f"({'multi-label' if schema.multi_label else 'single-label'})")
    for spec in schema.classes:
        print(f"  {spec.key or '-'}  {spec.name}" + (f": {spec.description}" if spec.description else ""))
    return 0


def _cmd_release(args: argparse.Namespace) -> int:
    from sda2.curation import releases

    if args.list:
        infos = releases.list_releases(args.name)
        if not infos:
            print(f"{args.name!r} has no releases yet. Make one with `sda2 release {args.name} --version v1`.")
        for r in infos:
            print(f"{r.version}\t{r.created_at:%Y-%m-%d %H:%M} UTC\t{r.created_by}\t{r.samples:,} samples\t"
                  f"{r.excluded:,} excluded\tguideline {r.guideline}\t{r.notes}")
        return 0
    if not args.version:
        raise ValueError("Which version? Fix: pass --version, e.g. `sda2 release NAME --version v1` "
                         "(or --list to see the releases).")
    info = releases.create_release(args.name, args.version, args.by or os.environ.get("USER") or "cli",
                                   notes=args.notes or "", guideline_version=args.guideline)
    print(f"Released {info.dataset}@{info.version}: {info.samples:,} samples ({info.excluded:,} excluded, "
          f"{info.ambiguous:,} ambiguous), {info.stored_rows:,} rows stored"
          f"{'' if info.full else f' (changes since {info.parent})'}; guideline {info.guideline}.")
    return 0


def _cmd_diff(args: argparse.Namespace) -> int:
    from sda2.curation import release_diff, releases

    name, old = releases.parse_ref(args.old)
    if old is None:
        raise ValueError(f"{args.old!r} names no release. Fix: write NAME@VERSION, e.g. {name}@v1.")
    new = releases.parse_ref(args.new)[1] if args.new else None
    result = release_diff.diff(name, old, new)
    print(result.describe())
    if args.csv:
        result.to_csv(args.csv)
        print(f"Changes written to {args.csv}.")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from sda2.report import export

    report = export.export_dataset(args.ref, args.format, args.out, include_excluded=args.include_excluded,
                                   allow_cross_split=args.allow_cross_split)
    print(report.summary())
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from sda2.report import quality_report

    path = quality_report.write_report(args.ref, args.out, pdf=args.pdf)
    print(f"Quality report written to {path}" + (f" and {Path(path).with_suffix('.pdf')}" if args.pdf else "") + ".")
    return 0


def _add_hand_off(sub) -> None:
    release = sub.add_parser("release", help="snapshot a dataset as an immutable, versioned release (or --list)")
    release.add_argument("name", type=_dataset_name, help="the dataset's name")
    release.add_argument("--version", help="the release's version, e.g. v1 (letters, digits, '.', '_', '-')")
    release.add_argument("--notes", help="what changed, for whom")
    release.add_argument("--guideline", help="version of the labeling guideline the labels follow")
    release.add_argument("--by", help="who makes the release (default: $USER)")
    release.add_argument("--list", action="store_true", help="list the dataset's releases instead")
    release.set_defaults(func=_cmd_release)

    diff = sub.add_parser("diff", help="what changed between two releases, or a release and now")
    diff.add_argument("old", help="NAME@VERSION of the older side")
    diff.add_argument("new", nargs="?", help="NAME@VERSION of the newer side (default: the dataset now)")
    diff.add_argument("--csv", help="also write the changes to this CSV file")
    diff.set_defaults(func=_cmd_diff)

    exp = sub.add_parser("export", help="export NAME or NAME@VERSION as imagefolder, coco, yolo, csv or fiftyone")
    exp.add_argument("ref", help="NAME (the dataset now) or NAME@VERSION (a release)")
    exp.add_argument("--format", required=True, choices=["imagefolder", "coco", "yolo", "csv", "fiftyone"])
    exp.add_argument("--out", required=True, help="a new or empty folder")
    exp.add_argument("--include-excluded", action="store_true", help="also export samples marked excluded")
    exp.add_argument("--allow-cross-split", action="store_true",
                     help="export even when near-duplicates span splits (warns instead of refusing)")
    exp.set_defaults(func=_cmd_export)

    report = sub.add_parser("report", help="write the quality report of NAME or NAME@VERSION (HTML, optional PDF)")
    report.add_argument("ref", help="NAME (the dataset now) or NAME@VERSION (a release)")
    report.add_argument("--out", required=True, help="the .html file to write")
    report.add_argument("--pdf", action="store_true", help="also print it to PDF (headless Chromium)")
    report.set_defaults(func=_cmd_report)


def _cmd_account(args: argparse.Namespace) -> int:
    from sda2 import accounts

    if args.action == "list":
        table = accounts.list_accounts()
        if table.empty:
            print("No accounts yet. Add the first admin with `sda2 account add NAME --role admin`.")
        for row in table.itertuples():
            print(f"{row.name}\t{row.role}\t{'disabled' if row.disabled else 'enabled'}\t{row.email or '-'}")
        return 0
    if args.action == "disable":
        print(f"Disabled {accounts.disable_account(args.name).name!r}: it can no longer sign in.")
        return 0
    if args.action == "enable":
        print(f"Enabled {accounts.enable_account(args.name).name!r}.")
        return 0
    if args.action == "unlock":
        cleared = accounts.unlock_account(args.name, by=os.environ.get("USER") or "cli")
        print(f"Unlocked {args.name!r}: password sign-in is open again ({cleared} failed sign-ins in a row cleared)."
              if cleared else f"{args.name!r} was not locked (no failed sign-ins in a row).")
        return 0
    if args.action == "failures":
        import pandas as pd

        table = accounts.sign_in_failures()
        if table.empty:
            print("No failed sign-ins recorded.")
        for row in table.itertuples():
            until = row.locked_until
            locked = "open" if pd.isna(until) else "locked until " + accounts.local_time_text(until)
            print(f"{row.name}\t{'account' if row.account else 'no account'}\t{row.failures} in a row\t"
                  f"{row.total_failures} in all\tlast {accounts.local_time_text(row.last_failure_at)}\t{locked}")
        return 0
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif args.no_password:
        password = None
    else:
        import getpass

        password = getpass.getpass(f"Password for {args.name}: ")
        if getpass.getpass("Again: ") != password:
            raise ValueError("The two passwords differ. Fix: type the same password twice.")
    account = accounts.create_account(args.name, args.role, password, args.email,
                                      created_by=os.environ.get("USER") or "cli")
    print(f"Added {account.name!r} ({account.role}){' with email ' + account.email if account.email else ''}.")
    return 0


def _account_name(text: str) -> str:
    """argparse type of an account name (any language's letters; see sda2.names.validate_person_name)."""
    try:
        return names.validate_person_name(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _add_account(sub) -> None:
    account = sub.add_parser("account", help="team mode's accounts (SDA2_TEAM=1): add, list, disable, enable, unlock",
                             description="Accounts for team mode (SDA2_TEAM=1): roles admin, curator, reviewer, "
                                         "labeler; passwords are stored as argon2 hashes only.")
    actions = account.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="add an account (asks for the password, or reads it with --password-stdin)")
    add.add_argument("name", type=_account_name, help="the account's name (letters of any language, e.g. 김민지)")
    add.add_argument("--role", required=True, choices=["admin", "curator", "reviewer", "labeler"])
    add.add_argument("--email", help="email for single sign-on (OIDC via .streamlit/secrets.toml [auth])")
    how = add.add_mutually_exclusive_group()
    how.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    how.add_argument("--no-password", action="store_true", help="single sign-on only (needs --email)")
    actions.add_parser("list", help="list the accounts")
    actions.add_parser("failures", help="list failed password sign-ins and locked names")
    for name, text in (("disable", "disable an account (it can no longer sign in)"), ("enable", "enable it again"),
                       ("unlock", "open a name's password sign-in locked after failed sign-ins")):
        parser = actions.add_parser(name, help=text)
        parser.add_argument("name", help="the account's name")
    account.set_defaults(func=_cmd_account)


def _dataset_name(text: str) -> str:
    """argparse type of a dataset name: refused at parse time with the pattern and the fix."""
    try:
        return names.validate_dataset_name(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _cmd_doctor(args: argparse.Namespace) -> int:
    from sda2 import doctor

    return doctor.run(repair=args.repair)


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
        parser.add_argument("--name", type=_dataset_name, help=f"dataset name (default: {default_name}); "
                            f"{names.PATTERN}")
        _add_mode_flags(parser)
        parser.set_defaults(func=_cmd_ingest)
        return parser

    folder = source("folder", "an image folder: ROOT/<class>/<image> or ROOT/<split>/<class>/<image>",
                    "the folder's name")
    folder.add_argument("root", help="the folder holding one sub-folder per class (or per split)")
    folder.add_argument("--layout", choices=["auto", "class", "split"], default="auto",
                        help="folder layout (default: detected)")
    folder.add_argument("--unlabeled", action="store_true",
                        help="import every image under ROOT (any folders, loose images too) without a label")
    _add_classes_flag(folder)

    table = source("table", "a CSV or Parquet table: image path, label (or tags), optional split, extra columns",
                   "the file's name without extension")
    table.add_argument("path", help="the .csv, .tsv or .parquet file")
    table.add_argument("--filepath-col", default="filepath", help="column of image paths (default filepath)")
    table.add_argument("--label-col", default="label", help="column of class names (default label)")
    table.add_argument("--tags-col", help="column of tags separated by | or ; (multi-label; replaces --label-col)")
    table.add_argument("--split-col", default="split", help="column of split names, if present (default split)")
    table.add_argument("--base-dir", help="folder that relative paths start from (default: the table's folder)")
    table.add_argument("--unlabeled", action="store_true",
                       help="import rows with an empty label (or no label column) without a label")
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
    demo.add_argument("--name", type=_dataset_name, default="digits", help="dataset name (default digits)")
    _add_mode_flags(demo)
    demo.set_defaults(func=_cmd_demo)

    _add_ingest(sub)

    lst = sub.add_parser("list", help="list the stored datasets")
    lst.set_defaults(func=_cmd_list)

    delete = sub.add_parser("delete", help="delete a dataset")
    delete.add_argument("name", type=_dataset_name, help="the dataset's name (as `sda2 list` shows it)")
    delete.set_defaults(func=_cmd_delete)

    _add_hand_off(sub)
    _add_account(sub)

    schema = sub.add_parser("schema", help="show a dataset's class schema, or save one from a YAML/JSON file")
    schema.add_argument("name", type=_dataset_name, help="the dataset's name")
    schema.add_argument("--file", help="a .yaml or .json file: multi_label and classes (name, description, key)")
    schema.add_argument("--note", help="what changed, saved with the new version")
    schema.add_argument("--by", help="who saves it (default: $USER)")
    schema.set_defaults(func=_cmd_schema)

    doctor = sub.add_parser("doctor", help="find (and with --repair, repair) what killed processes left unfinished",
                            description="List hidden datasets of killed imports, appends, compute runs, stuck "
                                        "queue items, pending audit entries and orphan array folders. Exit status "
                                        "0 when nothing is left to repair.")
    doctor.add_argument("--repair", action="store_true", help="repair what was found (work of live processes "
                                                                "is left alone)")
    doctor.set_defaults(func=_cmd_doctor)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    import pymongo.errors

    from sda2 import database

    args = build_parser().parse_args(argv)
    try:
        with hints.for_cli():  # error messages name flags (--layout class), not Python arguments
            return args.func(args) or 0
    except pymongo.errors.ConnectionFailure as exc:
        print(f"sda2: {database.unreachable(exc)}", file=sys.stderr)
        return 3
    except (KeyError, ValueError, RuntimeError) as exc:
        print(f"sda2: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
