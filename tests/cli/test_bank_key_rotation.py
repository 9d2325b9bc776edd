"""Key rotation for bank accounts: `baoxiao rewrap-bank-accounts` after a new secret key."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.cli.test_cli import Cli


def _key_ids(db_file: Path) -> set[str]:
    with sqlite3.connect(db_file) as conn:
        rows = conn.execute("SELECT account_cipher FROM bank_accounts").fetchall()
    return {cipher.split(".")[1] for (cipher,) in rows}


def test_rotating_the_secret_key_rewraps_every_account(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    seeded = cli.run("demo", "--no-serve")
    assert seeded.returncode == 0, seeded.stderr
    old_ids = _key_ids(cli.db_file)
    assert len(old_ids) == 1
    old_key = (tmp_path / "var" / "secret_key").read_text().strip()
    cli.env["BAOXIAO_SECRET_KEY"] = "r" * 48
    cli.env["BAOXIAO_OLD_SECRET_KEYS"] = json.dumps([old_key])
    first = cli.run("rewrap-bank-accounts")
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "5 bank accounts re-encrypted with the current key"
    new_ids = _key_ids(cli.db_file)
    assert len(new_ids) == 1 and new_ids != old_ids
    again = cli.run("rewrap-bank-accounts")
    assert again.stdout.strip() == "0 bank accounts re-encrypted with the current key"
    # Nothing is left under the old key, so it can be dropped from the settings.
    del cli.env["BAOXIAO_OLD_SECRET_KEYS"]
    last = cli.run("rewrap-bank-accounts")
    assert last.returncode == 0, last.stderr
