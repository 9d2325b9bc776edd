"""One real object of every company function, in company A and in company B.

Without them a holder and a non-holder of a right would both get 404 on a made-up id,
and a missing permission check would go unnoticed. Each object is made through the
API by someone allowed to (company B's helper admin for B), so it is what the product
would hold; aw.objects[kind][side] names it by its path parameters.
"""

from __future__ import annotations

import base64
import socket
import uuid
from typing import Any

from baoxiao.models.org import Employee
from tests.api.access_world import V1, AccessWorld, approved_claim, invoice_file

SECRET = "whsec_" + base64.b64encode(b"m" * 32).decode()
# Who makes each side's objects: an admin, an integrator, a finance reviewer, a cashier.
MAKERS = {
    "A": {"admin": "admin", "integrator": "integrator", "finance": "finance", "payer": "cashier"},
    "B": {"admin": "b_admin", "integrator": "b_admin", "finance": "b_admin", "payer": "b_admin"},
}
UPLOADER = {"A": "peer", "B": "foreigner"}  # their draft claims carry the invoice files
INVOICES = {"A": 9001, "B": 9002}  # numbers of their own
FLOW = {
    "key": "matrix",
    "name": "Matrix flow",
    "priority": 3,
    "match": {"min_amount": "100000"},
    "nodes": [{"id": "manager", "approvers": [{"type": "manager"}], "fallback": "escalate"}],
}


def dead_url() -> str:
    """An address where nothing listens: remote calls fail at once, never hang."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def connector_body(name: str, url: str) -> dict[str, Any]:
    return {
        "kind": "webhook",
        "name": name,
        "config": {"url": f"{url}/hook", "secret": SECRET, "timeout_seconds": 1},
        "allow_private_network": True,
        "enabled": False,  # nothing is delivered while the matrix runs
    }


def provider_body(key: str, url: str) -> dict[str, Any]:
    return {"key": key, "display_name": key, "issuer": url, "client_id": "matrix"}


def _made(aw: AccessWorld, who: str, path: str, status: int = 201, **kwargs: Any) -> Any:
    response = aw.client.post(V1 + path, headers=aw.headers(who), **kwargs)
    assert response.status_code == status, (path, response.text)
    return response.json()


def _put(aw: AccessWorld, kind: str, side: str, **params: str) -> None:
    aw.objects.setdefault(kind, {})[side] = params


def seed(aw: AccessWorld) -> None:
    """Every kind of object, on both sides; and a claim approved but not yet paid in A."""
    url = dead_url()
    for side, makers in MAKERS.items():
        _seed_side(aw, side, makers, url)
    _put(aw, "approved", "A", claim_id=approved_claim(aw, "rd_traveller", "finance", "approved"))
    _seed_people(aw)


def _seed_side(aw: AccessWorld, side: str, makers: dict[str, str], url: str) -> None:
    code = side.lower()
    uploader = UPLOADER[side]
    upload = _made(
        aw,
        uploader,
        f"/claims/{aw.claims[uploader]['id']}/attachments",
        files={"file": ("e.xml", invoice_file(INVOICES[side]), "application/xml")},
    )
    _put(aw, "invoice", side, invoice_id=str(upload["invoice"]["id"]))
    connector = _made(aw, makers["integrator"], "/connectors", json=connector_body(code, url))
    _put(aw, "connector", side, connector_id=connector["id"])
    flow = _made(aw, makers["admin"], "/approval-flows", json=FLOW)
    _put(aw, "flow", side, flow_id=flow["id"])
    in_force = _made(aw, makers["finance"], "/policy-standards", json={"name": f"now {code}"})
    _made(aw, makers["finance"], f"/policy-standards/{in_force['id']}/publish", status=200)
    standard = _made(aw, makers["finance"], "/policy-standards", json={"name": f"matrix {code}"})
    _put(aw, "standard", side, standard_id=standard["id"])
    provider = _made(
        aw, makers["admin"], "/identity-providers", json=provider_body(f"matrix-{code}", url)
    )
    _put(aw, "provider", side, provider_id=provider["id"])
    service_user = _made(
        aw,
        makers["integrator"],
        "/service-users",
        json={"username": f"svc-matrix-{code}", "display_name": "svc"},
    )
    _put(aw, "service_user", side, user_id=service_user["id"])
    token = _made(
        aw,
        makers["integrator"],
        f"/service-users/{service_user['id']}/tokens",
        json={"name": "t", "scopes": ["scim"]},
    )
    _put(aw, "service_token", side, user_id=service_user["id"], token_id=token["id"])
    owner, reviewer = (
        ("sales_traveller", "finance") if side == "A" else ("foreigner", "foreign_finance")
    )
    claim_id = approved_claim(aw, owner, reviewer, f"{owner}:paying")
    batch = _made(aw, makers["payer"], "/payment-batches", json={"claim_ids": [claim_id]})
    item = batch["items"][0]
    _put(aw, "batch", side, batch_id=batch["id"], reference=item["reference"])
    _put(aw, "payment", side, payment_id=item["payment_id"], claim_id=claim_id)


def _seed_people(aw: AccessWorld) -> None:
    """Role assignments, users, delegations and employees without a login, on both sides."""
    world = aw.world
    for side, (holder, user, delegator, delegate) in {
        "A": ("finance", "peer", "claimant", "peer"),
        "B": ("foreign_finance", "foreigner", "foreigner", "b_clerk"),
    }.items():
        grant = next(g for g in world[holder].user.roles if g.role == "finance")
        _put(aw, "assignment", side, assignment_id=str(grant.id), user_id=str(grant.user_id))
        _put(aw, "user", side, user_id=str(world[user].user.id))
        delegate_person = aw.helpers.get(delegate) or world[delegate]
        assert delegate_person.employee is not None
        delegation = _made(
            aw,
            delegator,
            "/approval-delegations",
            json={
                "delegate_id": str(delegate_person.employee.id),
                "starts_at": "2030-01-01T00:00:00+00:00",
                "ends_at": "2030-02-01T00:00:00+00:00",
            },
        )
        _put(aw, "delegation", side, delegation_id=delegation["id"], delegator=delegator)
    with aw.db.transaction() as session:
        for side in ("A", "B"):
            newcomer = Employee(
                company_id=uuid.UUID(aw.company_id(side)),
                employee_no=f"NEW-{side}",
                name=f"newcomer {side}",
            )
            session.add(newcomer)
            session.flush()
            _put(aw, "newcomer", side, employee_id=str(newcomer.id))
