"""notes: a tiny note keeper on SQLite (dockopt e2e sample with heredocs).

`python notes.py --version` prints the version; `python notes.py selftest` adds
and lists notes in a temporary database.
"""

import configparser
import sqlite3
import sys
import tempfile
from pathlib import Path

from tabulate import tabulate

VERSION = "1.1.0"
CONFIG = Path(__file__).with_name("notes.ini")


def settings() -> configparser.SectionProxy:
    parser = configparser.ConfigParser()
    parser.read(CONFIG)
    if not parser.has_section("notes"):
        parser.add_section("notes")
    return parser["notes"]


def connect(path: str) -> sqlite3.Connection:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
    return db


def add(db: sqlite3.Connection, body: str) -> None:
    db.execute("INSERT INTO notes (body) VALUES (?)", (body,))
    db.commit()


def listing(db: sqlite3.Connection) -> str:
    rows = db.execute("SELECT id, body FROM notes ORDER BY id").fetchall()
    return tabulate(rows, headers=["id", "note"], tablefmt=settings().get("table", "simple"))


def main(argv: list[str]) -> int:
    if argv[:1] == ["--version"]:
        print(f"notes {VERSION} (sqlite {sqlite3.sqlite_version})")
        return 0
    if argv[:1] == ["selftest"]:
        with tempfile.TemporaryDirectory() as tmp:
            db = connect(f"{tmp}/notes.db")
            add(db, "buy milk")
            add(db, "write e2e tests")
            print(listing(db))
            count = db.execute("SELECT count(*) FROM notes").fetchone()[0]
            print(f"selftest: {count} notes")
            return 0 if count == 2 else 1
    db = connect(settings().get("database", "/tmp/notes.db"))
    if argv[:1] == ["add"] and len(argv) > 1:
        add(db, " ".join(argv[1:]))
    print(listing(db))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
