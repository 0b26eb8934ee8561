"""The audit history: one SQLite file recording every run and every pair it decided.

Why SQLite: a scheduler kills or reboots things. Each pair's row is committed the
moment that pair finishes, so a killed run leaves behind every pair it finished,
and the next run reuses them (by pair key) instead of repeating them. A run row
starts as ``running`` and becomes ``finished`` only at the end; ``audit diff``
compares finished runs only, so a half-done run never reads as "models vanished".
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from provenance.hashing import sha256_file

HISTORY_FILE = "history.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    audit_id TEXT NOT NULL,
    audit_sha256 TEXT NOT NULL,
    started_at REAL NOT NULL,
    finished_at REAL,
    status TEXT NOT NULL,            -- running | finished
    executor TEXT NOT NULL,          -- pool:N | ray:ADDRESS
    wall_seconds REAL,
    pairs_total INTEGER,
    pairs_run INTEGER,
    pairs_reused INTEGER,
    pairs_failed INTEGER,
    new_findings INTEGER
);
CREATE TABLE IF NOT EXISTS pairs (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    suspect TEXT NOT NULL,
    teacher TEXT NOT NULL,
    source TEXT NOT NULL,
    suspect_hash TEXT,
    teacher_hash TEXT,
    control_hashes TEXT NOT NULL,    -- JSON list
    suite_hashes TEXT NOT NULL,      -- JSON object: suite -> hash of version, file hash, settings
    pair_key TEXT,
    status TEXT NOT NULL,            -- done | reused | identical | skipped | failed
    supports_derivation INTEGER,     -- 1 / 0, NULL when there is no verdict
    verdict TEXT,
    error TEXT,
    case_dir TEXT,
    findings_path TEXT,
    report_path TEXT,
    seconds REAL,
    finished_at REAL NOT NULL,
    PRIMARY KEY (run_id, suspect, teacher)
);
CREATE INDEX IF NOT EXISTS pairs_by_key ON pairs (pair_key, status);
CREATE TABLE IF NOT EXISTS file_hashes (
    path TEXT PRIMARY KEY,
    stat TEXT NOT NULL,              -- size, mtime, ctime, inode: any change means hash again
    sha256 TEXT NOT NULL
);
"""

_PAIR_COLUMNS = (
    "suspect", "teacher", "source", "suspect_hash", "teacher_hash", "control_hashes", "suite_hashes", "pair_key",
    "status", "supports_derivation", "verdict", "error", "case_dir", "findings_path", "report_path", "seconds",
)  # fmt: skip


class History:
    """Runs and pair results of one audit output folder."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, timeout=30)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start_run(self, audit_id: str, audit_sha256: str, executor: str) -> int:
        with self._db:
            cursor = self._db.execute(
                "INSERT INTO runs (audit_id, audit_sha256, started_at, status, executor) VALUES (?, ?, ?, 'running', ?)",
                (audit_id, audit_sha256, time.time(), executor),
            )
        return int(cursor.lastrowid)

    def record_pair(self, run_id: int, **values: Any) -> None:
        """Store one pair's outcome for this run, committed at once."""
        row = {k: values.get(k) for k in _PAIR_COLUMNS}
        row["control_hashes"] = json.dumps(values.get("control_hashes") or [])
        row["suite_hashes"] = json.dumps(values.get("suite_hashes") or {}, sort_keys=True)
        if row["supports_derivation"] is not None:
            row["supports_derivation"] = int(bool(row["supports_derivation"]))
        columns = ", ".join(("run_id", *_PAIR_COLUMNS, "finished_at"))
        marks = ", ".join("?" * (len(_PAIR_COLUMNS) + 2))
        with self._db:
            self._db.execute(
                f"INSERT OR REPLACE INTO pairs ({columns}) VALUES ({marks})",
                (run_id, *row.values(), time.time()),
            )

    def finish_run(self, run_id: int, **counts: Any) -> None:
        sets = ", ".join(f"{k} = ?" for k in counts)
        with self._db:
            self._db.execute(
                f"UPDATE runs SET status = 'finished', finished_at = ?, {sets} WHERE id = ?",
                (time.time(), *counts.values(), run_id),
            )

    def file_sha256(self, path: Path) -> str:
        """SHA-256 of a file, remembered while its size, mtime, ctime and inode stay the same.

        Released models are gigabytes; hashing every one on every scheduled run would
        dominate a run in which nothing changed. The stat signature is what git uses to
        the same end; ctime cannot be set back by ordinary tools. The pair's case still
        hashes every file itself when it runs, into its evidence.
        """
        st = path.stat()
        signature = f"{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_ino}"
        key = str(path.resolve())
        row = self._db.execute("SELECT stat, sha256 FROM file_hashes WHERE path = ?", (key,)).fetchone()
        if row is not None and row["stat"] == signature:
            return str(row["sha256"])
        digest = sha256_file(path)
        with self._db:
            self._db.execute("INSERT OR REPLACE INTO file_hashes (path, stat, sha256) VALUES (?, ?, ?)", (key, signature, digest))
        return digest

    def completed(self, pair_key: str) -> dict[str, Any] | None:
        """The latest pair row with this key that reached a verdict, in any run (finished or killed)."""
        row = self._db.execute(
            "SELECT * FROM pairs WHERE pair_key = ? AND status IN ('done', 'reused') AND supports_derivation IS NOT NULL"
            " ORDER BY finished_at DESC LIMIT 1",
            (pair_key,),
        ).fetchone()
        return None if row is None else dict(row)

    def runs(self, *, finished_only: bool = True) -> list[dict[str, Any]]:
        where = "WHERE status = 'finished'" if finished_only else ""
        return [dict(r) for r in self._db.execute(f"SELECT * FROM runs {where} ORDER BY id")]

    def pairs(self, run_id: int) -> list[dict[str, Any]]:
        rows = self._db.execute("SELECT * FROM pairs WHERE run_id = ? ORDER BY suspect, teacher", (run_id,))
        out = []
        for r in rows:
            row = dict(r)
            row["control_hashes"] = json.loads(row["control_hashes"])
            row["suite_hashes"] = json.loads(row["suite_hashes"])
            if row["supports_derivation"] is not None:
                row["supports_derivation"] = bool(row["supports_derivation"])
            out.append(row)
        return out
