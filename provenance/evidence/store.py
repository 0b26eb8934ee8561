"""The evidence store: one SQLite file per case, written before anything is analysed.

Every request sent to a model and every response it gave is appended here first, so
that ``analyze`` and ``report`` can be re-run years later from this file alone, and so
that an opposing expert can check that nothing was changed after it was collected.

What makes the file trustworthy:

* **Append-only, enforced by SQLite itself.** ``BEFORE UPDATE`` / ``BEFORE DELETE``
  triggers abort any change to ``evidence``, ``models`` and ``meta``, whoever writes.
* **Hash chain.** Each evidence row stores ``row_hash = sha256(canonical_json(content))``
  where *content* is every field of the row (``id`` included) plus ``prev_hash``, the
  previous row's ``row_hash`` (64 zeros for row 1). Editing, deleting or reordering a
  row breaks the chain at that row, even if someone drops the triggers first. Cutting
  rows off the *end* leaves a shorter but consistent chain; that is caught by comparing
  :meth:`EvidenceStore.head_hash` with the head recorded in the report's manifest.
* **Content-addressed requests.** ``request_key`` is the SHA-256 of the request fields,
  so a re-run finds its earlier answer with :meth:`EvidenceStore.lookup` instead of
  asking the model again, and :meth:`EvidenceStore.append` of a known request returns
  the stored row unchanged (the first answer is the evidence; it is never replaced).
* **Durable per request.** Each append is one transaction, committed (WAL,
  ``synchronous=FULL``) before it returns, so ``kill -9`` loses at most the request in
  flight.

All hashes use :mod:`provenance.hashing` (sorted keys, no whitespace, UTF-8), so they can
be recomputed with any JSON library. Secrets are kept out by the callers; this module
never logs.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import Any

from provenance.errors import EvidenceStoreError
from provenance.hashing import canonical_json, sha256_json

SCHEMA_VERSION = 1
GENESIS_HASH = "0" * 64
METHODS = ("generate", "score", "top_logprobs")

_BUSY_TIMEOUT_S = 30.0  # other processes of the same audit may hold the write lock briefly

_TABLES = (
    """CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
)""",
    """CREATE TABLE models (
    model_key     TEXT PRIMARY KEY,
    identity_json TEXT NOT NULL,
    first_seen    TEXT NOT NULL
)""",
    """CREATE TABLE evidence (
    id            INTEGER PRIMARY KEY,
    request_key   TEXT NOT NULL UNIQUE,
    model_key     TEXT NOT NULL REFERENCES models(model_key),
    method        TEXT NOT NULL CHECK (method IN ('generate', 'score', 'top_logprobs')),
    suite         TEXT NOT NULL,
    probe_id      TEXT NOT NULL,
    prompt        TEXT NOT NULL,
    params_json   TEXT NOT NULL,
    seed          INTEGER,
    response_json TEXT NOT NULL,
    latency_s     REAL NOT NULL,
    created_at    TEXT NOT NULL,
    extra_json    TEXT,
    prev_hash     TEXT NOT NULL,
    row_hash      TEXT NOT NULL
)""",
    "CREATE INDEX evidence_suite ON evidence(suite)",
    "CREATE INDEX evidence_model ON evidence(model_key)",
)
_TRIGGERS = tuple(
    f"CREATE TRIGGER {table}_no_{action} BEFORE {action.upper()} ON {table} "
    f"BEGIN SELECT RAISE(ABORT, 'evidence store is append-only: {action} on {table} refused'); END"
    for table in ("meta", "models", "evidence")
    for action in ("update", "delete")
)
# One statement at a time: executescript() would commit the open BEGIN IMMEDIATE.
_SCHEMA = _TABLES + _TRIGGERS

#: The case's journal: its own hash chain beside the evidence, append-only like it. Entry 1 is the
#: design (the case file's canonical hash) recorded before the first request; every analysis run
#: is appended. Each entry commits to the evidence chain's row count and head at that moment.
#: Added to version-1 stores when they are next opened for writing (an added table, no row changed).
JOURNAL_KINDS = ("design", "analysis")
_JOURNAL = (
    """CREATE TABLE IF NOT EXISTS journal (
    id            INTEGER PRIMARY KEY,
    kind          TEXT NOT NULL CHECK (kind IN ('design', 'analysis')),
    created_at    TEXT NOT NULL,
    evidence_rows INTEGER NOT NULL,
    evidence_head TEXT NOT NULL,
    content_json  TEXT NOT NULL,
    prev_hash     TEXT NOT NULL,
    row_hash      TEXT NOT NULL
)""",
    *(
        f"CREATE TRIGGER IF NOT EXISTS journal_no_{action} BEFORE {action.upper()} ON journal "
        f"BEGIN SELECT RAISE(ABORT, 'evidence store is append-only: {action} on journal refused'); END"
        for action in ("update", "delete")
    ),
)
_JOURNAL_COLUMNS = "id, kind, created_at, evidence_rows, evidence_head, content_json, prev_hash, row_hash"

_ROW_COLUMNS = (
    "id, request_key, model_key, method, suite, probe_id, prompt, params_json, seed, "
    "response_json, latency_s, created_at, extra_json, prev_hash, row_hash"
)


@dataclass(frozen=True)
class EvidenceRow:
    """One stored request and its response, with JSON columns decoded."""

    id: int
    request_key: str
    model_key: str
    method: str
    suite: str
    probe_id: str
    prompt: str
    params: dict[str, Any]
    seed: int | None
    response: dict[str, Any]
    latency_s: float
    created_at: str
    extra: dict[str, Any] | None
    prev_hash: str
    row_hash: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def content(self) -> dict[str, Any]:
        """Everything ``row_hash`` covers: all fields except ``row_hash`` itself."""
        data = self.to_dict()
        del data["row_hash"]
        return data


@dataclass(frozen=True)
class JournalEntry:
    """One journal entry: the design fixed, or an analysis run, and the evidence it saw."""

    id: int
    kind: str
    created_at: str
    evidence_rows: int
    evidence_head: str
    content: dict[str, Any]
    prev_hash: str
    row_hash: str

    def hashed(self) -> dict[str, Any]:
        """Everything ``row_hash`` covers."""
        data = asdict(self)
        del data["row_hash"]
        return data


@dataclass(frozen=True)
class VerifyReport:
    """Outcome of :meth:`EvidenceStore.verify`; ``problem`` names the first break."""

    ok: bool
    rows_checked: int
    first_bad_row: int | None
    problem: str | None
    head_hash: str
    #: The journal (design and analysis runs): entries checked and its head.
    journal_entries: int = 0
    journal_head: str = GENESIS_HASH


def _utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _decode(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _is_full(exc: sqlite3.Error) -> bool:
    return getattr(exc, "sqlite_errorname", "") == "SQLITE_FULL" or "disk is full" in str(exc)


class EvidenceStore:
    """Append-only, hash-chained store of one case's model requests and responses.

    Create with :meth:`open`. Safe to share between threads (a lock serialises use of
    the connection) and between processes (writes take SQLite's write lock for the
    whole read-head-then-insert step, so the chain stays linear).
    """

    def __init__(self, conn: sqlite3.Connection, path: Path, case_id: str) -> None:
        """Use :meth:`open`; this only wraps an already checked connection."""
        self._conn = conn
        self._lock = threading.RLock()
        self.path = path
        self.case_id = case_id

    # ----------------------------------------------------------------- opening

    @classmethod
    def open(cls, path: str | Path, case_id: str, *, max_pages: int | None = None) -> EvidenceStore:
        """Open the store at ``path`` for ``case_id``, creating file and folder if missing.

        ``max_pages`` caps the file size (``PRAGMA max_page_count``) on this connection;
        tests use it to hit a real "disk full", and it can bound a store's growth.
        """
        path = Path(path)
        unwritable_hint = "choose an evidence path inside a folder you can write to"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise EvidenceStoreError(
                f"cannot create the folder for evidence store {path}: {exc.strerror or exc}",
                hint=unwritable_hint,
            ) from None
        if path.is_dir():
            raise EvidenceStoreError(f"evidence store {path} is a directory, not a file", hint=unwritable_hint)
        conn: sqlite3.Connection | None = None
        try:
            conn = sqlite3.connect(
                path, timeout=_BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
            )
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise EvidenceStoreError(
                    f"evidence store {path} cannot use write-ahead logging (journal mode {mode})",
                    hint="put the store on a local disk; network file systems cannot hold it safely",
                )
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            if max_pages is not None:
                conn.execute(f"PRAGMA max_page_count={int(max_pages)}")
            store = cls(conn, path, case_id)
            store._ensure_schema()
            return store
        except EvidenceStoreError:
            if conn is not None:
                conn.close()
            raise
        except sqlite3.Error as exc:
            if conn is not None:
                conn.close()
            name = getattr(exc, "sqlite_errorname", "")
            if name.startswith("SQLITE_NOTADB"):
                raise EvidenceStoreError(
                    f"{path} is not an SQLite database, so not an evidence store",
                    hint="check the path; an evidence store is the evidence.sqlite that `provenance case run` writes",
                ) from None
            if name.startswith(("SQLITE_CANTOPEN", "SQLITE_READONLY", "SQLITE_PERM", "SQLITE_IOERR")):
                raise EvidenceStoreError(f"cannot open evidence store {path} for writing: {exc}", hint=unwritable_hint) from None
            if _is_full(exc):
                raise EvidenceStoreError(
                    f"no space to create evidence store {path}", hint="free disk space or choose another disk"
                ) from None
            if name.startswith(("SQLITE_CORRUPT", "SQLITE_ERROR")) or "malformed" in str(exc):
                raise EvidenceStoreError(
                    f"cannot open evidence store {path}: {exc}: damaged, or not an evidence store",
                    hint="check it with `provenance verify`; restore it from a copy",
                ) from None
            raise EvidenceStoreError(f"cannot open evidence store {path}: {exc}", hint=unwritable_hint) from None
        except BaseException:  # e.g. a schema whose text is not UTF-8: no connection (and its -wal file) outlives the error
            if conn is not None:
                conn.close()
            raise

    @classmethod
    def open_existing(cls, path: str | Path, case_id: str | None = None) -> EvidenceStore:
        """Open a store that must already exist, e.g. to verify it.

        With ``case_id`` None the store is opened for whichever case wrote it, so a
        store found on its own (sent by the other side, years later) can be checked.
        """
        path = Path(path)
        if not path.is_file():
            raise EvidenceStoreError(f"no evidence store at {path}", hint="check the path")
        if case_id is None:
            try:
                with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
                    row = conn.execute("SELECT value FROM meta WHERE key = 'case_id'").fetchone()
            except sqlite3.Error:
                row = None
            case_id = row[0] if row else ""
        return cls.open(path, case_id)

    @classmethod
    def open_readonly(cls, path: str | Path, case_id: str | None = None) -> EvidenceStore:
        """Open an existing store to read it, changing nothing: no write, no side file.

        SQLite opens it by URI with ``immutable=1`` (nothing is locked or written, so a
        read-only copy or medium works and no ``-wal``/``-shm`` file appears); when a
        ``-wal`` file is already there (a writer is running, or one crashed), with
        ``mode=ro`` instead, so its committed transactions are read. An empty file is
        refused: it holds no evidence, and must never read as an intact store of 0 rows.
        """
        from urllib.parse import quote as url_quote

        path = Path(path)
        if not path.is_file():
            raise EvidenceStoreError(f"no evidence store at {path}", hint="check the path")
        if path.stat().st_size == 0:
            raise EvidenceStoreError(
                f"{path} is empty (0 bytes): not an evidence store (truncated or replaced)",
                hint="restore the evidence store from a verified copy",
            )
        wal = path.with_name(path.name + "-wal")
        flags = "mode=ro" if wal.exists() else "mode=ro&immutable=1"
        uri = f"file:{url_quote(str(path.resolve()))}?{flags}"
        try:
            conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA query_only=ON")
            meta_ok = {"meta", "models", "evidence"} <= {
                name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
            }
        except sqlite3.Error as exc:
            name = getattr(exc, "sqlite_errorname", "")
            if name.startswith("SQLITE_NOTADB"):
                raise EvidenceStoreError(f"{path} is not an SQLite database, so not an evidence store",
                                         hint="check the path, or restore the store from a verified copy") from None
            raise EvidenceStoreError(f"cannot read evidence store {path}: {exc}", hint="check the path and its permissions") from None
        if not meta_ok:
            conn.close()
            raise EvidenceStoreError(f"{path} is an SQLite database but not an evidence store",
                                     hint="check the path, or restore the store from a verified copy")
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        if meta.get("schema_version") != str(SCHEMA_VERSION):
            conn.close()
            raise EvidenceStoreError(
                f"evidence store {path} has schema version {meta.get('schema_version')!r}; this provenance reads version {SCHEMA_VERSION}",
                hint="open it with the provenance release that wrote it",
            )
        if case_id is not None and meta.get("case_id") != case_id:
            conn.close()
            raise EvidenceStoreError(
                f"evidence store {path} was written by case '{meta.get('case_id')}', not '{case_id}'",
                hint="give the evidence store of this case",
            )
        store = cls(conn, path, str(meta.get("case_id", "")))
        store.read_only = True
        return store

    read_only = False

    def _tables(self) -> set[str]:
        rows = self._conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        return {name for (name,) in rows}

    def _ensure_schema(self) -> None:
        """Create the schema in an empty file, else check that it is ours and this case's."""
        if not self._tables():
            self._conn.execute("BEGIN IMMEDIATE")  # another process may be creating it too
            try:
                if not self._tables():
                    for statement in _SCHEMA:
                        self._conn.execute(statement)
                    self._conn.executemany(
                        "INSERT INTO meta(key, value) VALUES (?, ?)",
                        [
                            ("case_id", self.case_id),
                            ("schema_version", str(SCHEMA_VERSION)),
                            ("created_at", _utc_now()),
                        ],
                    )
                self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise
        if not {"meta", "models", "evidence"} <= self._tables():
            raise EvidenceStoreError(
                f"{self.path} is an SQLite database but not an evidence store",
                hint="check the path; provenance never writes into databases it did not create",
            )
        if "journal" not in self._tables():  # a store written before the journal existed
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in _JOURNAL:
                    self._conn.execute(statement)
                self._conn.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise
        meta = dict(self._conn.execute("SELECT key, value FROM meta").fetchall())
        if meta.get("schema_version") != str(SCHEMA_VERSION):
            raise EvidenceStoreError(
                f"evidence store {self.path} has schema version {meta.get('schema_version')!r}; "
                f"this provenance reads version {SCHEMA_VERSION}",
                hint="open it with the provenance release that wrote it",
            )
        if meta.get("case_id") != self.case_id:
            raise EvidenceStoreError(
                f"evidence store {self.path} was written by case '{meta.get('case_id')}', not '{self.case_id}'",
                hint="give each case its own evidence store, or check the case id in the case file",
            )

    # ----------------------------------------------------------------- lifecycle

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> EvidenceStore:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"EvidenceStore({str(self.path)!r}, case_id={self.case_id!r})"

    # ----------------------------------------------------------------- writing

    def _write_error(self, exc: sqlite3.Error, doing: str) -> EvidenceStoreError:
        if _is_full(exc):
            return EvidenceStoreError(
                f"evidence store {self.path} is full: could not {doing}",
                hint="free disk space and re-run; rows already written are intact and will not be requested again",
            )
        if getattr(exc, "sqlite_errorname", "").startswith("SQLITE_BUSY"):
            return EvidenceStoreError(
                f"evidence store {self.path} stayed locked by another process: could not {doing}",
                hint="wait for the other run on this case to finish, then re-run",
            )
        return EvidenceStoreError(
            f"evidence store {self.path}: could not {doing}: {exc}",
            hint="check that the disk is writable, then run `provenance verify` on the store",
        )

    def _transaction(self) -> None:
        self._conn.execute("BEGIN IMMEDIATE")

    @contextmanager
    def _writing(self, doing: str) -> Iterator[None]:
        """BEGIN IMMEDIATE around a write; on any error roll back, and name ``doing`` in a one-line error for
        SQLite's. The body commits, or rolls back and returns, itself."""
        try:
            self._transaction()
            yield
        except sqlite3.Error as exc:
            self._rollback()
            raise self._write_error(exc, doing) from None
        except BaseException:
            self._rollback()
            raise

    def _rollback(self) -> None:
        if self._conn.in_transaction:
            try:
                self._conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # SQLite has already rolled back; nothing was committed

    def register_model(self, identity: dict[str, Any]) -> str:
        """Store a model identity once; return its key, ``sha256_json(identity)``.

        The identity (weights hash, endpoint, fingerprint, ...) is what rows point at, so a
        report can say exactly which model answered. Registering it again is a no-op.
        """
        if not isinstance(identity, dict):
            raise TypeError(f"identity must be a dict, not {type(identity).__name__}")
        identity_json = canonical_json(identity)
        model_key = sha256_json(json.loads(identity_json))
        with self._lock:
            with self._writing("register a model"):
                self._conn.execute(
                    "INSERT OR IGNORE INTO models(model_key, identity_json, first_seen) VALUES (?, ?, ?)",
                    (model_key, identity_json, _utc_now()),
                )
                self._conn.execute("COMMIT")
        return model_key

    @staticmethod
    def request_key(
        *,
        model_key: str,
        method: str,
        suite: str,
        probe_id: str,
        prompt: str,
        params: dict[str, Any],
        seed: int | None,
    ) -> str:
        """SHA-256 of exactly the fields that decide a model's answer to a request."""
        return sha256_json(
            {
                "model_key": model_key,
                "method": method,
                "suite": suite,
                "probe_id": probe_id,
                "prompt": prompt,
                "params": params,
                "seed": seed,
            }
        )

    def append(
        self,
        *,
        model_key: str,
        method: str,
        suite: str,
        probe_id: str,
        prompt: str,
        params: dict[str, Any],
        seed: int | None,
        response: dict[str, Any],
        latency_s: float,
        extra: dict[str, Any] | None = None,
    ) -> EvidenceRow:
        """Write one request and its response as the next row of the chain; commit; return it.

        If the request is already stored, the stored row is returned unchanged and nothing
        is written: the first answer is the evidence, and re-runs stay idempotent.
        """
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, not {method!r}")
        seed = None if seed is None else int(seed)
        latency_s = float(latency_s)  # SQLite returns REAL; hash what will be read back
        params_json = canonical_json(params)
        response_json = canonical_json(response)
        extra_json = None if extra is None else canonical_json(extra)
        params, response, extra = json.loads(params_json), json.loads(response_json), _decode(extra_json)
        key = self.request_key(
            model_key=model_key, method=method, suite=suite, probe_id=probe_id,
            prompt=prompt, params=params, seed=seed,
        )  # fmt: skip
        with self._lock:
            existing = self.lookup(key)
            if existing is not None:
                return existing
            with self._writing(f"append {suite}/{probe_id}"):
                existing = self.lookup(key)  # another process may have written it meanwhile
                if existing is not None:
                    self._rollback()
                    return existing
                if self._conn.execute("SELECT 1 FROM models WHERE model_key = ?", (model_key,)).fetchone() is None:
                    self._rollback()
                    raise EvidenceStoreError(
                        f"model {model_key[:12]} is not registered in evidence store {self.path}",
                        hint="call register_model(identity) before appending its responses",
                    )
                last = self._conn.execute("SELECT id, row_hash FROM evidence ORDER BY id DESC LIMIT 1").fetchone()
                new_id, prev_hash = (1, GENESIS_HASH) if last is None else (last[0] + 1, last[1])
                row = EvidenceRow(
                    id=new_id, request_key=key, model_key=model_key, method=method, suite=suite,
                    probe_id=probe_id, prompt=prompt, params=params, seed=seed, response=response,
                    latency_s=latency_s, created_at=_utc_now(), extra=extra, prev_hash=prev_hash,
                    row_hash="",
                )  # fmt: skip
                row = EvidenceRow(**{**row.to_dict(), "row_hash": sha256_json(row.content())})
                self._conn.execute(
                    f"INSERT INTO evidence({_ROW_COLUMNS}) VALUES ({', '.join('?' * 15)})",
                    (
                        row.id, row.request_key, row.model_key, row.method, row.suite, row.probe_id,
                        row.prompt, params_json, row.seed, response_json, row.latency_s,
                        row.created_at, extra_json, row.prev_hash, row.row_hash,
                    ),
                )  # fmt: skip
                self._conn.execute("COMMIT")
                return row

    # ----------------------------------------------------------------- reading

    def _row(self, record: tuple[Any, ...]) -> EvidenceRow:
        (id_, request_key, model_key, method, suite, probe_id, prompt, params_json, seed,
         response_json, latency_s, created_at, extra_json, prev_hash, row_hash) = record  # fmt: skip
        try:
            params, response, extra = _decode(params_json), _decode(response_json), _decode(extra_json)
        except (TypeError, ValueError):
            raise EvidenceStoreError(
                f"evidence store {self.path}: row {id_} holds unreadable JSON",
                hint="run `provenance verify` on the store; it has been altered",
            ) from None
        return EvidenceRow(
            id=id_, request_key=request_key, model_key=model_key, method=method, suite=suite,
            probe_id=probe_id, prompt=prompt, params=params, seed=seed, response=response,
            latency_s=latency_s, created_at=created_at, extra=extra, prev_hash=prev_hash,
            row_hash=row_hash,
        )  # fmt: skip

    def lookup(self, request_key: str) -> EvidenceRow | None:
        """The stored row for ``request_key``, or None if that request was never made."""
        with self._lock:
            record = self._conn.execute(
                f"SELECT {_ROW_COLUMNS} FROM evidence WHERE request_key = ?", (request_key,)
            ).fetchone()
        return None if record is None else self._row(record)

    def rows(self, suite: str | None = None, model_key: str | None = None) -> Iterator[EvidenceRow]:
        """Stored rows in id order, optionally only one suite's and/or one model's."""
        clauses, args = [], []
        if suite is not None:
            clauses.append("suite = ?")
            args.append(suite)
        if model_key is not None:
            clauses.append("model_key = ?")
            args.append(model_key)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        with self._lock:
            records = self._conn.execute(f"SELECT {_ROW_COLUMNS} FROM evidence{where} ORDER BY id", args).fetchall()
        for record in records:
            yield self._row(record)

    def count(self) -> int:
        with self._lock:
            return self._conn.execute("SELECT COUNT(*) FROM evidence").fetchone()[0]

    def head_hash(self) -> str:
        """The last row's hash: one value that commits to the whole store (for manifests)."""
        with self._lock:
            last = self._conn.execute("SELECT row_hash FROM evidence ORDER BY id DESC LIMIT 1").fetchone()
        return GENESIS_HASH if last is None else last[0]

    def models(self) -> dict[str, dict[str, Any]]:
        """Every registered model identity, by model key."""
        with self._lock:
            records = self._conn.execute("SELECT model_key, identity_json FROM models ORDER BY first_seen").fetchall()
        return {key: json.loads(identity_json) for key, identity_json in records}

    # ----------------------------------------------------------------- the journal

    def journal(self) -> list[JournalEntry]:
        """Every journal entry in id order (none in a store written before the journal existed)."""
        with self._lock:
            if "journal" not in self._tables():
                return []
            records = self._conn.execute(f"SELECT {_JOURNAL_COLUMNS} FROM journal ORDER BY id").fetchall()
        return [self._entry(r) for r in records]

    @staticmethod
    def _entry(record: tuple[Any, ...]) -> JournalEntry:
        id_, kind, created_at, evidence_rows, evidence_head, content_json, prev_hash, row_hash = record
        return JournalEntry(id=id_, kind=kind, created_at=created_at, evidence_rows=evidence_rows,
                            evidence_head=evidence_head, content=json.loads(content_json),
                            prev_hash=prev_hash, row_hash=row_hash)  # fmt: skip

    def append_journal(self, kind: str, content: dict[str, Any]) -> JournalEntry:
        """Append a journal entry that commits to the evidence chain as it is now; commit; return it."""
        if kind not in JOURNAL_KINDS:
            raise ValueError(f"kind must be one of {JOURNAL_KINDS}, not {kind!r}")
        content_json = canonical_json(content)
        with self._lock:
            with self._writing(f"append a {kind} entry to the journal"):
                last = self._conn.execute("SELECT id, row_hash FROM journal ORDER BY id DESC LIMIT 1").fetchone()
                head = self._conn.execute("SELECT id, row_hash FROM evidence ORDER BY id DESC LIMIT 1").fetchone()
                entry = JournalEntry(
                    id=1 if last is None else last[0] + 1, kind=kind, created_at=_utc_now(),
                    evidence_rows=0 if head is None else head[0], evidence_head=GENESIS_HASH if head is None else head[1],
                    content=json.loads(content_json), prev_hash=GENESIS_HASH if last is None else last[1], row_hash="",
                )  # fmt: skip
                entry = JournalEntry(**{**asdict(entry), "row_hash": sha256_json(entry.hashed())})
                self._conn.execute(
                    f"INSERT INTO journal({_JOURNAL_COLUMNS}) VALUES ({', '.join('?' * 8)})",
                    (entry.id, entry.kind, entry.created_at, entry.evidence_rows, entry.evidence_head,
                     content_json, entry.prev_hash, entry.row_hash),
                )  # fmt: skip
                self._conn.execute("COMMIT")
                return entry

    def _verify_journal(self, records: list[tuple[Any, ...]]) -> tuple[str | None, int]:
        """The first broken journal entry (hash, link, or the evidence head it names), and how many were checked."""
        heads = {rid: h for rid, h in self._conn.execute("SELECT id, row_hash FROM evidence").fetchall()}
        prev = GENESIS_HASH
        for checked, record in enumerate(records):
            entry = self._entry(record)
            if entry.id != checked + 1:
                return f"journal entry {checked + 1}: missing (ids jump to {entry.id})", checked
            if sha256_json(entry.hashed()) != entry.row_hash:
                return f"journal entry {entry.id}: content does not match its hash (edited after it was written)", checked
            if entry.prev_hash != prev:
                return f"journal entry {entry.id}: chain broken: prev_hash does not match the entry before it", checked
            named = GENESIS_HASH if entry.evidence_rows == 0 else heads.get(entry.evidence_rows)
            if named != entry.evidence_head:
                return (f"journal entry {entry.id} ({entry.kind}) was written at evidence row {entry.evidence_rows}, "
                        "whose hash the store no longer holds (evidence replaced or cut short)"), checked
            prev = entry.row_hash
        return None, len(records)

    # ----------------------------------------------------------------- verifying

    def verify(self) -> VerifyReport:
        """Recompute every hash and link; report the first row that is not as written.

        Checks, per row in id order: ids run 1..n without gaps (a deleted row), the row's
        content matches its ``row_hash`` (an edit), ``prev_hash`` equals the previous row's
        hash (a forged or reordered chain), ``request_key`` matches the request fields, and
        the model it names is registered with an identity that still matches its key.
        """
        with self._lock:
            model_records = self._conn.execute("SELECT model_key, identity_json FROM models").fetchall()
            records = self._conn.execute(f"SELECT {_ROW_COLUMNS} FROM evidence ORDER BY id").fetchall()
        head = GENESIS_HASH if not records else records[-1][-1]

        def bad(row_id: int | None, checked: int, problem: str) -> VerifyReport:
            return VerifyReport(False, checked, row_id, problem, head)

        models: set[str] = set()
        for model_key, identity_json in model_records:
            try:
                matches = sha256_json(json.loads(identity_json)) == model_key
            except (TypeError, ValueError):
                matches = False
            if not matches:
                return bad(None, 0, f"model {model_key[:12]}: identity does not match its key (edited after it was written)")
            models.add(model_key)

        prev_hash = GENESIS_HASH
        for checked, record in enumerate(records):
            expected_id = checked + 1
            row_id = record[0]
            if row_id != expected_id:
                return bad(
                    expected_id, checked,
                    f"row {expected_id}: missing (ids jump from {expected_id - 1} to {row_id}; a row was deleted)",
                )  # fmt: skip
            try:
                row = self._row(record)
                content_ok = sha256_json(row.content()) == row.row_hash
            except (EvidenceStoreError, TypeError, ValueError):
                return bad(row_id, checked, f"row {row_id}: stored JSON cannot be read (edited after it was written)")
            if not content_ok:
                return bad(row_id, checked, f"row {row_id}: content does not match its hash (edited after it was written)")
            if row.prev_hash != prev_hash:
                link = "the genesis value (64 zeros)" if row_id == 1 else f"row {row_id - 1}"
                return bad(row_id, checked, f"row {row_id}: chain broken: prev_hash does not match {link}")
            request_key = self.request_key(
                model_key=row.model_key, method=row.method, suite=row.suite, probe_id=row.probe_id,
                prompt=row.prompt, params=row.params, seed=row.seed,
            )  # fmt: skip
            if request_key != row.request_key:
                return bad(row_id, checked, f"row {row_id}: request_key does not match the request fields")
            if row.model_key not in models:
                return bad(row_id, checked, f"row {row_id}: model {row.model_key[:12]} is not in the models table")
            prev_hash = row.row_hash
        with self._lock:
            journal = (self._conn.execute(f"SELECT {_JOURNAL_COLUMNS} FROM journal ORDER BY id").fetchall()
                       if "journal" in self._tables() else [])
            problem, entries = self._verify_journal(journal)
        journal_head = journal[-1][-1] if journal else GENESIS_HASH
        if problem is not None:
            return VerifyReport(False, len(records), None, problem, head, entries, journal_head)
        return VerifyReport(True, len(records), None, None, head, len(journal), journal_head)
