"""Peer benchmark: the save and label-stream measurements on Label Studio 1.23.2, next to LabelHub's
own (bench/save.py, bench/stream.py), on the same machine in one run, with the ratios.

Label Studio lives in its own virtual environment outside the project's (default .cache/ls-venv,
which is gitignored); without it this prints one JSON line saying so and exits 0. Install it with

    python3 -m venv .cache/ls-venv && .cache/ls-venv/bin/pip install label-studio==1.23.2

Run with the project's environment (it needs Playwright, Pillow and numpy):

    .venv/bin/python bench/peer_label_studio.py [--tasks 2000] [--saves 300] [--clients 8]
                                                [--stream-runs 20] [--no-stream] [--no-labelhub]

What it does, all on 127.0.0.1 (see bench/README.md for the details and caveats):
1. starts Label Studio (Django dev server, SQLite, fresh data folder, analytics and version checks
   off) on a free port, and a small threaded HTTP server (with CORS) for generated JPEGs;
2. SAVE: creates a RectangleLabels project with --tasks image tasks and saves one box the way the
   editor does: POST /api/tasks/{id}/annotations (Submit: one new annotation per task) and PATCH
   /api/annotations/{id} (Update: the same annotation again and again), each --saves times one
   after another (p50/p95 round trip, a fresh connection per call), then with --clients threads
   (saves/s);
3. STREAM: in headless Chromium, logs in, opens the project's label stream
   (/projects/{id}/data?labeling=1), and per task draws a box (label key 1, drag), then times
   Ctrl+Enter (submit) -> the next task's image decoded and painted, timed inside the page;
4. stops Label Studio and the image server, then runs LabelHub's bench/save.py (same --saves and
   --clients) and bench/stream.py (if it exists) as subprocesses, and prints the ratios.

Prints JSON lines and ends with a {"bench": "peer_summary", ...} line.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.client
import http.server
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LS_VERSION = "1.23.2"
HOST = "127.0.0.1"
USERNAME = "bench@example.com"
PASSWORD = "peer-bench-password"
TOKEN = "peerbench" + uuid.uuid4().hex[:24]
LABEL_CONFIG = (
    '<View><Image name="image" value="$image"/>'
    '<RectangleLabels name="label" toName="image">'
    '<Label value="dog"/><Label value="cat"/></RectangleLabels>'
    "</View>"
)
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def emit(record: dict[str, Any]) -> None:
    print(json.dumps(record), flush=True)


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------------------------
# servers


class _CorsHandler(http.server.SimpleHTTPRequestHandler):
    """Static files with Access-Control-Allow-Origin: * (the editor fetches images by XHR)."""

    def end_headers(self) -> None:
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, *args: Any) -> None:
        pass


class ImageServer:
    def __init__(self, folder: Path) -> None:
        self.httpd = http.server.ThreadingHTTPServer(
            (HOST, 0), functools.partial(_CorsHandler, directory=str(folder))
        )
        self.httpd.daemon_threads = True
        self.url = f"http://{HOST}:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)


class LabelStudio:
    def __init__(self, venv: Path, data_dir: Path, port: int) -> None:
        self.port = port
        self.url = f"http://{HOST}:{port}"
        venv = venv.resolve()  # it runs with cwd=data_dir
        self.log_path = data_dir / "label-studio.log"
        env = dict(os.environ)
        for k in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"):
            env.pop(k, None)
        env.update(
            LATEST_VERSION_CHECK="false",
            COLLECT_ANALYTICS="false",
            SENTRY_DSN="",
            FRONTEND_SENTRY_DSN="",
            LABEL_STUDIO_BASE_DATA_DIR=str(data_dir),
            PATH=f"{venv / 'bin'}:{env.get('PATH', '')}",
        )
        cmd = [
            str(venv / "bin" / "label-studio"),
            "start",
            "--no-browser",
            "--internal-host",
            HOST,
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
            "--username",
            USERNAME,
            "--password",
            PASSWORD,
            "--user-token",
            TOKEN,
            "--enable-legacy-api-token",
        ]
        self._log = open(self.log_path, "wb")  # noqa: SIM115 (closed in stop())
        self.started = time.perf_counter()
        # its own session (process group): stop() ends it and what it spawned, and nothing else
        self.proc = subprocess.Popen(
            cmd,
            env=env,
            cwd=str(data_dir),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 240) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"Label Studio exited ({self.proc.returncode}): {self.log_tail()}"
                )
            try:
                conn = http.client.HTTPConnection(HOST, self.port, timeout=5)
                conn.request("GET", "/health")
                if conn.getresponse().status == 200:
                    conn.close()
                    return time.perf_counter() - self.started
                conn.close()
            except OSError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"Label Studio not ready after {timeout:.0f} s: {self.log_tail()}")

    def cpu_ms(self) -> float:
        """CPU time (user + system) of the server process so far: load on the machine from other
        programs stretches wall-clock latencies but hardly this."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return float("nan")

    def rss_mb(self) -> float | None:
        try:
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return round(int(line.split()[1]) / 1024, 1)
        except OSError:
            pass
        return None

    def log_tail(self, n: int = 1500) -> str:
        try:
            return self.log_path.read_bytes()[-n:].decode(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self._log.close()


# ---------------------------------------------------------------------------------------------
# API client, token auth (as the SDK does). By default a fresh connection per call: on a
# kept-alive connection LS's dev server (wsgiref) sends the response headers and body in two
# writes, and Nagle's algorithm with the client's delayed ACK adds ~40 ms to every call -- TCP,
# not server work (see the http_floor lines, which measure both).


class Api:
    def __init__(self, port: int, keep_alive: bool = False) -> None:
        self.port = port
        self.keep_alive = keep_alive
        self.conn: http.client.HTTPConnection | None = None

    def _connect(self) -> http.client.HTTPConnection:
        if self.conn is None:
            self.conn = http.client.HTTPConnection(HOST, self.port, timeout=60)
        return self.conn

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Authorization": f"Token {TOKEN}", "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        if not self.keep_alive:
            headers["Connection"] = "close"
        for attempt in (0, 1):
            conn = self._connect()
            try:
                conn.request(method, path, body=data, headers=headers)
                resp = conn.getresponse()
                raw = resp.read()
                if not self.keep_alive or resp.will_close:
                    self.close()
                try:
                    return resp.status, json.loads(raw) if raw else None
                except ValueError:
                    return resp.status, raw[:300].decode(errors="replace")
            except (
                http.client.RemoteDisconnected,
                ConnectionError,
                http.client.CannotSendRequest,
                http.client.ResponseNotReady,
                BrokenPipeError,
            ):
                self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        status, payload = self.call(method, path, body)
        if status >= 300:
            raise RuntimeError(f"{method} {path} -> {status}: {str(payload)[:300]}")
        return payload

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def box_result(k: int) -> list[dict[str, Any]]:
    """One rectangle, in the shape the editor sends (percent coordinates)."""
    return [
        {
            "original_width": 640,
            "original_height": 480,
            "image_rotation": 0,
            "value": {
                "x": 10 + k % 50,
                "y": 20.0,
                "width": 40 / 6.4,
                "height": 30 / 4.8,
                "rotation": 0,
                "rectanglelabels": ["dog"],
            },
            "id": "bx" + uuid.uuid4().hex[:8],
            "from_name": "label",
            "to_name": "image",
            "type": "rectanglelabels",
            "origin": "manual",
        }
    ]


def submit_body(project: int, k: int) -> dict[str, Any]:
    """The editor's Submit body (captured from LS 1.23.2's editor)."""
    return {
        "lead_time": 1.5,
        "result": box_result(k),
        "draft_id": 0,
        "parent_prediction": None,
        "parent_annotation": None,
        "started_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "unique_id": str(uuid.uuid4()),
        "project": str(project),
    }


def update_body(project: int, k: int, result: list[dict[str, Any]]) -> dict[str, Any]:
    """The editor's Update body: the whole result again, with the box moved."""
    moved = json.loads(json.dumps(result))
    moved[0]["value"]["x"] = 10 + k % 50
    return {
        "lead_time": 1.5 + k,
        "result": moved,
        "draft_id": 0,
        "parent_prediction": None,
        "parent_annotation": None,
        "started_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "project": str(project),
    }


def task_ids(api: Api, project: int, expected: int) -> list[int]:
    ids: list[int] = []
    page = 1
    while len(ids) < expected and page <= expected // 100 + 5:
        payload = api.ok(
            "GET", f"/api/tasks/?project={project}&page={page}&page_size=100&fields=task_only"
        )
        tasks = payload["tasks"] if isinstance(payload, dict) else payload
        if not tasks:
            break
        ids.extend(t["id"] for t in tasks)
        page += 1
    return sorted(ids)


def create_project(api: Api, title: str, urls: list[str]) -> tuple[int, list[int], float]:
    project = api.ok("POST", "/api/projects/", {"title": title, "label_config": LABEL_CONFIG})["id"]
    t = time.perf_counter()
    for i in range(0, len(urls), 1000):  # import in chunks, as a big upload would be
        api.ok(
            "POST", f"/api/projects/{project}/import", [{"image": u} for u in urls[i : i + 1000]]
        )
    import_s = time.perf_counter() - t
    return project, task_ids(api, project, len(urls)), import_s


# ---------------------------------------------------------------------------------------------
# SAVE


def save_bench(ls: LabelStudio, image_urls: list[str], args: argparse.Namespace) -> dict[str, Any]:
    api = Api(ls.port)
    clients = args.clients
    per = max(1, args.saves // clients)
    needed = 10 + args.saves + clients * per + clients + 1
    urls = [image_urls[i % len(image_urls)] for i in range(max(args.tasks, needed))]
    project, ids, import_s = create_project(api, "peer save bench", urls)
    emit(
        {
            "bench": "ls_setup",
            "system": "label-studio",
            "project": project,
            "tasks": len(ids),
            "import_s": round(import_s, 2),
        }
    )
    if len(ids) < needed:
        raise RuntimeError(f"only {len(ids)} tasks listed, {needed} needed")
    free = iter(ids)
    out: dict[str, Any] = {}

    for _ in range(10):  # warm-up (first requests load code paths, fill caches)
        api.ok(
            "POST",
            f"/api/tasks/{next(free)}/annotations?project={project}",
            submit_body(project, 0),
        )

    # the floor under every API call: HTTP, middleware, token auth, a tiny JSON reply
    for keep in (False, True):
        for name, path in (("health", "/health"), ("whoami", "/api/current-user/whoami")):
            floor: list[float] = []
            client = Api(ls.port, keep_alive=keep)
            for _ in range(100):
                t = time.perf_counter()
                client.ok("GET", path)
                floor.append((time.perf_counter() - t) * 1000)
            out[f"floor_{name}" + ("_keepalive" if keep else "")] = rec = {
                "bench": "http_floor",
                "system": "label-studio",
                "op": f"GET {path}",
                "requests": len(floor),
                "connection": "kept alive" if keep else "fresh per call",
                "p50_ms": round(statistics.median(floor), 2),
                "p95_ms": round(pct(floor, 0.95), 2),
            }
            emit(rec)
            client.close()

    # sequential Submit: one new annotation per task
    post_ms: list[float] = []
    errors = 0
    cpu0 = ls.cpu_ms()
    for k in range(args.saves):
        tid = next(free)
        t = time.perf_counter()
        status, _ = api.call(
            "POST", f"/api/tasks/{tid}/annotations?project={project}", submit_body(project, k)
        )
        post_ms.append((time.perf_counter() - t) * 1000)
        errors += status >= 300
    out["post_1"] = rec = {
        "bench": "save",
        "system": "label-studio",
        "op": "POST /api/tasks/{id}/annotations (Submit)",
        "clients": 1,
        "saves": len(post_ms),
        "errors": errors,
        "p50_ms": round(statistics.median(post_ms), 2),
        "p95_ms": round(pct(post_ms, 0.95), 2),
        "server_cpu_ms_per_save": round((ls.cpu_ms() - cpu0) / len(post_ms), 1),
    }
    emit(rec)

    # sequential Update: the same annotation, box moved each time
    tid = next(free)
    created = api.ok(
        "POST", f"/api/tasks/{tid}/annotations?project={project}", submit_body(project, 0)
    )
    patch_ms: list[float] = []
    errors = 0
    result = created["result"]
    cpu0 = ls.cpu_ms()
    for k in range(args.saves):
        body = update_body(project, k, result)
        t = time.perf_counter()
        status, _ = api.call(
            "PATCH", f"/api/annotations/{created['id']}?taskID={tid}&project={project}", body
        )
        patch_ms.append((time.perf_counter() - t) * 1000)
        errors += status >= 300
    out["patch_1"] = rec = {
        "bench": "save",
        "system": "label-studio",
        "op": "PATCH /api/annotations/{id} (Update)",
        "clients": 1,
        "saves": len(patch_ms),
        "errors": errors,
        "p50_ms": round(statistics.median(patch_ms), 2),
        "p95_ms": round(pct(patch_ms, 0.95), 2),
        "server_cpu_ms_per_save": round((ls.cpu_ms() - cpu0) / len(patch_ms), 1),
    }
    emit(rec)

    # concurrent: `clients` threads; POST to their own tasks, then PATCH their own annotation
    def run_concurrent(kind: str) -> dict[str, Any]:
        own_tasks = [
            [next(free) for _ in range(per if kind == "post" else 1)] for _ in range(clients)
        ]
        own_ann: list[tuple[int, int, list[dict[str, Any]]]] = []
        if kind == "patch":
            for tasks in own_tasks:
                a = api.ok(
                    "POST",
                    f"/api/tasks/{tasks[0]}/annotations?project={project}",
                    submit_body(project, 0),
                )
                own_ann.append((tasks[0], a["id"], a["result"]))
        results: list[list[float]] = [[] for _ in range(clients)]
        errs = [0] * clients
        barrier = threading.Barrier(clients + 1)

        def client(i: int) -> None:
            c = Api(ls.port)
            try:
                barrier.wait(timeout=60)
                for k in range(per):
                    if kind == "post":
                        path, method = (
                            f"/api/tasks/{own_tasks[i][k]}/annotations?project={project}",
                            "POST",
                        )
                        body = submit_body(project, k)
                    else:
                        t_id, a_id, res = own_ann[i]
                        path, method = (
                            f"/api/annotations/{a_id}?taskID={t_id}&project={project}",
                            "PATCH",
                        )
                        body = update_body(project, k, res)
                    t = time.perf_counter()
                    try:
                        status, _ = c.call(method, path, body)
                    except OSError:
                        status = 599
                    results[i].append((time.perf_counter() - t) * 1000)
                    errs[i] += status >= 300
            finally:
                c.close()

        threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
        for th in threads:
            th.start()
        barrier.wait(timeout=60)
        t0 = time.perf_counter()
        cpu0 = ls.cpu_ms()
        for th in threads:
            th.join(timeout=600)
        elapsed = time.perf_counter() - t0
        cpu = ls.cpu_ms() - cpu0
        merged = [v for r in results for v in r]
        ok = len(merged) - sum(errs)
        return {
            "bench": "save",
            "system": "label-studio",
            "op": "POST /api/tasks/{id}/annotations (Submit)"
            if kind == "post"
            else "PATCH /api/annotations/{id} (Update)",
            "clients": clients,
            "saves": len(merged),
            "errors": sum(errs),
            "saves_per_s": round(ok / elapsed, 1),
            "p50_ms": round(statistics.median(merged), 2),
            "p95_ms": round(pct(merged, 0.95), 2),
            "server_cpu_ms_per_save": round(cpu / max(1, len(merged)), 1),
            "cpus": os.cpu_count(),
        }

    out["post_n"] = run_concurrent("post")
    emit(out["post_n"])
    out["patch_n"] = run_concurrent("patch")
    emit(out["patch_n"])
    api.close()
    return out


# ---------------------------------------------------------------------------------------------
# STREAM

KEY_PROBE = """
window.__peer = {t0: null, old: []};
window.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
    window.__peer.t0 = performance.now();  // as bench/stream.py: when the page sees the key
    window.__peer.old = Array.from(document.images).map((i) => i.src)
      .filter((s) => s.startsWith('blob:'));
  }
}, true);
"""

# After the key: every frame, look for an <img> with a blob: URL the page did not show at the key,
# loaded and laid out; then decode() it and wait one more frame (it is painted). Time since keydown.
WAIT_NEXT_IMAGE = """
async (limitMs) => {
  const p = window.__peer;
  const frame = () => new Promise((r) => requestAnimationFrame(r));
  if (p.t0 === null) return {error: 'no keydown seen'};
  while (performance.now() - p.t0 < limitMs) {
    await frame();
    const img = Array.from(document.images).find((i) => i.src.startsWith('blob:')
        && !p.old.includes(i.src) && i.complete && i.naturalWidth > 0
        && i.getBoundingClientRect().width > 0);
    if (img) {
      const seenMs = performance.now() - p.t0;
      try { await img.decode(); } catch (e) {}
      await frame();
      const ms = performance.now() - p.t0;
      p.t0 = null;
      return {ms, seenMs, width: img.naturalWidth};
    }
  }
  p.t0 = null;
  return {error: 'timeout'};
}
"""

FIRST_IMAGE = """
() => Array.from(document.images).some((i) => i.src.startsWith('blob:') && i.complete
    && i.naturalWidth > 0 && i.getBoundingClientRect().width > 0)
"""


def stream_bench(
    ls: LabelStudio, images: ImageServer, names: list[str], args: argparse.Namespace
) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    chromium = os.environ.get("LABELHUB_CHROMIUM") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        return {
            "bench": "stream",
            "system": "label-studio",
            "skipped": f"no Chromium at {chromium}",
        }
    api = Api(ls.port)
    # one distinct image per task, so every next image is a real fetch + decode
    urls = [f"{images.url}/{names[i % len(names)]}" for i in range(args.stream_runs + 3)]
    project, _ids, _ = create_project(api, "peer stream bench", urls)

    times: list[float] = []
    seen: list[float] = []
    failures: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS, headless=True)
        try:
            version = browser.version
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            context.add_init_script(KEY_PROBE)
            page = context.new_page()
            page.set_default_timeout(60_000)
            page.goto(f"{ls.url}/user/login/")
            page.fill("input[name=email]", USERNAME)
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(lambda u: "/user/login" not in u, timeout=60_000)

            t = time.perf_counter()
            page.goto(f"{ls.url}/projects/{project}/data?labeling=1")
            page.wait_for_function(FIRST_IMAGE, polling="raf", timeout=90_000)
            first_s = time.perf_counter() - t
            page.wait_for_timeout(500)

            for k in range(args.stream_runs):
                # draw a box: label key 1 (dog), drag inside the image (not timed)
                rect = page.evaluate(
                    """() => { const i = Array.from(document.images).find(
                                   (i) => i.src.startsWith('blob:')
                                          && i.getBoundingClientRect().width > 0);
                               const r = i.getBoundingClientRect();
                               return [r.x, r.y, r.width, r.height]; }"""
                )
                x, y, w, h = rect
                f = 0.15 + 0.02 * (k % 10)
                page.keyboard.press("1")
                page.mouse.move(x + w * f, y + h * f)
                page.mouse.down()
                page.mouse.move(x + w * (f + 0.2), y + h * (f + 0.15), steps=5)
                page.mouse.up()
                page.wait_for_timeout(250)
                # timed: submit -> next task's image drawn
                page.keyboard.press("Control+Enter")
                r = page.evaluate(WAIT_NEXT_IMAGE, 30_000)
                if "error" in r:
                    failures.append(f"task {k}: {r['error']}")
                    page.screenshot(path=str(Path(args.out_dir) / f"peer_ls_stream_fail_{k}.png"))
                    break
                times.append(r["ms"])
                seen.append(r["seenMs"])
                page.wait_for_timeout(300)  # idle between tasks, as a person would be
        finally:
            browser.close()

    project_info = api.ok("GET", f"/api/projects/{project}")
    api.close()
    rec: dict[str, Any] = {
        "bench": "stream",
        "system": "label-studio",
        "measure": "Ctrl+Enter keydown -> next task's image loaded, decoded and painted (in-page)",
        "runs": len(times),
        "failures": failures,
        "mean_ms": round(statistics.fmean(times), 1) if times else None,
        "p50_ms": round(statistics.median(times), 1) if times else None,
        "p95_ms": round(pct(times, 0.95), 1) if times else None,
        "mean_image_seen_ms": round(statistics.fmean(seen), 1) if seen else None,
        "open_stream_first_image_s": round(first_s, 2),
        "annotations_saved": project_info.get("total_annotations_number"),
        "chromium": version,
        "cpus": os.cpu_count(),
    }
    return rec


# ---------------------------------------------------------------------------------------------
# LabelHub's own benchmarks


def run_json_lines(cmd: list[str], timeout: float) -> tuple[list[dict[str, Any]], str | None]:
    try:
        proc = subprocess.run(cmd, cwd=str(ROOT), capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return [], f"timed out after {timeout:.0f} s"
    lines = []
    for line in proc.stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            with contextlib.suppress(ValueError):
                lines.append(json.loads(line))
    if proc.returncode != 0:
        return lines, f"exit {proc.returncode}: {proc.stderr[-800:]}"
    return lines, None


def stream_mean_ms(records: list[dict[str, Any]]) -> float | None:
    """The mean from bench/stream.py's output: the last record with a mean_ms (or mean_s)."""
    for rec in reversed(records):
        for key, scale in (("mean_ms", 1.0), ("mean_s", 1000.0)):
            if isinstance(rec.get(key), (int, float)):
                return rec[key] * scale
    return None


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return round(a / b, 2)


# ---------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ls-venv", default=str(ROOT / ".cache" / "ls-venv"))
    parser.add_argument("--tasks", type=int, default=2000, help="image tasks in the save project")
    parser.add_argument("--saves", type=int, default=300)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--stream-runs", type=int, default=20)
    parser.add_argument("--no-stream", action="store_true")
    parser.add_argument("--no-labelhub", action="store_true", help="only measure Label Studio")
    parser.add_argument("--out-dir", default=str(ROOT / "bench" / "out"))
    args = parser.parse_args()
    args.clients = max(1, min(args.clients, 32))
    args.saves = max(args.clients, min(args.saves, 5000))
    args.stream_runs = max(1, min(args.stream_runs, 200))
    Path(args.out_dir).mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()

    venv = Path(args.ls_venv)
    if not (venv / "bin" / "label-studio").exists():
        emit(
            {
                "bench": "peer",
                "system": "label-studio",
                "skipped": f"no Label Studio at {venv}",
                "install": f"python3 -m venv {venv} && "
                f"{venv}/bin/pip install label-studio=={LS_VERSION}",
            }
        )
        return 0
    emit(
        {
            "bench": "peer_machine",
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "label_studio": LS_VERSION,
            "loadavg_1m": round(os.getloadavg()[0], 2),
        }
    )

    from tests.images import make_jpeg

    work = Path(tempfile.mkdtemp(prefix="peer-ls-"))
    img_dir = work / "images"
    img_dir.mkdir()
    names = []
    for i in range(max(40, args.stream_runs + 3)):
        name = f"img{i:03d}.jpg"
        (img_dir / name).write_bytes(make_jpeg(640, 480, seed=1000 + i))
        names.append(name)
    (work / "ls-data").mkdir()

    ls: LabelStudio | None = None
    images: ImageServer | None = None
    save: dict[str, Any] = {}
    stream: dict[str, Any] = {}
    try:
        images = ImageServer(img_dir)
        ls = LabelStudio(venv, work / "ls-data", free_port())
        ready_s = ls.wait_ready()
        emit(
            {
                "bench": "ls_start",
                "system": "label-studio",
                "ready_s": round(ready_s, 1),
                "rss_mb": ls.rss_mb(),
            }
        )
        save = save_bench(ls, [f"{images.url}/{n}" for n in names], args)
        if not args.no_stream:
            try:
                stream = stream_bench(ls, images, names, args)
            except Exception as exc:  # the UI flow is the fragile part: report and carry on
                stream = {
                    "bench": "stream",
                    "system": "label-studio",
                    "error": f"{type(exc).__name__}: {exc}"[:600],
                }
            emit(stream)
        emit({"bench": "ls_end", "system": "label-studio", "rss_mb": ls.rss_mb()})
    finally:
        if ls is not None:
            ls.stop()
        if images is not None:
            images.stop()
        shutil.rmtree(work, ignore_errors=True)

    # LabelHub, after Label Studio is stopped (2 cores: nothing else running during either)
    lh_save: dict[int, dict[str, Any]] = {}
    lh_stream_ms: float | None = None
    stream_note = None
    if not args.no_labelhub:
        recs, err = run_json_lines(
            [
                sys.executable,
                str(ROOT / "bench" / "save.py"),
                "--saves",
                str(args.saves),
                "--clients",
                str(args.clients),
            ],
            timeout=900,
        )
        for rec in recs:
            rec["system"] = "labelhub"
            emit(rec)
            lh_save[rec.get("clients", 0)] = rec
        if err:
            emit({"bench": "save", "system": "labelhub", "error": err})
        stream_py = ROOT / "bench" / "stream.py"
        if args.no_stream:
            stream_note = "stream not run (--no-stream)"
        elif stream_py.exists():
            recs, err = run_json_lines([sys.executable, str(stream_py)], timeout=900)
            for rec in recs:
                rec["system"] = "labelhub"
                emit(rec)
            if err:
                emit({"bench": "stream", "system": "labelhub", "error": err})
            lh_stream_ms = stream_mean_ms(recs)
            if lh_stream_ms is None:
                stream_note = "bench/stream.py gave no mean_ms/mean_s"
        else:
            stream_note = "bench/stream.py not there yet: LabelHub's stream side not measured"

    one, many = lh_save.get(1, {}), lh_save.get(args.clients, {})
    summary = {
        "bench": "peer_summary",
        "ls_p50_ms_post": save.get("post_1", {}).get("p50_ms"),
        "ls_p50_ms_patch": save.get("patch_1", {}).get("p50_ms"),
        "labelhub_p50_ms": one.get("p50_ms"),
        "save_p50_ratio_ls_post_over_labelhub": ratio(
            save.get("post_1", {}).get("p50_ms"), one.get("p50_ms")
        ),
        "save_p50_ratio_ls_patch_over_labelhub": ratio(
            save.get("patch_1", {}).get("p50_ms"), one.get("p50_ms")
        ),
        "ls_saves_per_s_post": save.get("post_n", {}).get("saves_per_s"),
        "ls_saves_per_s_patch": save.get("patch_n", {}).get("saves_per_s"),
        "labelhub_saves_per_s": many.get("saves_per_s"),
        "saves_per_s_ratio_labelhub_over_ls_post": ratio(
            many.get("saves_per_s"), save.get("post_n", {}).get("saves_per_s")
        ),
        "saves_per_s_ratio_labelhub_over_ls_patch": ratio(
            many.get("saves_per_s"), save.get("patch_n", {}).get("saves_per_s")
        ),
        "ls_server_cpu_ms_per_save_post": save.get("post_1", {}).get("server_cpu_ms_per_save"),
        "ls_server_cpu_ms_per_save_patch": save.get("patch_1", {}).get("server_cpu_ms_per_save"),
        "ls_http_floor_p50_ms": save.get("floor_whoami", {}).get("p50_ms"),
        "ls_stream_mean_ms": stream.get("mean_ms"),
        "labelhub_stream_mean_ms": None if lh_stream_ms is None else round(lh_stream_ms, 1),
        "stream_ratio_ls_over_labelhub": ratio(stream.get("mean_ms"), lh_stream_ms),
        "note": stream_note,
        "cpus": os.cpu_count(),
        "loadavg_1m_at_end": round(os.getloadavg()[0], 2),
        "elapsed_s": round(time.perf_counter() - started, 1),
    }
    emit(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
