"""Issue 9, item 1: a dataset name is a name, never a path. Each case of the issue through the real CLI and the API.

The CLI runs as a real subprocess (``.venv/bin/sda2``) on the test database; every refused name must leave the
folder it names untouched, and every delete stays inside sda2's own media and arrays trees.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from bson import ObjectId
from PIL import Image

import fiftyone as fo
from sda2 import arrays, config, store
from sda2.ingest import import_folder, load_default
from tests import forked
from tests.conftest import TEST_DB

SDA2 = str(Path(sys.executable).parent / "sda2")


def sda2_cli(*argv: str) -> subprocess.CompletedProcess:
    """Run the installed ``sda2`` command on the test database."""
    env = {**os.environ, "FIFTYONE_DATABASE_NAME": TEST_DB}
    return forked.run([SDA2, *argv], env=env, timeout=300)


def _pets(root: Path) -> list[Path]:
    """A small class folder of real PNGs; returns the image paths."""
    paths = []
    for label, n in (("cat", 3), ("dog", 2)):
        for i in range(n):
            path = root / label / f"{label}{i}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (6, 5), (40 * i, 90, 10)).save(path)
            paths.append(path)
    return paths


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _refused(proc: subprocess.CompletedProcess, *words: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Invalid dataset name" in proc.stderr and "Fix:" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    for word in words:
        assert word in proc.stderr, proc.stderr


@pytest.fixture
def cleanup():
    """Names of datasets a test makes, deleted afterwards whatever happened."""
    made: list[str] = []
    yield made
    for name in made:
        if fo.dataset_exists(name):
            try:
                store.delete_dataset(name)
            except ValueError:  # a name made past the check by plain FiftyOne
                fo.load_dataset(name).delete()


def test_an_absolute_path_as_name_is_refused_and_the_folder_untouched(tmp_path):
    source, victim = tmp_path / "images", tmp_path / "x"  # the issue's /srv/x, /tmp/x
    _pets(source)
    _pets(victim)
    before = _snapshot(victim)
    _refused(sda2_cli("ingest", "folder", str(source), "--name", str(victim)), "slash", "not a path")
    _refused(sda2_cli("delete", str(victim)), "slash")
    _refused(sda2_cli("demo", "--name", str(victim)), "slash")
    with pytest.raises(ValueError, match="not a path"):
        import_folder(source, str(victim))
    with pytest.raises(ValueError, match="not a path"):
        store.delete_dataset(str(victim))
    with pytest.raises(ValueError, match="not a path"):
        store.open_dataset(str(victim))
    with pytest.raises(ValueError, match="not a path"):
        load_default(str(victim))
    assert _snapshot(victim) == before
    assert str(victim) not in fo.list_datasets()


def test_reimport_named_after_its_own_source_with_overwrite_is_refused_and_the_images_kept(tmp_path):
    source = tmp_path / "shots"
    _pets(source)
    before = _snapshot(source)
    proc = sda2_cli("ingest", "folder", str(source), "--name", str(source), "--overwrite")
    _refused(proc, "slash")
    assert "loaded" not in proc.stdout
    with pytest.raises(ValueError, match="not a path"):
        import_folder(source, str(source), mode="overwrite")
    assert _snapshot(source) == before


def test_dot_dot_names_are_refused_and_every_dataset_keeps_its_files(tmp_path, cleanup):
    cleanup.append("t_names_keep")
    import_folder(_pets(tmp_path / "pets")[0].parent.parent, "t_names_keep")
    kept = store.open_dataset("t_names_keep")
    arrays.save(kept, "emb", kept.values("id"), np.ones((len(kept), 2)))
    sentinels = [config.home() / t / config.database_name() / "fedcba9876543210fedcba98" / "x.txt"
                 for t in ("media", "arrays")]  # stand-ins for every other dataset's files
    for path in sentinels:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("keep")
    cleanup_paths = [p.parent for p in sentinels]
    for name in ("../sda2", "..", "../..", "a/../../b", ".", "./x", "..\\sda2"):
        _refused(sda2_cli("ingest", "folder", str(tmp_path / "pets"), "--name", name))
        _refused(sda2_cli("delete", name))
        with pytest.raises(ValueError, match="Invalid dataset name"):
            store.delete_dataset(name)
    assert all(p.read_text() == "keep" for p in sentinels)
    assert arrays.list_keys(kept) == ["emb"] and all(os.path.exists(p) for p in kept.values("filepath"))
    for folder in cleanup_paths:
        config.remove_owned(folder)


def test_a_name_made_by_fiftyone_before_the_check_gets_the_way_out_and_its_folder_is_safe(tmp_path, cleanup):
    victim = tmp_path / "old"
    _pets(victim)
    before = _snapshot(victim)
    legacy = fo.Dataset(str(victim), persistent=True)  # as an older sda2 (or plain FiftyOne) could name it
    cleanup += [str(victim), "t_names_legacy"]
    arrays.save(legacy, "emb", ["a"], np.ones((1, 2)))  # arrays go under its id, not the name
    assert arrays.folder(legacy) == config.arrays_dir(legacy._doc.id)
    with pytest.raises(ValueError, match=r"made before names were checked.*fo.load_dataset"):
        store.open_dataset(str(victim))
    _refused(sda2_cli("delete", str(victim)))
    assert str(victim) not in store.list_datasets() and str(victim) in store.unusable_datasets()
    listing = sda2_cli("list")  # shown apart, with the way out, instead of breaking the listing (or the app)
    assert listing.returncode == 0 and f"{str(victim)!r}\tnot opened" in listing.stdout, listing.stderr
    assert f"fo.load_dataset({str(victim)!r}).name = 'new_name'" in listing.stdout
    fo.load_dataset(str(victim)).name = "t_names_legacy"  # the fix the message gives
    store.delete_dataset("t_names_legacy")
    assert _snapshot(victim) == before
    assert not config.arrays_dir(legacy._doc.id).exists()


def test_deleting_one_demo_copy_leaves_the_other_whole(cleanup):
    cleanup += ["t_demo_a", "t_demo_b"]
    for name in cleanup:
        if fo.dataset_exists(name):
            store.delete_dataset(name)
    for name in cleanup:
        proc = sda2_cli("demo", "--name", name)
        assert proc.returncode == 0 and f"{name}: loaded 1,797 samples" in proc.stdout, proc.stderr
    a_media = store.owned_media(store.open_dataset("t_demo_a"))
    b = store.open_dataset("t_demo_b")
    assert len(a_media) == 1 and store.owned_media(b) != a_media  # each copy has its own media folder
    proc = sda2_cli("delete", "t_demo_a")
    assert proc.returncode == 0 and "Deleted dataset 't_demo_a'" in proc.stdout, proc.stderr
    assert not config.media_dir(a_media[0]).exists()  # the PNGs sda2 wrote for it went with it
    b = store.open_dataset("t_demo_b")
    readable = 0
    for path in b.values("filepath"):
        with Image.open(path) as image:
            image.load()
            readable += image.size == (8, 8)
    assert len(b) == readable == 1797
    old_media = store.owned_media(b)
    proc = sda2_cli("demo", "--name", "t_demo_b", "--overwrite")  # the replaced copy's PNGs go, the new ones stay
    assert proc.returncode == 0, proc.stderr
    new_media = store.owned_media(store.open_dataset("t_demo_b"))
    assert new_media != old_media and not config.media_dir(old_media[0]).exists()
    assert all(os.path.exists(p) for p in store.open_dataset("t_demo_b").values("filepath"))
    assert new_media[0] not in store.unused_media(min_age_s=0)


def test_media_a_killed_import_left_is_found_once_old_enough():
    stray = config.media_dir(str(ObjectId()))  # as an import killed before it recorded its PNGs leaves it
    stray.mkdir(parents=True)
    (stray / "00000.png").write_bytes(b"png")
    assert stray.name not in store.unused_media()  # young: maybe an import still running
    assert stray.name in store.unused_media(min_age_s=0)
    assert store.release_media([stray.name]) == [stray.name] and not stray.exists()


def test_user_images_are_never_deleted_with_the_dataset(tmp_path, cleanup):
    source = tmp_path / "mine"
    _pets(source)
    before = _snapshot(source)
    cleanup.append("t_names_user_images")
    proc = sda2_cli("ingest", "folder", str(source), "--name", "t_names_user_images")
    assert proc.returncode == 0, proc.stderr
    assert store.owned_media(store.open_dataset("t_names_user_images")) == []
    assert sda2_cli("delete", "t_names_user_images").returncode == 0
    assert _snapshot(source) == before


def test_media_another_dataset_uses_is_kept(cleanup):
    cleanup += ["t_names_media_a", "t_names_media_clone", "t_names_media_copy"]
    load_default("t_names_media_a")
    original = fo.load_dataset("t_names_media_a")
    media = store.owned_media(original)
    original.clone("t_names_media_clone", persistent=True)  # its info lists the media as its own too
    copy = fo.Dataset("t_names_media_copy", persistent=True)  # refers to the files by path only
    copy.add_collection(original.limit(5), include_info=False)
    assert store.owned_media(copy) == []
    for name in ("t_names_media_a", "t_names_media_clone"):
        store.delete_dataset(name)
        assert config.media_dir(media[0]).is_dir()
        assert all(os.path.exists(p) for p in store.open_dataset("t_names_media_copy").values("filepath"))
    assert store.release_media(media) == []  # still used by the copy
    store.delete_dataset("t_names_media_copy")
    assert store.release_media(media) == media and not config.media_dir(media[0]).exists()


def test_the_remover_refuses_everything_outside_the_media_and_arrays_trees(tmp_path):
    outside = tmp_path / "precious"
    outside.mkdir()
    (outside / "keep.txt").write_text("keep")
    db = config.database_name()
    link = config.home() / "media" / db / "0123456789abcdef01234567"
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(outside)
    try:
        refused = [outside, outside / "keep.txt", tmp_path, Path("/"), config.home(), config.home() / "db",
                   config.home() / "media", config.home() / "arrays", config.home() / "media" / db,
                   config.home() / "arrays" / db, config.home() / "media" / db / ".." / ".." / "db",
                   config.home() / "arrays" / db / ".." / ".." / ".." / "precious", link, link / "keep.txt"]
        for path in refused:
            with pytest.raises(ValueError, match="Refusing to delete"):
                config.remove_owned(path)
    finally:
        link.unlink()
    assert (outside / "keep.txt").read_text() == "keep" and (config.home() / "db").is_dir()
    inside = config.home() / "arrays" / db / "0123456789abcdef01234567"
    (inside / "sub").mkdir(parents=True)
    assert config.remove_owned(inside) is True and not inside.exists()
    assert config.remove_owned(inside) is False  # nothing there: nothing to do
    for bad_id in ("../x", "digits", "/tmp/x", "0123456789ABCDEF01234567"):
        with pytest.raises(ValueError, match="not an id"):
            config.media_dir(bad_id)
