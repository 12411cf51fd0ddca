"""A curator's operations on a synthetic large dataset (default 200k samples; pass 1000000 for 1M), plus the
first embedding map of a fresh process on 10,000 MNIST images. Prints the figures and writes
benchmarks/results/scale_<N>.json.

    .venv/bin/python benchmarks/bench_scale.py [N] [--keep] [--release]

The dataset is built cheaply in its own database (``sda2_bench``, so tests are unaffected): 300 real digit PNGs
imported through the normal writer (which fixes the schema and the classes), then N sample documents cloned from
them with random labels, predictions (class + confidence), two numeric fields and a split, written with bulk
``insert_many`` (no per-sample saves). ``--keep`` leaves it for the next run (which then reuses it); otherwise it
is dropped at the end. Timed: Overview counts (``sda2.dataset_overview``: cold, then warm = a lookup per dataset
version), the Overview and Samples pages of the real app run headless (Streamlit's AppTest: first open, then
warm reruns) and the Samples page's label, prediction and tag filters set through its widgets, one grid page
with a filter and a sort (``sda2.query_samples``; the first call also builds the indexes it needs) and a later
page, a preview + apply of a bulk tag on 10,000 samples (``sda2.preview_bulk``/``apply_bulk``) and its undo, a
release (``sda2.create_release``; at 500k samples and more only with ``--release``), the process's peak memory
(it runs the app pages, so it is the app's), and the first UMAP map of a fresh process.

``--browser`` measures the real app instead (and only that; it writes ``results/scale_<N>_browser.json`` and
uses its own dataset ``bench_scale_browser_<N>``, so a plain run beside it is untouched): it stores a 2-D map of
every sample the way the app does (synthetic 8-d embeddings, one cluster per ground-truth class around a ring,
stored with ``sda2.import_embeddings``, then mapped and stored by ``sda2.compute_map`` with PCA: random
clustered coordinates, not a real embedding), starts ``streamlit run app.py`` against ``sda2_bench`` as the
browser tests do, and opens Overview, Samples and Embedding map twice in headless Chromium (Playwright): first
opens, then warm visits, each timed from the click on the sidebar link until Streamlit is idle, the page's images
are loaded and its plotly figures drawn (on the map: with its legend). Screenshots go to
``tests/artifacts/scale_<N>_<page>.png``. The server's resident memory (the process and its children, psutil,
every 0.2 s; not the database server) is recorded: peak, idle after start, and settled 5 s after the last page;
and the map's points drawn (plotly's traces in the page) against the samples its legend counts.

    .venv/bin/python benchmarks/bench_scale.py 200000 --browser [--keep]
"""

import json
import os
import re
import resource
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

os.environ["FIFTYONE_DATABASE_NAME"] = "sda2_bench"
import numpy as np  # noqa: E402
from bson import ObjectId  # noqa: E402

import sda2  # noqa: E402
from sda2 import config, store  # noqa: E402
from sda2.ingest.digits import digits_records  # noqa: E402
from sda2.ingest.writer import write_dataset  # noqa: E402

ARGS = [a for a in sys.argv[1:] if not a.startswith("--")]
N = int(ARGS[0]) if ARGS else 200_000
BROWSER = "--browser" in sys.argv
NAME = f"bench_scale_browser_{N}" if BROWSER else f"bench_scale_{N}"
FILES = 300
CHUNK = 20_000
BULK = min(10_000, N // 2)  # samples in the bulk tag
RESULTS = Path(__file__).resolve().parent / "results"
CLASSES = [str(c) for c in range(10)]
MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist" / "t10k-images-idx3-ubyte.gz"
FIRST_MAP = """
import time; t = time.perf_counter(); c = time.process_time()
import gzip, sys
import numpy as np
from sda2.compute.projection import project
if sys.argv[1] == "digits":
    from sklearn.datasets import load_digits
    X = load_digits().data.astype(np.float32)
else:
    with gzip.open(sys.argv[1]) as f:
        X = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784).astype(np.float32) / 255
project(X, "umap", progress=False)
print(len(X), time.perf_counter() - t, time.process_time() - c)
"""
PAGES = {"overview": "app_pages/overview.py", "samples": "app_pages/samples.py"}
ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
ARTIFACTS = ROOT / "tests" / "artifacts"
MAP_EMBEDDINGS = "embeddings_user"  # the synthetic embeddings of --browser (the map's preferred key)
CHROMIUM = "/usr/bin/chromium"  # as tests/browser/conftest.py
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
BROWSER_PAGES = {"overview": "Overview", "samples": "Samples", "map": "Embedding map"}
IDLE = ("() => !document.querySelector('[data-testid=stStatusWidget]') && "
        "!document.querySelector('[data-stale=true]')")
RENDERED = """() => Array.from(document.querySelectorAll('[data-testid=stPlotlyChart]')).every(c => {
        const gd = c.querySelector('.js-plotly-plot');
        return !!(gd && gd._fullLayout && gd.querySelector('.main-svg')); })
    && Array.from(document.images).every(i => i.complete)"""
MAP_DRAWN = """() => { const gd = document.querySelector('[data-testid=stPlotlyChart] .js-plotly-plot');
    return !!(gd && gd._fullData && gd._fullData.length && gd.querySelector('.legendtext')); }"""
MAP_COUNTS = """() => { const gd = document.querySelector('[data-testid=stPlotlyChart] .js-plotly-plot');
    return {drawn: gd._fullData.reduce((s, t) => s + (t._length || 0), 0),
            legend: Array.from(gd.querySelectorAll('.legendtext')).map(e => e.textContent),
            annotations: (gd._fullLayout.annotations || []).map(a => a.text),
            webgl: !!gd.querySelector('canvas.gl-canvas-context')}; }"""


def clock(fn):
    """(seconds, result) of one call."""
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def make_dataset():
    """The N-sample dataset: FILES real images through the writer, then N cloned documents bulk-inserted.

    An N-sample dataset kept by an earlier ``--keep`` run is reused (its build time is then not measured).
    """
    if NAME in store.list_datasets():
        kept = store.open_dataset(NAME)
        if len(kept) == N and "--keep" in sys.argv:
            return kept
        store.delete_dataset(NAME)
    media_id = str(ObjectId())
    base = digits_records(config.media_dir(media_id))[:FILES]
    write_dataset(NAME, base, "classification", check_images=False, classes=CLASSES, media=[media_id])
    ds = store.open_dataset(NAME)
    import fiftyone as fo

    ds.set_values("predictions", [fo.Classification(label="0", confidence=0.5)] * len(ds))
    ds.set_values("brightness", [0.5] * len(ds))
    ds.set_values("uniqueness", [0.5] * len(ds))
    collection = fo.core.odm.get_db_conn()[ds._sample_collection_name]
    templates = list(collection.find())
    collection.delete_many({})
    rng = np.random.default_rng(0)
    for start in range(0, N, CHUNK):
        n = min(CHUNK, N - start)
        truth = rng.integers(0, 10, n)
        wrong = rng.random(n) < 0.1
        predicted = np.where(wrong, (truth + rng.integers(1, 10, n)) % 10, truth)
        confidence, bright, unique = rng.random(n), rng.random(n), rng.random(n)
        split = rng.random(n) < 0.2
        docs = []
        for i in range(n):
            doc = dict(templates[(start + i) % len(templates)])
            doc["_id"] = ObjectId()
            doc["ground_truth"] = {**doc["ground_truth"], "_id": ObjectId(), "label": CLASSES[truth[i]]}
            doc["predictions"] = {**doc["predictions"], "_id": ObjectId(), "label": CLASSES[predicted[i]],
                                  "confidence": float(confidence[i])}
            doc["brightness"], doc["uniqueness"] = float(bright[i]), float(unique[i])
            doc["split"] = "test" if split[i] else "train"
            doc["tags"] = []
            docs.append(doc)
        collection.insert_many(docs, ordered=False)
        print(f"  inserted {start + n:,} / {N:,}", flush=True)
    ds.reload()
    return ds


def first_map() -> dict:
    """Wall and CPU seconds of a fresh process's first UMAP map: 10,000 MNIST images (784 pixels) where the
    project's copy is there, else the 1,797 digits (UMAP's compiled code cached on disk by ``make setup``)."""
    source = str(MNIST) if MNIST.exists() else "digits"
    out = subprocess.run([sys.executable, "-c", FIRST_MAP, source], capture_output=True, text=True, check=True).stdout
    n, wall, cpu = out.split()[-3:]
    what = "mnist" if source != "digits" else "digits"
    return {f"first_map_{int(n)}_{what}_wall_s": float(wall), f"first_map_{int(n)}_{what}_cpu_s": float(cpu)}


def map_points(ds) -> dict:
    """Seconds to build the map figure of every sample (random positions: the bench has no embeddings) and the
    size of what the browser would receive; the map page draws this figure."""
    import pandas as pd

    from sda2.ui.map_figures import map_figure

    ids, label, prediction, confidence = ds.values(["id", "ground_truth.label", "predictions.label",
                                                    "predictions.confidence"])
    xy = np.random.default_rng(2).normal(size=(len(ids), 2)).astype(np.float32)
    frame = pd.DataFrame({"id": ids, "x": xy[:, 0], "y": xy[:, 1], "label": label, "prediction": prediction,
                          "confidence": confidence})
    frame["correct"] = frame["label"] == frame["prediction"]
    seconds, fig = clock(lambda: map_figure(frame))
    json_s, payload = clock(fig.to_json)
    return {"map_figure_points": sum(len(t.x) for t in fig.data), "map_figure_build_s": seconds,
            "map_figure_json_s": json_s, "map_figure_json_MB": len(payload) / 2**20}


def app_pages(figures: dict) -> None:
    """Open Overview and Samples in the real app headless (first open, then warm reruns); set the filters."""
    from streamlit.testing.v1 import AppTest

    for page, path in PAGES.items():
        at = AppTest.from_file(APP, default_timeout=600)
        at.session_state["dataset"], at.session_state["annotator"] = NAME, "bench"
        at.run()
        figures[f"app_{page}_first_open_s"], _ = clock(lambda: at.switch_page(path).run())
        assert not at.exception, at.exception
        warm = [clock(at.run)[0] for _ in range(3)]
        assert not at.exception, at.exception
        figures[f"app_{page}_warm_s"] = max(warm)
        if page == "samples":
            for key, value in (("samples_labels", ["3"]), ("samples_predictions", ["5"]), ("samples_tags", ["bench-10k"])):
                figures[f"app_samples_filter_{key.split('_')[1]}_s"], _ = clock(
                    lambda: at.multiselect(key=key).set_value(value).run())
                assert not at.exception, at.exception
                at.multiselect(key=key).set_value([]).run()


def store_map(ds) -> dict:
    """Store synthetic clustered embeddings of every sample and their 2-D map, through the app's own functions.

    8-d points, one cluster per ground-truth class with the ten centres on a ring in the first two dimensions,
    stored by ``sda2.import_embeddings``; the map is ``sda2.compute_map`` with PCA (stored like any map).
    """
    ids, labels = ds.values(["id", "ground_truth.label"])
    rng = np.random.default_rng(3)
    angle = 2 * np.pi * np.arange(10) / 10
    centres = np.zeros((10, 8), np.float32)
    centres[:, 0], centres[:, 1] = 10 * np.cos(angle), 10 * np.sin(angle)
    rows = centres[np.asarray(labels).astype(int)] + rng.normal(scale=1.5, size=(len(ids), 8)).astype(np.float32)
    embed_s, _ = clock(lambda: sda2.import_embeddings(ds, rows, key=MAP_EMBEDDINGS, ids=ids, overwrite=True))
    map_s, (mapped, _) = clock(lambda: sda2.compute_map(ds, MAP_EMBEDDINGS, method="pca", force=True,
                                                       progress=False))
    assert len(mapped) == len(ds), (len(mapped), len(ds))
    return {"map_store_embeddings_s": embed_s, "map_compute_pca_s": map_s, "map_stored_points": len(mapped)}


class RssSampler(threading.Thread):
    """Resident memory (bytes) of a process and its children, sampled every ``every`` seconds until stopped."""

    def __init__(self, pid: int, every: float = 0.2):
        super().__init__(daemon=True)
        import psutil

        self.process, self.every, self.samples = psutil.Process(pid), every, []
        self.halt = threading.Event()

    def rss(self) -> int:
        """The process's and its children's resident memory now, in bytes (0 once it has ended)."""
        import psutil

        try:
            family = [self.process] + self.process.children(recursive=True)
        except psutil.NoSuchProcess:
            return 0
        total = 0
        for member in family:
            try:
                total += member.memory_info().rss
            except psutil.NoSuchProcess:
                pass
        return total

    def run(self) -> None:
        """Sample until ``halt`` is set."""
        while not self.halt.is_set():
            self.samples.append(self.rss())
            self.halt.wait(self.every)

    def peak_MB(self) -> float:
        """The highest sample so far, in MB."""
        return max(self.samples, default=0) / 2**20


class AppServer:
    """``streamlit run app.py`` on a free localhost port against this process's database (``sda2_bench``), started
    as tests/browser/conftest.py starts it (that module needs pytest and switches to the test database)."""

    def __init__(self, log_path: Path):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(log_path, "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", APP, "--server.headless", "true",
             "--server.address", "127.0.0.1", "--server.port", str(self.port),
             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
            cwd=ROOT, env=dict(os.environ), stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout_s: float = 120) -> float:
        """Seconds until the server answers its health check (raises with the log's path when it never does)."""
        started = time.perf_counter()
        while time.perf_counter() - started < timeout_s:
            try:
                if urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=1).read() == b"ok":
                    return time.perf_counter() - started
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"streamlit did not answer on {self.url} within {timeout_s:.0f} s; see {self.log.name}")

    def stop(self) -> None:
        """Stop the server (SIGKILL when it has not ended 30 s after SIGTERM) and close its log."""
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(30)
        self.log.close()


def wait_idle(page) -> None:
    """Wait until the app's rerun is over (as tests/browser/conftest.py: no running indicator, nothing stale)."""
    page.wait_for_timeout(200)
    page.wait_for_function(IDLE, polling=100)


def open_page(page, key: str, title: str) -> float:
    """Click ``title`` in the sidebar; seconds until the page is idle, its images loaded and its plotly figures drawn
    (on the map: its legend too)."""
    started = time.perf_counter()
    page.get_by_test_id("stSidebar").get_by_role("link", name=title, exact=True).click()
    heading = {"overview": f"Overview of {NAME}", "samples": f"Samples of {NAME}", "map": "Embedding map"}[key]
    page.get_by_role("heading", name=heading).wait_for()
    wait_idle(page)
    if key == "map":
        page.wait_for_function(MAP_DRAWN, polling=100)
    elif key == "samples":
        page.locator("[data-testid=stImage] img").first.wait_for()
    else:
        page.locator("[data-testid=stPlotlyChart] .main-svg").first.wait_for()  # the class distribution
    page.wait_for_function(RENDERED, polling=100)
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    return time.perf_counter() - started


def browse(url: str, figures: dict) -> None:
    """Open the app in headless Chromium, pick the bench dataset, time each page twice, screenshot the first."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            page = context.new_page()
            page.set_default_timeout(900_000)  # 1M samples on 2 busy cores: minutes, never a hang
            started = time.perf_counter()
            page.goto(f"{url}/guidelines")  # a page that only asks for a name: the dataset pick costs nothing
            sidebar = page.get_by_test_id("stSidebar")
            sidebar.get_by_text("Dataset", exact=True).wait_for()
            wait_idle(page)
            figures["browser_first_load_s"] = time.perf_counter() - started
            sidebar.get_by_test_id("stSelectbox").first.click()
            page.keyboard.type(NAME)
            page.keyboard.press("Enter")
            sidebar.get_by_text(f"{N:,} samples in '{NAME}'").wait_for()
            wait_idle(page)
            for visit in ("first", "warm"):
                for key, title in BROWSER_PAGES.items():
                    figures[f"browser_{key}_{visit}_s"] = open_page(page, key, title)
                    print(f"  browser {key} ({visit}): {figures[f'browser_{key}_{visit}_s']:.1f} s", flush=True)
                    if visit == "first":
                        page.screenshot(path=str(ARTIFACTS / f"scale_{N}_{key}.png"))
                    if key == "map" and visit == "first":
                        counts = page.evaluate(MAP_COUNTS)
                        counted = [re.search(r"\(([\d,]+)\)\s*$", t) for t in counts["legend"]]
                        figures["map_points_drawn"] = counts["drawn"]
                        figures["map_points_counted_in_legend"] = sum(int(m.group(1).replace(",", ""))
                                                                      for m in counted if m)
                        figures["map_legend"] = counts["legend"]
                        figures["map_note"] = " ".join(counts["annotations"])
                        figures["map_webgl_canvas"] = counts["webgl"]
                        figures["map_caption"] = page.get_by_text(re.compile(r"^[\d,]+ samples, PCA")).inner_text()
            context.close()
        finally:
            browser.close()


def browser_main() -> None:
    """--browser: the bench dataset and its map, the real app server, its pages in Chromium, its memory."""
    started = time.perf_counter()
    figures = {"samples": N, "load_average_1min_at_start": os.getloadavg()[0], "cpu_cores": os.cpu_count()}
    figures["build_s"], ds = clock(make_dataset)
    assert len(ds) == N, len(ds)
    print(f"built {N:,} samples in {figures['build_s']:.1f} s", flush=True)
    server = sampler = None
    try:
        figures.update(store_map(ds))
        print(f"stored the map of {N:,} samples in {figures['map_compute_pca_s']:.1f} s", flush=True)
        ARTIFACTS.mkdir(exist_ok=True)
        server = AppServer(ARTIFACTS / f"streamlit_scale_{N}.log")
        sampler = RssSampler(server.process.pid)
        sampler.start()
        figures["app_server_ready_s"] = server.wait_ready()
        figures["app_server_rss_idle_MB"] = sampler.rss() / 2**20
        browse(server.url, figures)
        time.sleep(5)
        figures["app_server_rss_after_MB"] = sampler.rss() / 2**20
        figures["app_server_peak_rss_MB"] = sampler.peak_MB()
        figures["app_server_rss_samples"] = len(sampler.samples)
    finally:
        if sampler is not None:
            sampler.halt.set()
            sampler.join(5)
        if server is not None:
            server.stop()
        if "--keep" not in sys.argv:
            store.delete_dataset(NAME)
    figures["benchmark_s"] = time.perf_counter() - started
    for key, value in figures.items():
        print(f"{key:40s} {round(value, 3) if isinstance(value, float) else value}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"scale_{N}_browser.json").write_text(json.dumps(figures, indent=1, default=str))


def main():
    started = time.perf_counter()
    figures = {"samples": N, "real_image_files": FILES, "load_average_1min_at_start": os.getloadavg()[0],
               "cpu_cores": os.cpu_count()}
    figures["build_s"], ds = clock(make_dataset)
    assert len(ds) == N, len(ds)
    print(f"built {N:,} samples in {figures['build_s']:.1f} s", flush=True)
    figures["overview_cold_s"], ov = clock(lambda: sda2.dataset_overview(ds, "ground_truth", "predictions"))
    figures["overview_warm_s"], ov = clock(lambda: sda2.dataset_overview(ds, "ground_truth", "predictions"))
    assert ov.num_samples == N
    figures["numeric_fields_s"], _ = clock(lambda: sda2.numeric_fields(ds))
    page = dict(label_field="ground_truth", prediction_field="predictions", sort_by="uniqueness", descending=True,
                limit=48)
    figures["grid_page_label_filter_sort_first_s"], rows = clock(lambda: sda2.query_samples(ds, labels=["3"], **page))
    figures["grid_page_label_filter_sort_s"], rows = clock(lambda: sda2.query_samples(ds, labels=["7"], **page))
    assert len(rows) == 48 and set(rows["label"]) == {"7"}
    figures["grid_page_matching_label"] = rows.attrs["total"]
    figures["grid_next_page_s"], _ = clock(lambda: sda2.query_samples(ds, labels=["7"], skip=48 * 50, **page))
    figures["grid_prediction_filter_first_s"], _ = clock(lambda: sda2.query_samples(ds, predictions=["5"], **page))
    figures["grid_prediction_filter_s"], _ = clock(lambda: sda2.query_samples(ds, predictions=["4"], **page))
    rng = np.random.default_rng(1)
    ids = list(np.array(ds.values("id"))[rng.choice(N, BULK, replace=False)])
    figures["bulk_tag_10k_preview_s"], preview = clock(lambda: sda2.preview_bulk(ds, ids, "tag", "bench-10k"))
    assert preview.changes == BULK, preview.summary()
    figures["bulk_tag_10k_apply_s"], result = clock(lambda: sda2.apply_bulk(ds, preview, "bench"))
    figures["overview_after_edit_s"], _ = clock(lambda: sda2.dataset_overview(ds, "ground_truth", "predictions"))
    figures["grid_tag_filter_first_s"], tagged = clock(lambda: sda2.query_samples(ds, tags=["bench-10k"], **page))
    figures["grid_tag_filter_s"], tagged = clock(lambda: sda2.query_samples(ds, tags=["bench-10k"], **page))
    assert tagged.attrs["total"] == BULK
    app_pages(figures)  # with the bulk tag in place, so the tag filter has a tag to pick
    print(f"app pages measured after {time.perf_counter() - started:.0f} s", flush=True)
    figures["bulk_tag_10k_undo_s"], restored = clock(lambda: sda2.undo_bulk(ds, result, "bench"))
    assert restored == BULK
    if N < 500_000 or "--release" in sys.argv:
        figures["release_s"], release = clock(lambda: sda2.create_release(ds, "v1", "bench"))
    figures["peak_memory_MB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # bench + app pages
    figures.update(map_points(ds))
    figures["peak_memory_with_map_figure_MB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures.update(first_map())
    figures["benchmark_s"] = time.perf_counter() - started
    for key, value in figures.items():
        print(f"{key:40s} {round(value, 3) if isinstance(value, float) else value}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"scale_{N}.json").write_text(json.dumps(figures, indent=1, default=str))
    if "--keep" not in sys.argv:
        store.delete_dataset(NAME)


if __name__ == "__main__":
    browser_main() if BROWSER else main()
