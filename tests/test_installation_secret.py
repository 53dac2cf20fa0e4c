"""Without GROUNDSWELL_SECRET_KEY (development) every process of an installation uses one key,
created once, atomically, next to the SQLite database (app/core/config.py installation_secret)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from app.core.config import Settings, SettingsError

SCRIPT = ("from app.core.config import Settings; import sys; "
          "print(Settings(env='development', database_url=sys.argv[1]).secret)")


def test_processes_started_together_agree_on_one_key(tmp_path):
    (tmp_path / "db").mkdir()  # the database's folder must exist (a mistyped one is refused: test_cli.py)
    url = f"sqlite:///{tmp_path / 'db' / 'groundswell.db'}"
    procs = [subprocess.Popen([sys.executable, "-c", SCRIPT, url], stdout=subprocess.PIPE, text=True)
             for _ in range(6)]
    keys = {p.communicate(timeout=60)[0].strip() for p in procs}
    assert len(keys) == 1 and len(keys.pop()) >= 32
    assert [f.name for f in (tmp_path / "db").iterdir()] == [".groundswell-secret"]  # no temporary files left


def test_the_key_survives_a_restart_and_differs_per_installation(tmp_path):
    first = subprocess.run([sys.executable, "-c", SCRIPT, f"sqlite:///{tmp_path / 'a.db'}"],
                           capture_output=True, text=True, check=True).stdout
    again = subprocess.run([sys.executable, "-c", SCRIPT, f"sqlite:///{tmp_path / 'a.db'}"],
                           capture_output=True, text=True, check=True).stdout
    (tmp_path / "b").mkdir()
    other = subprocess.run([sys.executable, "-c", SCRIPT, f"sqlite:///{tmp_path / 'b' / 'b.db'}"],
                           capture_output=True, text=True, check=True).stdout
    assert first == again and first != other


def test_a_configured_key_wins_and_no_file_is_written(tmp_path):
    settings = Settings(env="development", database_url=f"sqlite:///{tmp_path / 'x.db'}", secret_key="k" * 40)
    assert settings.secret == "k" * 40
    assert not (tmp_path / ".groundswell-secret").exists()


def test_an_unwritable_folder_is_a_one_line_settings_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    settings = Settings(env="development", database_url=f"sqlite:///{blocker / 'sub' / 'x.db'}")
    with pytest.raises(SettingsError, match="GROUNDSWELL_SECRET_KEY"):
        settings.secret
