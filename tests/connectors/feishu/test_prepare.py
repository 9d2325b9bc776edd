"""A server loads lark-oapi before Feishu's first push, not while answering it.

Feishu wants url_verification answered within one second, and importing the SDK costs
about two seconds of CPU; CLI commands and processes without a Feishu instance must
still not pay for it.
"""

from __future__ import annotations

import subprocess
import sys
import uuid

from baoxiao.integrations import service as instances
from baoxiao.kernel.db import Database
from baoxiao.models.integration import ConnectorInstance
from tests.support.factories import ensure_currencies, make_company

LOADED = "lark_oapi.event.dispatcher_handler"


def _python(code: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr


def _add_instance(db: Database, kind: str, *, enabled: bool) -> None:
    with db.transaction() as session:
        ensure_currencies(session)
        company, _d, _c = make_company(session, f"P{uuid.uuid4().hex[:6]}")
        session.add(
            ConnectorInstance(
                id=uuid.uuid4(),
                company_id=company.id,
                kind=kind,
                name=kind,
                config={},
                event_types=["*"],
                enabled=enabled,
                rate_limit_qps=0,
                rate_burst=10,
                rate_tokens=10.0,
            )
        )


def test_prepare_inbound_loads_the_sdk_that_a_push_needs() -> None:
    _python(
        "import sys\n"
        "from baoxiao.connectors.feishu.connector import FeishuConnector\n"
        "assert not [m for m in sys.modules if m.startswith('lark_oapi')], 'loaded on import'\n"
        "FeishuConnector.prepare_inbound()\n"
        f"assert {LOADED!r} in sys.modules\n"
    )


def test_the_kinds_of_enabled_instances_are_prepared(db: Database) -> None:
    _add_instance(db, "webhook", enabled=True)
    _add_instance(db, "feishu", enabled=False)
    with db.transaction() as session:
        assert instances.prepare_inbound(session) == ["webhook"]
    _add_instance(db, "feishu", enabled=True)
    with db.transaction() as session:
        assert instances.prepare_inbound(session) == ["feishu", "webhook"]


def _start_loads_sdk(db: Database) -> bool:
    """In a fresh interpreter, prepare a starting server's connectors over `db`: was the
    SDK loaded (and not already by importing the app)?"""
    url = db.engine.url.render_as_string(hide_password=False)
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys\n"
            "from baoxiao.app import prepare_connectors\n"
            "from baoxiao.kernel.db import Database\n"
            "assert not [m for m in sys.modules if m.startswith('lark_oapi')], 'on import'\n"
            f"prepare_connectors(Database.from_url({url!r}))\n"
            f"print({LOADED!r} in sys.modules)\n",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert loaded.returncode == 0, loaded.stderr
    return loaded.stdout.strip() == "True"


def test_a_starting_server_with_a_feishu_instance_loads_the_sdk(committing_db: Database) -> None:
    _add_instance(committing_db, "feishu", enabled=True)
    assert _start_loads_sdk(committing_db)


def test_a_server_without_one_does_not(committing_db: Database) -> None:
    _add_instance(committing_db, "feishu", enabled=False)
    assert not _start_loads_sdk(committing_db)
