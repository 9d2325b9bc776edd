"""Reconciliation: events Feishu never delivered are repaired by fetching the instance;
`baoxiao reconcile` and `baoxiao sync org` run it from the command line."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

from baoxiao.integrations.feishu import sync
from tests.connectors.feishu.harness import Env, activities, open_id
from tests.support.delivery import TEST_SECRET_KEY

BAOXIAO = Path(sys.executable).parent / "baoxiao"


def _cli(env: Env, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    url = env.db.engine.url.render_as_string(hide_password=False)
    environ = {k: v for k, v in os.environ.items() if not k.startswith("BAOXIAO_")}
    environ.update(
        {
            "BAOXIAO_DATABASE_URL": url,
            "BAOXIAO_SECRET_KEY": TEST_SECRET_KEY,
            "BAOXIAO_VAR_DIR": str(tmp_path),
            "BAOXIAO_LOG_LEVEL": "WARNING",
        }
    )
    return subprocess.run(
        [str(BAOXIAO), *args], env=environ, capture_output=True, text=True, timeout=120, check=False
    )


def test_missed_events_are_repaired_once(feishu_mode: Env) -> None:
    env = feishu_mode
    env.sim.post("/faults", {"hold": True})  # Feishu "loses" every event from here on
    claim_id = env.new_claim()
    env.submit(claim_id)
    code = env.instance_of(claim_id)["instance_code"]
    env.sim.post(f"/instances/{code}/approve", {"user": open_id("manager")})
    assert env.claim_status(claim_id) == "approving"
    fresh = sync.reconcile(env.db, env.box, uuid.UUID(env.connector_id))
    assert fresh == []  # submitted just now: not overdue under the default 60 minutes
    repairs = sync.reconcile(env.db, env.box, uuid.UUID(env.connector_id), older_than=timedelta(0))
    assert [(r.instance_code, r.outcome.split(":")[0]) for r in repairs] == [(code, "applied")]
    assert env.claim_status(claim_id) == "approved"
    env.sim.post("/release", {"order": "forward"})  # the late events change nothing
    env.sim.wait_for(lambda: env.sim.get("/pushes")["pending"] == 0, 20, "late pushes")
    assert sum(1 for a, _ in activities(env, claim_id) if a == "claim:approve") == 1


def test_cli_reconcile_and_sync_org(feishu_mode: Env, tmp_path: Path) -> None:
    env = feishu_mode
    env.sim.post("/faults", {"hold": True})
    claim_id = env.new_claim()
    env.submit(claim_id)
    code = env.instance_of(claim_id)["instance_code"]
    env.sim.post(f"/instances/{code}/reject", {"user": open_id("manager")})
    done = _cli(
        env, tmp_path, "reconcile", "--connector", env.connector_id, "--older-than-minutes", "0"
    )
    assert done.returncode == 0, done.stderr
    assert code in done.stdout and "rejected" in done.stdout and "1 claim(s) checked" in done.stdout
    assert env.claim_status(claim_id) == "rejected"
    synced = _cli(env, tmp_path, "sync", "org", "--connector", env.connector_id)
    assert synced.returncode == 0, synced.stderr
    assert "employees: 0 created, 0 updated, 0 deactivated" in synced.stdout
