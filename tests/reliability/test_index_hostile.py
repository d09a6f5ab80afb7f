"""The index under hostile use (issue 12): readers never lose their version, a running
service follows writes by other processes, kills at random points, two writers,
readers during writes, every kind of file damage (fallback, verify, rebuild), the
first-run race and leftover files. Every process here is real; nothing is faked.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from index.keyword.bm25 import BM25Params
from index.lock import index_lock
from index.models import embeddings_from_settings
from index.store import live_version, load_snapshot, verify_index, versions
from index.update import update_index
from ragchat.errors import CorruptIndexError
from ragchat.settings import load_settings

pytestmark = pytest.mark.reliability

ROOT = Path(__file__).resolve().parents[2]
PARK = "今年新建公园多少个?"
GREENHOUSE = "今年全市新建温室大棚多少座?"


def _docs(folder: Path, report_text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.txt").write_text(report_text, encoding="utf-8")
    (folder / "a.txt").write_text("城市简报\n\n今年新建公园14个，改造供热管网96公里。\n", encoding="utf-8")
    (folder / "b.txt").write_text("农业简报\n\n今年全市新建温室大棚210座。\n\n全市玉米单产提高到每亩712公斤。\n",
                                  encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def warm_home(tmp_path_factory, report_text) -> Path:
    """A home whose embedding cache already holds every text of the documents here."""
    home = tmp_path_factory.mktemp("warm-home")
    docs = _docs(home / "docs", report_text)
    settings = load_settings(home=home)
    update_index(home / "warmup-index", settings, embeddings_from_settings(settings), add=[docs])
    return home


@pytest.fixture
def env(warm_home, tmp_path) -> dict[str, str]:
    return {**os.environ, "RAGCHAT_HOME": str(warm_home), "RAGCHAT_INDEX__DIR": str(tmp_path / "index")}


@pytest.fixture
def settings(env):
    return load_settings(home=Path(env["RAGCHAT_HOME"])).model_copy(
        update={"index": load_settings().index.model_copy(update={"dir": Path(env["RAGCHAT_INDEX__DIR"])})})


@pytest.fixture
def docs(tmp_path, report_text) -> Path:
    return _docs(tmp_path / "docs", report_text)


def _cli(env: dict[str, str], *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ragchat", *args], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=timeout)


def _add(settings, *paths: Path):
    return update_index(settings.index_dir, settings, embeddings_from_settings(settings), add=paths)


def _lock_holder(index_dir: Path, seconds: float = 3) -> subprocess.Popen[str]:
    """Another process that holds the writer lock for ``seconds`` (it prints "locked" first)."""
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time
        from pathlib import Path
        from index.lock import index_lock
        with index_lock(Path({str(index_dir)!r})):
            print("locked", flush=True)
            time.sleep({seconds})
    """)], stdout=subprocess.PIPE, text=True, cwd=ROOT)


def _sources(snapshot) -> set[str]:
    return {Path(rec.source).name for rec in snapshot.documents.values()}


# --- readers keep their version; a running service follows other processes ---------------------------


def test_a_reader_keeps_its_version_while_two_writes_go_by(settings, docs, report_text):
    _add(settings, docs / "report.txt")
    reader = load_snapshot(settings.index_dir)
    version, doc_id = reader.path.name, next(iter(reader.documents))
    _add(settings, docs / "a.txt")
    _add(settings, docs / "b.txt")  # the live version and the one before it are kept anyway; this one is not
    assert (settings.index_dir / version).is_dir()
    assert reader.document_text(doc_id) == report_text  # read lazily, after both writes
    reader.close()
    _add(settings, docs / "a.txt", docs / "b.txt", docs / "report.txt")  # unchanged: nothing is written
    update_index(settings.index_dir, settings, embeddings_from_settings(settings), remove=["a.txt"])
    assert not (settings.index_dir / version).exists()  # released, so pruned by the next write
    assert len(versions(settings.index_dir)) == 2


def test_a_reader_in_another_process_keeps_its_version(settings, docs, env):
    _add(settings, docs / "report.txt")
    reader = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys
            from pathlib import Path
            from index.store import load_snapshot
            snap = load_snapshot(Path({str(settings.index_dir)!r}))
            print(snap.path.name, flush=True)
            sys.stdin.readline()
            texts = [snap.document_text(d) for d in snap.documents]
            hits = snap.keyword.search("肉牛养殖量", 3)
            print("ok" if texts and hits else "empty", flush=True)
        """)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env,
    )
    try:
        version = reader.stdout.readline().strip()
        for name in ("a.txt", "b.txt"):
            proc = _cli(env, "index", "add", str(docs / name))
            assert proc.returncode == 0, proc.stderr
        assert (settings.index_dir / version).is_dir()
        reader.stdin.write("go\n")
        reader.stdin.flush()
        assert reader.stdout.readline().strip() == "ok"
    finally:
        reader.kill()
        reader.wait()


def test_the_ui_library_follows_writes_by_another_process(settings, docs, env):
    from chat.ui.documents import Library

    _add(settings, docs / "report.txt")
    library = Library(settings)
    library.start()
    first = library.wait(timeout=600)
    assert first.answer(GREENHOUSE).refused
    for name in ("a.txt", "b.txt"):  # two writes: the version the UI loaded would be pruned
        proc = _cli(env, "index", "add", str(docs / name))
        assert proc.returncode == 0, proc.stderr
    service = library.wait()
    assert service is not first and service.snapshot.path == live_version(settings.index_dir)
    answer = service.answer(GREENHOUSE)
    assert not answer.refused and "210" in answer.text
    assert Path(answer.citations[0].source).name == "b.txt"
    assert "131.7万头" in service.answer("肉牛养殖量达到多少?").text
    assert "131.7万头" in first.answer("肉牛养殖量达到多少?").text  # a question still on the old service
    assert library.wait() is service  # no reload while CURRENT stays


def test_a_newer_version_that_cannot_be_loaded_leaves_the_service_answering(settings, docs):
    from chat.live import LiveService
    from chat.service import AnswerService

    _add(settings, docs / "report.txt")
    embeddings = embeddings_from_settings(settings)
    live = LiveService(AnswerService(settings, load_snapshot(settings.index_dir), embeddings))
    first = live.get()
    _add(settings, docs / "a.txt")
    newest = live_version(settings.index_dir)
    (newest / "chunks.jsonl").write_text("damaged\n", encoding="utf-8")
    (settings.index_dir / versions(settings.index_dir)[0] / "faiss.index").write_bytes(b"\0" * 64)
    assert live.get() is first  # neither version loads: the old service goes on
    assert isinstance(live.reload_error, CorruptIndexError)
    assert "131.7万头" in live.get().answer("肉牛养殖量达到多少?").text


# --- kills at random points ------------------------------------------------------------------------------

KILLS_PER_OPERATION = 3
SEED = 20261130


def _big_folder(folder: Path, parts: int) -> Path:
    folder.mkdir()
    for i in range(parts):
        (folder / f"part{i}.txt").write_text(
            "".join(f"第{i}部分第{j}段：本市今年完成第{j}项重点工程，投资{i * 7 + j}亿元。\n\n" for j in range(30)),
            encoding="utf-8")
    return folder


@pytest.mark.parametrize("operation", ["add", "update", "remove", "rebuild"])
def test_kills_at_random_points_leave_a_whole_index(settings, docs, env, tmp_path, operation):
    rng = random.Random(f"{SEED}-{operation}")
    big = _big_folder(tmp_path / "big", 12)
    for kill in range(KILLS_PER_OPERATION):
        shutil.rmtree(settings.index_dir, ignore_errors=True)
        _add(settings, docs / "report.txt", docs / "a.txt")
        before = _sources(load_snapshot(settings.index_dir, fallback=False))
        if operation == "add":
            args, after = ["index", "add", str(big)], before | {f"part{i}.txt" for i in range(12)}
        elif operation == "update":
            (docs / "a.txt").write_text((docs / "a.txt").read_text(encoding="utf-8") + (big / "part0.txt").read_text(
                encoding="utf-8") + f"第{kill}版。\n", encoding="utf-8")
            args, after = ["index", "add", str(docs / "a.txt")], before
        elif operation == "remove":
            args, after = ["index", "remove", "a.txt"], before - {"a.txt"}
        else:
            args, after = ["index", "rebuild"], before
        # A cold embedding cache, so that the child is busy embedding for a while.
        child_env = {**env, "RAGCHAT_HOME": str(tmp_path / f"cold-{kill}")}
        child = subprocess.Popen([sys.executable, "-m", "ragchat", *args], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL, cwd=ROOT, env=child_env)
        time.sleep(rng.uniform(1.5, 9.0))
        child.send_signal(rng.choice([signal.SIGKILL, signal.SIGTERM, signal.SIGINT]))
        child.wait(timeout=120)
        snapshot = load_snapshot(settings.index_dir, fallback=False)  # the live version is whole
        assert _sources(snapshot) in (before, after), (operation, kill, child.returncode)
        assert snapshot.keyword.search("公园", 3) or "a.txt" not in _sources(snapshot)
        snapshot.close()
        with index_lock(settings.index_dir):  # not left locked
            pass
        update_index(settings.index_dir, settings, embeddings_from_settings(settings), remove=["report.txt"])
        leftovers = [p.name for p in settings.index_dir.iterdir() if ".tmp-" in p.name]
        assert not leftovers
        assert all(not c.problem for c in verify_index(settings.index_dir))


# --- two writers, readers during writes ------------------------------------------------------------------


def test_two_writers_at_once_both_land_with_wait(settings, docs, env):
    _add(settings, docs / "report.txt")
    writers = [subprocess.Popen([sys.executable, "-m", "ragchat", "index", "add", str(docs / name), "--wait", "300"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)
               for name in ("a.txt", "b.txt")]
    outputs = [w.communicate(timeout=600) for w in writers]
    assert [w.returncode for w in writers] == [0, 0], outputs
    assert _sources(load_snapshot(settings.index_dir, fallback=False)) == {"report.txt", "a.txt", "b.txt"}


def test_readers_in_other_processes_never_fail_during_writes(settings, docs, env):
    _add(settings, docs / "report.txt")
    reader = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys
            from pathlib import Path
            from index.store import load_snapshot
            errors = rounds = 0
            while sys.stdin.readline().strip() != "stop":
                rounds += 1
                try:
                    snap = load_snapshot(Path({str(settings.index_dir)!r}), fallback=False)
                    assert all(snap.document_text(d) for d in snap.documents)
                    assert snap.keyword.search("肉牛养殖量", 3)
                    snap.close()
                except Exception as exc:
                    errors += 1
                    print(repr(exc), file=sys.stderr)
                print("next", flush=True)
            print(rounds, errors, flush=True)
        """)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env,
    )
    stop = threading.Event()

    def keep_reading() -> None:
        while not stop.is_set():
            reader.stdin.write("go\n")
            reader.stdin.flush()
            reader.stdout.readline()

    thread = threading.Thread(target=keep_reading)
    thread.start()
    try:
        embeddings = embeddings_from_settings(settings)
        for i in range(6):
            if i % 2:
                update_index(settings.index_dir, settings, embeddings, remove=["a.txt", "b.txt"])
            else:
                update_index(settings.index_dir, settings, embeddings, add=[docs / "a.txt", docs / "b.txt"])
    finally:
        stop.set()
        thread.join()
        reader.stdin.write("stop\n")
        reader.stdin.flush()
        rounds, errors = map(int, reader.stdout.readline().split())
        reader.wait(timeout=60)
    assert rounds > 0 and errors == 0


def test_questions_in_the_same_process_never_fail_during_writes(settings, docs):
    from chat.live import LiveService
    from chat.service import AnswerService

    _add(settings, docs / "report.txt")
    embeddings = embeddings_from_settings(settings)
    live = LiveService(AnswerService(settings, load_snapshot(settings.index_dir), embeddings))
    failures: list[BaseException] = []
    answers: list[str] = []
    stop = threading.Event()

    def ask() -> None:
        while not stop.is_set():
            try:
                answers.append(live.get().answer("肉牛养殖量达到多少?").text)
            except BaseException as exc:  # noqa: BLE001 - any failure is what this test looks for
                failures.append(exc)

    threads = [threading.Thread(target=ask) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        for i in range(6):
            change = {"remove": ["a.txt"]} if i % 2 else {"add": [docs / "a.txt"]}
            update_index(settings.index_dir, settings, embeddings, **change)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert not failures, failures[:3]
    assert answers and all("131.7万头" in a for a in answers)


# --- damage: fallback, verify, status, rebuild -----------------------------------------------------------

DAMAGE = ["truncate-faiss", "garbage-faiss", "truncate-vectors", "drop-chunks", "garbage-manifest", "bad-pointer",
          "truncate-keyword", "keyword-k1", "edit-document-text", "drop-document-text"]


def _damage(index_dir: Path, kind: str) -> str:
    """Damage the live version; returns a word the damage message must contain."""
    folder = live_version(index_dir)
    if kind == "truncate-faiss":
        data = (folder / "faiss.index").read_bytes()
        (folder / "faiss.index").write_bytes(data[: len(data) // 2])
        return "faiss.index"
    if kind == "garbage-faiss":
        (folder / "faiss.index").write_bytes(b"\x00garbage" * 100)
        return "faiss.index"
    if kind == "truncate-vectors":
        with (folder / "vectors.npy").open("r+b") as fh:
            fh.truncate(100)
        return "vectors.npy"
    if kind == "drop-chunks":
        (folder / "chunks.jsonl").unlink()
        return "chunks.jsonl"
    if kind == "garbage-manifest":
        (folder / "manifest.json").write_text("{not json", encoding="utf-8")
        return "manifest.json"
    if kind == "bad-pointer":
        (index_dir / "CURRENT").write_text("v-999999\n", encoding="utf-8")
        return "CURRENT"
    if kind == "truncate-keyword":
        victim = max((p for p in (folder / "keyword").rglob("*") if p.is_file()), key=lambda p: p.stat().st_size)
        with victim.open("r+b") as fh:
            fh.truncate(10)
        return "keyword"
    if kind == "keyword-k1":
        header = folder / "keyword" / "header.json"
        data = json.loads(header.read_text(encoding="utf-8"))
        data["bm25"]["k1"] = 9.0
        header.write_text(json.dumps(data), encoding="utf-8")
        return "header.json"
    text = next((folder / "docs").iterdir())
    if kind == "edit-document-text":
        text.write_text(text.read_text(encoding="utf-8") + "被改动", encoding="utf-8")
    else:
        text.unlink()
    return text.name


@pytest.mark.parametrize("damage", DAMAGE)
def test_damage_falls_back_then_verify_fails_and_rebuild_repairs(settings, docs, env, damage):
    _add(settings, docs / "report.txt")
    _add(settings, docs / "a.txt")
    older = versions(settings.index_dir)[0]
    word = _damage(settings.index_dir, damage)

    snapshot = load_snapshot(settings.index_dir)  # falls back to the newest intact version
    assert snapshot.path.name == (versions(settings.index_dir)[-1] if damage == "bad-pointer" else older)
    assert word in snapshot.damage
    snapshot.close()
    with pytest.raises(CorruptIndexError):
        load_snapshot(settings.index_dir, fallback=False)
    verify = _cli(env, "index", "verify")
    assert verify.returncode == 1 and "DAMAGED" in verify.stdout and word in verify.stdout, verify
    assert f"{older}: ok" in verify.stdout
    status = _cli(env, "index", "status")
    assert status.returncode == 1 and word in status.stderr, status
    answer = _cli(env, "ask", "肉牛养殖量达到多少?")  # answered from the older version, with a warning
    assert answer.returncode == 0 and "131.7万头" in answer.stdout and word in answer.stderr, answer

    rebuild = _cli(env, "index", "rebuild")
    assert rebuild.returncode == 0, rebuild.stderr
    assert _cli(env, "index", "verify").returncode == 0
    assert _cli(env, "index", "status").returncode == 0
    repaired = load_snapshot(settings.index_dir, fallback=False)
    expected = {"report.txt"} if damage == "garbage-manifest" else {"report.txt", "a.txt"}
    assert _sources(repaired) == expected
    if damage == "garbage-manifest":  # the damaged version's list of documents is gone: said, not guessed
        assert "add again" in rebuild.stderr
    else:
        assert repaired.keyword.search("新建公园", 3)
        a_id = next(d for d, rec in repaired.documents.items() if Path(rec.source).name == "a.txt")
        assert "新建公园14个" in repaired.document_text(a_id)
    assert repaired.keyword.params == BM25Params()  # a changed k1 does not survive the rebuild


def test_a_write_to_a_damaged_index_repairs_it(settings, docs):
    _add(settings, docs / "report.txt")
    _add(settings, docs / "a.txt")
    _damage(settings.index_dir, "garbage-faiss")
    report = _add(settings, docs / "b.txt")
    assert "faiss.index" in report.repaired
    assert _sources(load_snapshot(settings.index_dir, fallback=False)) == {"report.txt", "a.txt", "b.txt"}


def test_a_document_text_damaged_everywhere_comes_from_its_source_file(settings, docs):
    _add(settings, docs / "a.txt")
    for version in versions(settings.index_dir):
        for text in (settings.index_dir / version / "docs").iterdir():
            text.write_text("damaged", encoding="utf-8")
    report = update_index(settings.index_dir, settings, embeddings_from_settings(settings), rebuild=True)
    assert not report.skipped
    snapshot = load_snapshot(settings.index_dir, fallback=False)
    assert "新建公园14个" in snapshot.document_text(next(iter(snapshot.documents)))
    # Without an intact copy anywhere, the document is reported lost, not indexed as garbage.
    for text in (live_version(settings.index_dir) / "docs").iterdir():
        text.write_text("damaged", encoding="utf-8")
    (docs / "a.txt").write_text("changed since", encoding="utf-8")
    for version in versions(settings.index_dir)[:-1]:
        shutil.rmtree(settings.index_dir / version)
    report = update_index(settings.index_dir, settings, embeddings_from_settings(settings), rebuild=True)
    assert [Path(s.path).name for s in report.skipped] == ["a.txt"] and "add the file again" in report.skipped[0].reason


# --- first run, leftovers ------------------------------------------------------------------------------------


def test_two_first_asks_at_once_both_answer(env, tmp_path):
    cold = {**env, "RAGCHAT_HOME": str(tmp_path / "cold")}  # the first build takes a while
    asks = [subprocess.Popen([sys.executable, "-m", "ragchat", "ask", "肉牛养殖量达到多少?"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, cwd=ROOT, env=cold) for _ in range(2)]
    outputs = [a.communicate(timeout=900) for a in asks]
    assert [a.returncode for a in asks] == [0, 0], outputs
    assert all("131.7万头" in out for out, _ in outputs)
    assert any("waiting for it" in err for _, err in outputs)  # one of them waited for the other's build
    assert len(versions(Path(env["RAGCHAT_INDEX__DIR"]))) == 1  # built once


def test_a_writer_waits_with_wait_and_fails_at_once_without(settings, docs, env):
    _add(settings, docs / "report.txt")
    with index_lock(settings.index_dir):
        started = time.monotonic()
        proc = _cli(env, "index", "add", str(docs / "a.txt"), "--wait", "1")
        assert proc.returncode == 1 and "waited 1 s" in proc.stderr and time.monotonic() - started >= 1
    holder = _lock_holder(settings.index_dir)
    try:
        assert holder.stdout.readline().strip() == "locked"
        proc = _cli(env, "index", "add", str(docs / "a.txt"), "--wait", "300")
        assert proc.returncode == 0 and f"process {holder.pid} is changing the index" in proc.stderr, proc
    finally:
        holder.kill()
        holder.wait()


def test_files_left_by_a_dead_writer_are_removed_by_the_next_write(settings, docs):
    _add(settings, docs / "report.txt")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    pointer_tmp = settings.index_dir / f".CURRENT.tmp-{dead.pid}"
    pointer_tmp.write_text("v-000001\n", encoding="utf-8")
    folder_tmp = settings.index_dir / f".tmp-v-000009-{dead.pid}"
    folder_tmp.mkdir()
    (settings.index_dir / ".readers").mkdir(exist_ok=True)
    (settings.index_dir / ".readers" / "v-000077").write_text("", encoding="utf-8")  # a lease without its version
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        live_tmp = settings.index_dir / f".tmp-v-000010-{alive.pid}"  # its writer may still be at work: kept
        live_tmp.mkdir()
        _add(settings, docs / "a.txt")
    finally:
        alive.kill()
        alive.wait()
    assert not pointer_tmp.exists() and not folder_tmp.exists()
    assert not (settings.index_dir / ".readers" / "v-000077").exists()
    assert live_tmp.exists()


def test_a_document_with_nothing_to_index_is_skipped_and_an_update_to_one_keeps_the_old(settings, docs):
    invisible = docs / "invisible.txt"
    invisible.write_text("\u200b\u200b\n", encoding="utf-8")  # loads, but nothing is left after cleaning
    report = _add(settings, docs / "a.txt", invisible)
    assert report.added == [str(docs / "a.txt")] and [Path(s.path).name for s in report.skipped] == ["invisible.txt"]
    (docs / "a.txt").write_text("# \n", encoding="utf-8")  # an update that gives no chunks
    report = _add(settings, docs / "a.txt")
    assert not report.updated and "nothing is left" in report.skipped[0].reason
    snapshot = load_snapshot(settings.index_dir, fallback=False)
    assert _sources(snapshot) == {"a.txt"} and snapshot.keyword.search("新建公园", 3)


def test_the_ui_says_when_it_answers_from_an_older_version(settings, docs):
    from chat.ui.app import _status
    from chat.ui.documents import Library

    _add(settings, docs / "report.txt")
    _add(settings, docs / "a.txt")
    _damage(settings.index_dir, "garbage-faiss")
    library = Library(settings)
    library.start().join(timeout=600)
    status = _status(library)
    assert "damaged" in status and "faiss.index" in status and "older version" in status
    assert "131.7万头" in library.wait().answer("肉牛养殖量达到多少?").text


def test_a_chat_session_follows_a_write_by_another_process(settings, docs, env):
    _add(settings, docs / "report.txt")
    session = subprocess.Popen([sys.executable, "-m", "ragchat", "chat"], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT, env=env)
    try:
        session.stdin.write("肉牛养殖量达到多少?\n")
        session.stdin.flush()
        while "sources:" not in session.stdout.readline():
            pass
        proc = _cli(env, "index", "add", str(docs / "b.txt"))
        assert proc.returncode == 0, proc.stderr
        out, _ = session.communicate(GREENHOUSE + "\n\n", timeout=300)
    finally:
        session.kill()
        session.wait()
    assert "210" in out and "b.txt" in out


def test_an_upload_waits_for_another_process_reindexing(settings, docs, tmp_path):
    from chat.ui.documents import Library, Upload

    _add(settings, docs / "report.txt")
    library = Library(settings)
    library.start().join(timeout=600)
    holder = _lock_holder(settings.index_dir)
    try:
        assert holder.stdout.readline().strip() == "locked"
        result = library.add([Upload(docs / "b.txt", "b.txt")])
    finally:
        holder.kill()
        holder.wait()
    assert result.added == ["b.txt"] and not result.skipped
    assert "210" in library.wait().answer(GREENHOUSE).text
