"""The evidence store keeps what was collected exactly as it was collected, and says so."""

from __future__ import annotations

import hashlib
import json
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from provenance.errors import EvidenceStoreError
from provenance.evidence import GENESIS_HASH, EvidenceRow, EvidenceStore
from provenance.hashing import canonical_json, sha256_json

REPO = Path(__file__).resolve().parents[1]
IDENTITY = {"kind": "hf", "name": "tiny-teacher", "weights_sha256": "ab" * 32}


def _append(store: EvidenceStore, model_key: str, i: int, **overrides) -> EvidenceRow:
    fields = dict(
        model_key=model_key,
        method="generate",
        suite="identity",
        probe_id=f"p{i}",
        prompt=f"Who made you? ({i})",
        params={"temperature": 0.7, "max_new_tokens": 32},
        seed=i,
        response={"text": f"answer {i}", "tokens": [i, i + 1]},
        latency_s=0.25 + i,
        extra={"attempt": 1},
    )
    fields.update(overrides)
    return store.append(**fields)


@pytest.fixture
def filled(tmp_path: Path) -> Path:
    """A store of case 'c1' with five rows, closed; returns its path."""
    path = tmp_path / "case" / "evidence.sqlite"
    with EvidenceStore.open(path, "c1") as store:
        key = store.register_model(IDENTITY)
        for i in range(1, 6):
            _append(store, key, i)
    return path


def _raw(path: Path) -> sqlite3.Connection:
    """A plain sqlite3 connection, as someone tampering with the file would use."""
    return sqlite3.connect(path, isolation_level=None)


def _verify(path: Path):
    with EvidenceStore.open(path, "c1") as store:
        return store.verify()


def _external_row_hash(conn: sqlite3.Connection, row_id: int) -> str:
    """The published row-hash formula, recomputed with hashlib and json only."""
    conn.row_factory = sqlite3.Row
    r = conn.execute("SELECT * FROM evidence WHERE id = ?", (row_id,)).fetchone()
    conn.row_factory = None
    content = {
        "id": r["id"], "request_key": r["request_key"], "model_key": r["model_key"],
        "method": r["method"], "suite": r["suite"], "probe_id": r["probe_id"], "prompt": r["prompt"],
        "params": json.loads(r["params_json"]), "seed": r["seed"],
        "response": json.loads(r["response_json"]), "latency_s": r["latency_s"],
        "created_at": r["created_at"],
        "extra": None if r["extra_json"] is None else json.loads(r["extra_json"]),
        "prev_hash": r["prev_hash"],
    }  # fmt: skip
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------- normal use


def test_rows_round_trip_with_chain_and_verify_ok(tmp_path: Path) -> None:
    path = tmp_path / "new" / "dir" / "evidence.sqlite"
    with EvidenceStore.open(path, "c1") as store:
        assert store.verify().ok and store.head_hash() == GENESIS_HASH
        key = store.register_model(IDENTITY)
        written = [_append(store, key, i) for i in range(1, 4)]
        written.append(_append(store, key, 4, method="score", suite="distribution", seed=None, extra=None))
    assert path.exists()

    with EvidenceStore.open(path, "c1") as store:
        rows = list(store.rows())
        assert rows == written
        assert [r.id for r in rows] == [1, 2, 3, 4]
        assert rows[0].prev_hash == GENESIS_HASH
        assert all(b.prev_hash == a.row_hash for a, b in zip(rows, rows[1:]))
        assert rows[0].params == {"temperature": 0.7, "max_new_tokens": 32}
        assert rows[0].response == {"text": "answer 1", "tokens": [1, 2]}
        assert rows[3].seed is None and rows[3].extra is None
        assert rows[0].created_at.endswith("Z") and len(rows[0].created_at) == len("2024-01-01T00:00:00.000000Z")
        assert rows[0].to_dict()["row_hash"] == rows[0].row_hash
        assert store.lookup(rows[2].request_key) == rows[2]
        assert store.lookup("f" * 64) is None
        assert [r.id for r in store.rows(suite="distribution")] == [4]
        assert len(list(store.rows(model_key=key))) == 4
        assert list(store.rows(model_key="0" * 64)) == []
        assert store.count() == 4
        assert store.models() == {key: IDENTITY}
        assert key == sha256_json(IDENTITY)

        report = store.verify()
        assert report.ok and report.problem is None and report.first_bad_row is None
        assert report.rows_checked == 4
        assert report.head_hash == store.head_hash() == rows[-1].row_hash


def test_row_hash_is_recomputable_without_provenance(filled: Path) -> None:
    conn = _raw(filled)
    stored = [h for (h,) in conn.execute("SELECT row_hash FROM evidence ORDER BY id")]
    assert stored == [_external_row_hash(conn, i) for i in range(1, 6)]


def test_store_uses_wal_and_records_case_and_schema(filled: Path) -> None:
    conn = _raw(filled)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    meta = dict(conn.execute("SELECT key, value FROM meta"))
    assert meta["case_id"] == "c1" and meta["schema_version"] == "1" and meta["created_at"].endswith("Z")


def test_request_key_depends_on_exactly_the_request_fields() -> None:
    base = dict(model_key="m", method="generate", suite="s", probe_id="p", prompt="hi", params={"a": 1, "b": 2}, seed=3)
    key = EvidenceStore.request_key(**base)
    assert key == sha256_json(base)
    assert EvidenceStore.request_key(**{**base, "params": {"b": 2, "a": 1}}) == key  # key order is not content
    for field, other in [("prompt", "hi!"), ("seed", None), ("params", {"a": 1}), ("method", "score")]:
        assert EvidenceStore.request_key(**{**base, field: other}) != key


def test_same_request_twice_is_stored_once(filled: Path) -> None:
    with EvidenceStore.open(filled, "c1") as store:
        key = store.register_model(IDENTITY)
        assert store.register_model(dict(reversed(list(IDENTITY.items())))) == key  # idempotent
        first = next(store.rows())
        again = _append(store, key, 1, response={"text": "a different answer"}, latency_s=9.0)
        assert again == first  # the first answer is the evidence; it is never replaced
        assert store.count() == 5
        assert len(store.models()) == 1
        assert store.verify().ok


def test_response_of_unregistered_model_is_refused(tmp_path: Path) -> None:
    with EvidenceStore.open(tmp_path / "e.sqlite", "c1") as store:
        with pytest.raises(EvidenceStoreError, match="not registered") as err:
            _append(store, "9" * 64, 1)
        assert err.value.hint
        with pytest.raises(ValueError, match="method"):
            _append(store, store.register_model(IDENTITY), 1, method="chat")
        assert store.count() == 0


def test_two_writers_on_one_store_keep_one_chain(tmp_path: Path) -> None:
    path = tmp_path / "e.sqlite"
    with EvidenceStore.open(path, "c1") as store:
        key = store.register_model(IDENTITY)

    def worker(offset: int) -> None:
        with EvidenceStore.open(path, "c1") as mine:
            for i in range(offset, offset + 15):
                _append(mine, key, i)

    threads = [threading.Thread(target=worker, args=(n * 100,)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with EvidenceStore.open(path, "c1") as store:
        assert store.count() == 45
        assert store.verify().ok


# ---------------------------------------------------------------- tampering


def test_update_and_delete_are_refused_by_the_store_itself(filled: Path) -> None:
    conn = _raw(filled)
    for statement in [
        "UPDATE evidence SET response_json = '{}' WHERE id = 2",
        "DELETE FROM evidence WHERE id = 5",
        "UPDATE models SET identity_json = '{}'",
        "DELETE FROM models",
        "UPDATE meta SET value = 'other' WHERE key = 'case_id'",
        "DELETE FROM meta",
    ]:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute(statement)
    conn.close()
    assert _verify(filled).ok


def test_tamper_with_response_is_caught_and_names_row(filled: Path) -> None:
    conn = _raw(filled)
    conn.execute("DROP TRIGGER evidence_no_update")
    conn.execute("""UPDATE evidence SET response_json = '{"text":"forged"}' WHERE id = 3""")
    conn.close()
    report = _verify(filled)
    assert not report.ok
    assert report.first_bad_row == 3 and report.rows_checked == 2
    assert report.problem == "row 3: content does not match its hash (edited after it was written)"


def test_unreadable_json_is_reported_not_raised(filled: Path) -> None:
    conn = _raw(filled)
    conn.execute("DROP TRIGGER evidence_no_update")
    conn.execute("UPDATE evidence SET params_json = '{not json' WHERE id = 2")
    conn.close()
    report = _verify(filled)
    assert not report.ok and report.first_bad_row == 2 and "row 2:" in report.problem


def test_deleted_row_is_caught(filled: Path) -> None:
    conn = _raw(filled)
    conn.execute("DROP TRIGGER evidence_no_delete")
    conn.execute("DELETE FROM evidence WHERE id = 3")
    conn.close()
    report = _verify(filled)
    assert not report.ok and report.first_bad_row == 3
    assert report.problem.startswith("row 3: missing")


def test_deleted_row_with_ids_renumbered_is_caught(filled: Path) -> None:
    conn = _raw(filled)
    conn.execute("DROP TRIGGER evidence_no_delete")
    conn.execute("DROP TRIGGER evidence_no_update")
    conn.execute("DELETE FROM evidence WHERE id = 3")
    conn.execute("UPDATE evidence SET id = id - 1 WHERE id > 3")
    conn.close()
    report = _verify(filled)
    assert not report.ok and report.first_bad_row == 3  # hash covers the id


def test_reordered_rows_are_caught(filled: Path) -> None:
    conn = _raw(filled)
    conn.execute("DROP TRIGGER evidence_no_update")
    conn.execute("UPDATE evidence SET id = 100 WHERE id = 2")
    conn.execute("UPDATE evidence SET id = 2 WHERE id = 3")
    conn.execute("UPDATE evidence SET id = 3 WHERE id = 100")
    conn.close()
    report = _verify(filled)
    assert not report.ok and report.first_bad_row == 2
    assert "does not match its hash" in report.problem


def test_forged_row_with_recomputed_hash_breaks_the_chain_at_the_next_row(filled: Path) -> None:
    conn = _raw(filled)
    conn.execute("DROP TRIGGER evidence_no_update")
    conn.execute("""UPDATE evidence SET response_json = '{"text":"forged","tokens":[]}' WHERE id = 3""")
    conn.execute("UPDATE evidence SET row_hash = ? WHERE id = 3", (_external_row_hash(conn, 3),))
    conn.close()
    report = _verify(filled)
    assert not report.ok and report.first_bad_row == 4
    assert report.problem == "row 4: chain broken: prev_hash does not match row 3"


def test_forged_first_link_is_caught(filled: Path) -> None:
    conn = _raw(filled)
    conn.execute("DROP TRIGGER evidence_no_update")
    conn.execute("UPDATE evidence SET prev_hash = ? WHERE id = 1", ("1" * 64,))
    conn.execute("UPDATE evidence SET row_hash = ? WHERE id = 1", (_external_row_hash(conn, 1),))
    conn.close()
    report = _verify(filled)
    assert report.first_bad_row == 1 and "genesis" in report.problem


def test_edited_request_with_rehashed_row_is_caught_by_request_key(filled: Path) -> None:
    conn = _raw(filled)
    conn.execute("DROP TRIGGER evidence_no_update")
    conn.execute("UPDATE evidence SET prompt = 'a leading question' WHERE id = 5")
    conn.execute("UPDATE evidence SET row_hash = ? WHERE id = 5", (_external_row_hash(conn, 5),))
    conn.close()
    report = _verify(filled)
    assert report.first_bad_row == 5
    assert report.problem == "row 5: request_key does not match the request fields"


def test_edited_model_identity_is_caught(filled: Path) -> None:
    conn = _raw(filled)
    conn.execute("DROP TRIGGER models_no_update")
    conn.execute("UPDATE models SET identity_json = ?", (canonical_json({**IDENTITY, "name": "someone-else"}),))
    conn.close()
    report = _verify(filled)
    assert not report.ok and report.first_bad_row is None
    assert "identity does not match its key" in report.problem


# ---------------------------------------------------------------- refusing bad files and paths


def test_store_of_another_case_is_refused(filled: Path) -> None:
    with pytest.raises(EvidenceStoreError) as err:
        EvidenceStore.open(filled, "c2")
    assert err.value.message == f"evidence store {filled} was written by case 'c1', not 'c2'"
    assert err.value.hint


def test_not_a_database_is_refused_cleanly(tmp_path: Path) -> None:
    junk = tmp_path / "evidence.sqlite"
    junk.write_bytes(b"this is a PDF, not a database\n" * 200)
    with pytest.raises(EvidenceStoreError, match="not an SQLite database") as err:
        EvidenceStore.open(junk, "c1")
    assert err.value.hint
    assert junk.read_bytes().startswith(b"this is a PDF")  # left untouched


def test_other_sqlite_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    other = tmp_path / "app.sqlite"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE users(name TEXT)")
    conn.commit()
    conn.close()
    with pytest.raises(EvidenceStoreError, match="not an evidence store") as err:
        EvidenceStore.open(other, "c1")
    assert err.value.hint
    tables = {n for (n,) in sqlite3.connect(other).execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert tables == {"users"}


def test_unwritable_path_gives_clear_error(tmp_path: Path) -> None:
    a_file = tmp_path / "notes.txt"
    a_file.write_text("x")
    unwritable = [
        a_file / "evidence.sqlite",  # parent is a regular file
        a_file / "deeper" / "evidence.sqlite",  # a folder would have to be made inside a file
        Path("/proc/provenance-evidence.sqlite"),  # procfs refuses new files, even for root
        tmp_path,  # a directory, not a file
    ]
    for path in unwritable:
        with pytest.raises(EvidenceStoreError) as err:
            EvidenceStore.open(path, "c1")
        assert str(path) in err.value.message and err.value.hint, path


def test_disk_full_leaves_store_intact(tmp_path: Path) -> None:
    path = tmp_path / "evidence.sqlite"
    with EvidenceStore.open(path, "c1", max_pages=40) as store:
        key = store.register_model(IDENTITY)
        written = 0
        with pytest.raises(EvidenceStoreError, match="is full") as err:
            for i in range(1, 500):
                _append(store, key, i, response={"text": "x" * 3000, "i": i})
                written += 1
        assert err.value.hint and written > 3
        assert store.count() == written
        assert store.verify().ok
        head = store.head_hash()
    with EvidenceStore.open(path, "c1") as store:  # no cap: the store carries on where it stopped
        assert store.count() == written and store.head_hash() == head
        _append(store, key, 10_000)
        assert store.verify().ok and store.count() == written + 1


_CRASH_WRITER = textwrap.dedent(
    """
    import sys
    from provenance.evidence import EvidenceStore
    store = EvidenceStore.open(sys.argv[1], "c1")
    key = store.register_model({"name": "victim"})
    i = 0
    while True:
        i += 1
        store.append(model_key=key, method="generate", suite="s", probe_id=f"p{i}", prompt=f"q{i}",
                     params={"n": i}, seed=i, response={"text": f"r{i}" * 500}, latency_s=0.1)
        print(i, flush=True)
    """
)


def test_reopen_after_crash_keeps_committed_rows(tmp_path: Path) -> None:
    path = tmp_path / "evidence.sqlite"
    proc = subprocess.Popen(
        [sys.executable, "-c", _CRASH_WRITER, str(path)], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    try:
        committed = 0
        while committed < 40:
            line = proc.stdout.readline()
            assert line, "writer died before it was killed"
            committed = int(line)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL

    with EvidenceStore.open(path, "c1") as store:
        report = store.verify()
        assert report.ok, report.problem
        assert store.count() >= committed  # everything reported as committed survived
        for row in store.rows():
            i = row.id
            assert (row.probe_id, row.prompt, row.params, row.seed) == (f"p{i}", f"q{i}", {"n": i}, i)
            assert row.response == {"text": f"r{i}" * 500}
