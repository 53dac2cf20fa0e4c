"""The package works when installed non-editable (as the Docker image installs it)."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
                       capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        pytest.fail(f"building the wheel failed: {r.stderr[-2000:]}")
    return next(out.glob("groundswell-*.whl"))


def test_wheel_ships_templates_static_files_and_migrations(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "app/alembic.ini" in names
    assert "app/migrations/env.py" in names
    assert any(n.startswith("app/migrations/versions/") and n.endswith(".py") for n in names)
    assert "app/templates/error.html" in names
    assert "app/web/static/groundswell.css" in names


def test_installed_wheel_migrates_and_renders_pages(wheel, tmp_path):
    target = tmp_path / "site"
    r = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    env = {k: v for k, v in os.environ.items() if not k.startswith("GROUNDSWELL_")}
    env.update(PYTHONPATH=str(target), GROUNDSWELL_DATABASE_URL=f"sqlite:///{tmp_path / 'w.db'}")
    code = (
        "import app, sys; assert app.__file__.startswith(sys.argv[1]), app.__file__\n"
        "from app.cli import main; assert main(['migrate']) == 0\n"
        "from fastapi.testclient import TestClient; from app.main import create_app\n"
        "c = TestClient(create_app())\n"
        "r = c.get('/'); assert r.status_code == 200 and '<html' in r.text, r.status_code\n"
        "assert c.get('/static/groundswell.css').status_code == 200\n"
        "print('ok')\n"
    )
    r = subprocess.run([sys.executable, "-c", code, str(target)], cwd=tmp_path, env=env, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0 and r.stdout.strip().endswith("ok"), r.stderr[-3000:]
