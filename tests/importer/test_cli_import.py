"""`groundswell import-stackexchange DIR` as an operator runs it: a real process, exit codes, one line."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.importer.dumps import SITE, standard
from tests.importer.support import counts, snapshot


def cli(args, db_url: str):
    env = {k: v for k, v in os.environ.items() if not k.startswith("GROUNDSWELL_")}
    env["GROUNDSWELL_DATABASE_URL"] = db_url
    return subprocess.run([sys.executable, "-m", "app.cli", "import-stackexchange", *args], capture_output=True,
                          text=True, env=env, timeout=120)


def test_import_prints_summary_on_stdout_and_progress_on_stderr(db, db_url, std_dump):
    r = cli([str(std_dump), "--site", SITE], db_url)
    assert r.returncode == 0, r.stderr
    assert f"imported from {SITE}" in r.stdout
    assert "3 users, 3 questions, 3 answers, 3 comments, 10 votes, 1 acceptances" in r.stdout
    assert "Posts.xml" in r.stderr and "reputation" in r.stderr and "Traceback" not in r.stderr
    assert "imported from" not in r.stderr
    assert counts(db)["questions"] == 3

    again = cli([str(std_dump), "--site", SITE], db_url)
    assert again.returncode == 0, again.stderr
    assert "already imported" in again.stdout and counts(db)["questions"] == 3


def test_fresh_sqlite_database_is_migrated_first(tmp_path):
    folder = standard().write(tmp_path / SITE)  # the folder's name is the default site
    r = cli([str(folder)], f"sqlite:///{tmp_path / 'fresh.db'}")
    assert r.returncode == 0, r.stderr
    assert f"imported from {SITE}" in r.stdout


def error_line(r) -> str:
    assert r.returncode == 1
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert [line for line in lines if line.startswith("groundswell:")] == [lines[-1]]
    return lines[-1]


def test_bad_folder_is_one_line(db, db_url, tmp_path):
    before = snapshot(db)
    r = cli([str(tmp_path / "missing"), "--site", SITE], db_url)
    line = error_line(r)
    assert "is not a folder" in line and r.stderr.strip() == line
    assert r.stdout == ""
    r = cli([str(tmp_path), "--site", SITE], db_url)
    assert "has no Posts.xml" in error_line(r)
    assert snapshot(db) == before


def test_truncated_file_is_one_line_and_nothing_imported(db, db_url, tmp_path):
    folder = standard().write(tmp_path / "d")
    posts = folder / "Posts.xml"
    data = posts.read_bytes()
    posts.write_bytes(data[:data.index(b'<row Id="21"') + 30])
    before = snapshot(db)
    r = cli([str(folder), "--site", SITE], db_url)
    line = error_line(r)
    assert line.startswith("groundswell: Posts.xml is not well-formed XML") and "nothing was imported" in line
    assert r.stdout == ""
    assert snapshot(db) == before


def test_unknown_product_is_one_line(db, db_url, std_dump):
    r = cli([str(std_dump), "--site", SITE, "--product", "no-such-product"], db_url)
    assert "no product 'no-such-product'" in error_line(r)
    assert counts(db)["questions"] == 0
