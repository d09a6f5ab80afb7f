"""The UI as a hostile client sees it (issue 12): upload names, Gradio's file route, rejected
uploads over a stored original, orphaned uploads, and LLM endpoints the client names.

Every app here is the real one (``chat.ui.app.launch`` on a free loopback port, in this process)
driven over HTTP: gradio_client, or ``http.client`` where the exact bytes of a request matter.
The first app builds the index of the bundled report; the others start on a copy of its home.
"""

from __future__ import annotations

import http.client
import http.server
import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from gradio_client import Client, handle_file

from ragchat.net import free_loopback_port

pytestmark = [
    pytest.mark.reliability, pytest.mark.server,
    # Gradio's queue calls pandas APIs that pandas 3 deprecates (as in tests/ui/conftest.py)
    pytest.mark.filterwarnings("ignore:'future.no_silent_downcasting' is deprecated"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]

SECRET = "rc-secret-7f3a9c"  # in the settings file: never served
PASSWORD = "hostile-test-pw"
ORPHAN_FACT = "青松县第九水厂的日供水能力为37万吨。"
ORPHAN_QUESTION = "青松县第九水厂的日供水能力是多少?"


@dataclass
class App:
    url: str
    home: Path
    config: Path
    settings: object
    library: object
    demo: object


def _start(home: Path, toml: str = "", login: bool = False) -> App:
    """The real app on ``home`` with the settings file ``toml`` (plus a secret marker line)."""
    from chat.ui.app import launch
    from chat.ui.documents import Library
    from ragchat.settings import load_settings

    config = home / "ragchat.toml"
    config.write_text(f"# {SECRET}\n{toml}", encoding="utf-8")
    settings = load_settings(config=config, home=home)
    library = Library(settings)
    library.start()
    with pytest.MonkeyPatch.context() as env:
        if login:
            env.setenv(settings.ui.auth_password_env, PASSWORD)
        demo, url = launch(settings, host="127.0.0.1", port=free_loopback_port(), block=False, library=library,
                           quiet=True)
    library.wait(timeout=600)
    return App(url, home, config, settings, library, demo)


DEFAULT_KB_INDEX = "kbs/default/index"


def _copy_home(source: Path, target: Path) -> Path:
    """A home with a copy of ``source``'s index (the default knowledge base's) and caches (no
    documents): starts without a build."""
    for name in (DEFAULT_KB_INDEX, "cache"):
        shutil.copytree(source / name, target / name, ignore=shutil.ignore_patterns("*.lock"))
    return target


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    # Gradio's door lets 2 MiB in, so that the 1 MiB limit of ingest is the app's own check.
    running = _start(tmp_path_factory.mktemp("hostile-home"), "[ingest]\nmax_file_mb = 1\n[ui]\nmax_upload_mb = 2\n")
    try:
        yield running
    finally:
        running.demo.close()


@pytest.fixture
def client(app: App) -> Client:
    return Client(app.url, verbose=False)


def _files_around(app: App) -> set[Path]:
    """Every file under the folder that holds this session's homes and test files, but the index's
    and caches' own (which an index change writes)."""
    own = (app.settings.index_dir.resolve(), app.settings.cache_dir.resolve())
    return {p.resolve() for p in app.home.parent.rglob("*")
            if p.is_file() and not any(p.resolve().is_relative_to(d) for d in own)}


# --- upload names --------------------------------------------------------------------------------

HOSTILE_NAMES = [
    "../../etc/passwd.txt",
    "../../../../../../../../etc/passwd",
    "/etc/cron.d/evil.txt",
    "/tmp/abs 名单.md",
    "..\\..\\windows\\win.ini.txt",
    "C:\\Windows\\System32\\drivers\\etc\\hosts.txt",
    "nul\x00byte.txt",
    "evil\x00.txt/../../x.md",
    "a" * 300 + ".txt",
    ".bashrc.txt",
    ".env",
    "..",
    "...md",
    "四平报告/../../逃逸.md",
    "报告（2023）【终稿】.txt",
    "CON",
    "CON.txt",
    "aux.md",
    "file:///etc/shadow.txt",
    "%2e%2e%2fencoded.txt",
    "rtl\u202etxt.exe",
    "~/.ssh/authorized_keys.txt",
    "./../sibling.txt",
    "new\nline\r.md",
]


def test_hostile_upload_names_never_land_outside_the_documents_folder(app: App, tmp_path: Path):
    from chat.ui.documents import Upload, sanitize_filename

    library = app.library
    folder = app.settings.documents_dir.resolve()
    passwd = Path("/etc/passwd").read_bytes()
    uploads = []
    for i, name in enumerate(HOSTILE_NAMES):
        source = tmp_path / f"src-{i}.txt"
        source.write_text(f"第{i}号测试文件：青松县的县花是丁香花。", encoding="utf-8")
        uploads.append(Upload(source, name))
    before = _files_around(app)
    result = library.add(uploads)
    try:
        saved = _files_around(app) - before
        assert saved, result.to_dict()
        assert all(p.parent == folder for p in saved), sorted(str(p) for p in saved if p.parent != folder)
        assert all(not p.name.startswith(".") for p in saved)
        assert {p.name for p in saved} == set(result.added)
        assert set(result.added) <= {sanitize_filename(n) for n in HOSTILE_NAMES}
        assert len(result.added) >= 15, result.to_dict()
        rejected = {s["file"] for s in result.skipped}
        assert {"CON", "env", "document"} <= rejected  # no extension (and "." or ".." only): not accepted
        assert "rtltxt.exe" in rejected  # the right-to-left mark is dropped, the real type is .exe
        assert Path("/etc/passwd").read_bytes() == passwd
        sources = {Path(d["source"]).resolve() for d in library.documents()}
        assert {folder / name for name in result.added} <= sources
    finally:
        library.remove([d["doc_id"] for d in library.documents() if Path(d["source"]).parent.resolve() == folder])
    assert not any(folder.iterdir())


def _post_upload(url: str, filename: str, body: bytes) -> str:
    """Gradio's upload route with the exact multipart file name; the server-side path it returns."""
    boundary = "rc-hostile-boundary"
    quoted = filename.replace("\\", "\\\\").replace('"', '\\"')
    payload = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{quoted}"\r\n'
        f"Content-Type: text/plain\r\n\r\n"
    ).encode("utf-8") + body + f"\r\n--{boundary}--\r\n".encode()
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        conn.request("POST", "/gradio_api/upload", payload,
                     {"Content-Type": f"multipart/form-data; boundary={boundary}"})
        response = conn.getresponse()
        assert response.status == 200, response.read()
        return json.loads(response.read())[0]
    finally:
        conn.close()


def test_hostile_names_through_gradio_upload_route_stay_in_the_documents_folder(app: App, client: Client):
    folder = app.settings.documents_dir.resolve()
    before = _files_around(app)
    names = ["../../../escape-http.txt", "/etc/cron.d/evil-http.txt", "..\\..\\win-http.md",
             "名单/../../逃逸-http.md"]
    paths = [_post_upload(app.url, name, f"第{i}号：青松县的县树是白桦。".encode())
             for i, name in enumerate(names)]
    files = [{"path": p, "meta": {"_type": "gradio.FileData"}} for p in paths]
    result = client.predict(files, api_name="/upload")[3]
    try:
        assert len(result["added"]) == len(names), result
        new = _files_around(app) - before
        in_documents = {p for p in new if p.parent == folder}
        assert {p.name for p in in_documents} == set(result["added"])
        assert not new - in_documents, sorted(map(str, new - in_documents))
        cache = Path(os.environ.get("GRADIO_TEMP_DIR") or Path(tempfile.gettempdir()) / "gradio").resolve()
        assert all(Path(p).resolve().is_relative_to(cache) for p in paths), paths  # Gradio's own copies
    finally:
        ids = [d["doc_id"] for d in client.predict(api_name="/documents")
               if Path(d["source"]).name in result["added"]]
        client.predict(ids, api_name="/remove")


# --- Gradio's file route ---------------------------------------------------------------------------

def _get(url: str, path: str) -> tuple[int, bytes]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.request("GET", path)  # sent as is: no client-side normalisation of ".." or "%2e"
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_the_file_route_serves_no_file_of_the_machine(app: App):
    from index.store import live_version

    folder = app.settings.documents_dir
    folder.mkdir(parents=True, exist_ok=True)
    document = folder / "secret-doc.txt"
    document.write_text(f"文档 {SECRET}", encoding="utf-8")
    try:
        manifest = live_version(app.settings.index_dir) / "manifest.json"
        targets = {
            "settings": (app.config, SECRET.encode()),
            "document": (document, SECRET.encode()),
            "index": (manifest, b'"format"'),
            "passwd": (Path("/etc/passwd"), b"root:"),
        }
        attempts = []
        for key, (target, marker) in targets.items():
            absolute = str(target.resolve())
            climb = "../" * 12 + absolute.lstrip("/")
            forms = [
                f"/gradio_api/file={absolute}",
                f"/file={absolute}",
                f"/gradio_api/file={climb}",
                f"/file={climb}",
                f"/gradio_api/file={quote(absolute, safe='')}",
                f"/gradio_api/file={quote(climb, safe='')}",
                f"/gradio_api/file={quote(quote(climb, safe=''), safe='')}",
                "/gradio_api/file=" + climb.replace("/", "\\"),
                f"/gradio_api/file=/{absolute}",
                f"/gradio_api/file={target.parent}/./{target.name}",
            ]
            attempts += [(key, form, marker) for form in forms]
        # The route itself works: a file uploaded through Gradio is served back from Gradio's cache.
        uploaded = _post_upload(app.url, "served.txt", SECRET.encode())
        assert _get(app.url, f"/gradio_api/file={uploaded}") == (200, SECRET.encode())
        attempts.append(("index folder", f"/gradio_api/file={app.settings.index_dir}", b'"format"'))
        attempts.append(("documents folder", f"/gradio_api/file={folder}", SECRET.encode()))
        served = []
        for key, form, marker in attempts:
            status, body = _get(app.url, form)
            if status < 400 or marker in body:
                served.append((key, form, status, body[:80]))
        assert not served, served
        assert len(attempts) >= 18
    finally:
        document.unlink()


# --- item 3: a rejected upload never touches the stored original ------------------------------------

def _named(tmp_path: Path, tag: str, data: bytes, name: str = "notes.txt") -> Path:
    path = tmp_path / tag / name
    path.parent.mkdir()
    path.write_bytes(data)
    return path


def test_a_rejected_upload_leaves_the_stored_original_and_the_index_as_they_were(
        app: App, client: Client, tmp_path: Path):
    from index.store import live_version

    fact = "青松县白鹭湖湿地公园的面积为1260公顷。"
    good = _named(tmp_path, "good", f"# 笔记\n\n{fact}\n".encode())
    result = client.predict([handle_file(good)], api_name="/upload")[3]
    assert result["added"] == ["notes.txt"], result
    stored = app.settings.documents_dir / "notes.txt"
    original = stored.read_bytes()
    version = live_version(app.settings.index_dir)
    listed = client.predict(api_name="/documents")
    rejected = {
        "empty": b"",
        "blank": b" \n\t\r\n  \n",
        "binary": bytes(range(256)) * 8,
        "too large": "青松县".encode() * (2**20 // 9 * 6 // 5),  # over ingest.max_file_mb = 1
    }
    try:
        for tag, data in rejected.items():
            outputs = client.predict([handle_file(_named(tmp_path, tag.replace(" ", "-"), data))], api_name="/upload")
            html, result = outputs[0], outputs[3]
            assert result["added"] == result["updated"] == [], (tag, result)
            assert [s["file"] for s in result["skipped"]] == ["notes.txt"], (tag, result)
            assert result["skipped"][0]["reason"] and "/" not in result["skipped"][0]["reason"], result
            assert "skipped" in html
            assert stored.read_bytes() == original, tag
            assert live_version(app.settings.index_dir) == version, tag
            assert client.predict(api_name="/documents") == listed, tag
        assert [p.name for p in app.settings.documents_dir.iterdir()] == ["notes.txt"]  # no staging file left
        answer = client.predict("白鹭湖湿地公园的面积是多少?", None, None, "extractive", api_name="/ask")
        assert "1260公顷" in answer["answer"], answer
    finally:
        ids = [d["doc_id"] for d in client.predict(api_name="/documents") if Path(d["source"]).name == "notes.txt"]
        client.predict(ids, api_name="/remove")


# --- item 7: orphaned uploads -------------------------------------------------------------------------

def test_an_orphaned_upload_is_listed_on_start_and_indexed_in_one_click(app: App, tmp_path: Path):
    from chat.ui.app import Handlers

    home = _copy_home(app.home, tmp_path / "home")
    folder = home / "kbs" / "default" / "documents"
    folder.mkdir()
    (folder / "水厂简报.txt").write_text(f"# 水厂简报\n\n{ORPHAN_FACT}\n", encoding="utf-8")
    (folder / ".upload-abc123.txt").write_text("a staging file: hidden, not a document", encoding="utf-8")
    started = _start(home)
    try:
        client = Client(started.url, verbose=False)
        assert client.predict(api_name="/not_indexed") == ["水厂简报.txt"]
        status, *_rest, unindexed, button = Handlers(started.library).tick()
        assert "1 file(s) in the documents folder are not indexed" in status
        assert "水厂简报.txt" in unindexed and button.visible
        before = client.predict(ORPHAN_QUESTION, None, None, "extractive", api_name="/ask")
        assert "37万吨" not in before["answer"]

        _html, documents, _choices, result, status = client.predict(api_name="/index_not_indexed")
        assert result["added"] == ["水厂简报.txt"] and not result["skipped"], result
        assert "水厂简报.txt" in documents and "not indexed" not in status
        assert client.predict(api_name="/not_indexed") == []
        answer = client.predict(ORPHAN_QUESTION, None, None, "extractive", api_name="/ask")
        assert "37万吨" in answer["answer"], answer
        assert any(Path(c["source"]).name == "水厂简报.txt" for c in answer["citations"])
    finally:
        started.demo.close()


# --- item 11: the LLM endpoint a client names ------------------------------------------------------

class Recorder:
    """A real HTTP listener on loopback that records every request and answers 503."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, Message]] = []
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _record(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                recorder.requests.append((self.command, self.path, self.headers))
                self.send_response(503)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = _record

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def forbidden() -> Iterator[Recorder]:
    """The endpoint a client names and must not reach."""
    recorder = Recorder()
    yield recorder
    recorder.close()


@pytest.fixture
def allowed() -> Iterator[Recorder]:
    """The endpoint of ``llm.allowed_base_urls``."""
    recorder = Recorder()
    yield recorder
    recorder.close()


def _policy_toml(allowed_url: str, auth: bool, admins: tuple[str, ...] = ()) -> str:
    ui = f'auth_username = "alice"\nadmin_users = {json.dumps(list(admins))}\n' if auth else ""
    return f'[llm]\nallowed_base_urls = ["{allowed_url}"]\n[ui]\n{ui}'


QUESTION = "上半年全市GDP增长多少?"
KEY = "sk-hostile-test-key"


def _chat(client: Client, base_url: str):
    return client.predict(QUESTION, 3, "llm", base_url, "any-model", KEY, api_name="/chat")


@pytest.mark.parametrize("auth", [True, False], ids=["login, not an administrator", "no login, a list set"])
def test_an_endpoint_outside_the_allowed_list_is_refused_and_gets_nothing(
        app: App, tmp_path: Path, forbidden: Recorder, allowed: Recorder, auth: bool):
    started = _start(_copy_home(app.home, tmp_path / "home"), _policy_toml(allowed.base_url, auth), login=auth)
    try:
        client = Client(started.url, auth=("alice", PASSWORD) if auth else None, verbose=False)
        for url in (forbidden.base_url, forbidden.base_url + "/", forbidden.base_url.replace("/v1", "")):
            with pytest.raises(Exception, match="is not allowed here") as refused:
                _chat(client, url)
            assert "llm.allowed_base_urls" in str(refused.value) and KEY not in str(refused.value)
        assert forbidden.requests == []
        # The allowed endpoint is used (it fails with 503: the extractive answer comes with a warning).
        answer = _chat(client, allowed.base_url + "/")[3]
        assert answer["answerer"] == "extractive" and any("LLM endpoint failed" in n for n in answer["notes"])
        assert allowed.requests and allowed.requests[0][2].get("Authorization") == f"Bearer {KEY}"
        assert forbidden.requests == []
    finally:
        started.demo.close()


def test_an_administrator_may_name_any_endpoint(app: App, tmp_path: Path, forbidden: Recorder, allowed: Recorder):
    toml = _policy_toml(allowed.base_url, auth=True, admins=("alice",))
    started = _start(_copy_home(app.home, tmp_path / "home"), toml, login=True)
    try:
        answer = _chat(Client(started.url, auth=("alice", PASSWORD), verbose=False), forbidden.base_url)[3]
        assert any("LLM endpoint failed" in n for n in answer["notes"]), answer["notes"]
        assert forbidden.requests  # an administrator's request reached the endpoint it named
    finally:
        started.demo.close()


def test_the_endpoint_rule():
    from chat.endpoints import EndpointNotAllowedError, check_base_url
    from ragchat.settings import load_settings

    def settings(allowed=(), login=False, admins=()):
        base = load_settings()
        return base.model_copy(update={
            "llm": base.llm.model_copy(update={"base_url": "http://llm.local:8080/v1", "allowed_base_urls": allowed}),
            "ui": base.ui.model_copy(update={"auth_username": "alice" if login else "", "admin_users": admins}),
        })

    other = "http://elsewhere.example/v1"
    check_base_url(settings(), other, None)  # one local user, no list: as before
    check_base_url(settings(), "HTTP://LLM.local:8080/v1/", None)  # the configured one, however written
    check_base_url(settings(login=True, admins=("root",)), other, "root")
    check_base_url(settings(allowed=(other,), login=True), other + "/", "bob")
    refused = [
        (settings(allowed=("http://a.local/v1",)), other, None),
        (settings(login=True), other, "alice"),
        (settings(login=True, admins=("root",)), other, "alice"),
        (settings(login=True, admins=("root",)), other, None),
        (settings(allowed=(other,), login=True), other + "/v2", "alice"),
    ]
    for config, url, user in refused:
        with pytest.raises(EndpointNotAllowedError, match="not allowed"):
            check_base_url(config, url, user)


def test_partial_copies_left_by_killed_uploads_are_removed_on_start(tmp_path):
    from chat.ui.documents import Library
    from ragchat.settings import load_settings

    tiny = tmp_path / "tiny.txt"
    tiny.write_text("今年新建公园14个。\n", encoding="utf-8")
    settings = load_settings(home=tmp_path / "home", corpus=[tiny])
    folder = settings.documents_dir
    folder.mkdir(parents=True)
    old, young, kept = folder / ".upload-abc.txt", folder / ".upload-def.txt", folder / "notes.txt"
    for path in (old, young, kept):
        path.write_text("部分内容", encoding="utf-8")
    os.utime(old, (time.time() - 2 * 3600, time.time() - 2 * 3600))
    Library(settings).start().join(timeout=600)
    assert not old.exists()
    assert young.exists() and kept.exists()  # a young copy may be another process's upload in progress
