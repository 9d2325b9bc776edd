"""Idempotency-Key replay and ETag / If-Match optimistic concurrency."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import LINE, Api
from tests.support.factories import World
from tests.support.invoice_samples import receipt_pdf

CLAIMS = "/api/v1/claims"
BODY = {"reason": "client visit", "lines": [LINE]}


def _post(
    client: TestClient,
    world: World,
    path: str,
    key: str | None,
    who: str = "claimant",
    json: Any = None,
) -> Any:
    headers = dict(world[who].headers)
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post(path, json=json, headers=headers)


def _claims(client: TestClient, world: World, who: str = "claimant") -> list[dict[str, Any]]:
    return client.get(CLAIMS, headers=world[who].headers).json()["items"]


def _etag(client: TestClient, world: World, claim_id: str) -> str:
    response = client.get(f"{CLAIMS}/{claim_id}", headers=world["claimant"].headers)
    assert response.status_code == 200
    return response.headers["etag"]


# ---- Idempotency-Key --------------------------------------------------------------------------


def test_replayed_key_returns_the_first_response_and_creates_one_claim(
    client: TestClient, world: World
) -> None:
    first = _post(client, world, CLAIMS, "create-1", json=BODY)
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    second = _post(client, world, CLAIMS, "create-1", json=BODY)
    assert second.status_code == 201
    assert second.content == first.content
    assert second.headers["idempotent-replayed"] == "true"
    assert second.headers["location"] == first.headers["location"]
    assert second.headers["etag"] == first.headers["etag"]
    assert second.headers["content-type"] == "application/json"
    listed = _claims(client, world)
    assert [c["id"] for c in listed] == [first.json()["id"]]


def test_same_key_with_another_body_is_refused(client: TestClient, world: World) -> None:
    first = _post(client, world, CLAIMS, "create-2", json=BODY)
    assert first.status_code == 201
    other = _post(client, world, CLAIMS, "create-2", json={**BODY, "reason": "another visit"})
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert [c["id"] for c in _claims(client, world)] == [first.json()["id"]]


def test_same_key_on_another_endpoint_is_refused(
    api: Api, client: TestClient, world: World
) -> None:
    claim = _post(client, world, CLAIMS, "k-1", json=BODY).json()
    response = _post(client, world, f"{CLAIMS}/{claim['id']}/submit", "k-1")
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert (
        client.get(f"{CLAIMS}/{claim['id']}", headers=world["claimant"].headers).json()["status"]
        == "draft"
    )


def test_keys_are_per_user(client: TestClient, world: World) -> None:
    mine = _post(client, world, CLAIMS, "shared-key", json=BODY)
    theirs = _post(client, world, CLAIMS, "shared-key", who="peer", json=BODY)
    assert mine.status_code == theirs.status_code == 201
    assert "idempotent-replayed" not in theirs.headers
    assert mine.json()["id"] != theirs.json()["id"]
    assert [c["id"] for c in _claims(client, world)] == [mine.json()["id"]]
    assert [c["id"] for c in _claims(client, world, "peer")] == [theirs.json()["id"]]
    assert {c["id"] for c in _claims(client, world, "manager")} == {
        mine.json()["id"],
        theirs.json()["id"],
    }


def test_a_failed_request_is_not_remembered(client: TestClient, world: World) -> None:
    bad = _post(
        client, world, CLAIMS, "retry-me", json={**BODY, "lines": [{**LINE, "amount": "-1"}]}
    )
    assert bad.status_code == 422
    assert bad.json()["code"] == "invalid_amount"
    good = _post(client, world, CLAIMS, "retry-me", json=BODY)
    assert good.status_code == 201
    assert "idempotent-replayed" not in good.headers
    assert len(_claims(client, world)) == 1


def test_replayed_submit_does_not_submit_twice(api: Api, client: TestClient, world: World) -> None:
    claim = api.create()
    path = f"{CLAIMS}/{claim['id']}/submit"
    first = _post(client, world, path, "submit-1")
    assert first.status_code == 200
    again = _post(client, world, path, "submit-1")
    assert again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert len(client.get("/api/v1/approval-tasks", headers=world["manager"].headers).json()) == 1
    # Without the key, a second submit is what it is: an illegal transition.
    plain = _post(client, world, path, None)
    assert plain.status_code == 409
    assert plain.json()["code"] == "invalid_transition"


def test_replayed_payment_pays_once(api: Api, client: TestClient, world: World) -> None:
    claim = api.approved_claim()
    path = f"{CLAIMS}/{claim['id']}/mark-paid"
    first = _post(client, world, path, "pay-1", who="cashier", json={"external_reference": "TX"})
    again = _post(client, world, path, "pay-1", who="cashier", json={"external_reference": "TX"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    payments = client.get(
        f"{CLAIMS}/{claim['id']}/payments", headers=world["cashier"].headers
    ).json()
    assert [p["id"] for p in payments] == [first.json()["id"]]


def test_replayed_approval(api: Api, client: TestClient, world: World) -> None:
    claim = api.create()
    api.submit(claim["id"])
    task = api.task_for(claim["id"], "manager")
    path = f"/api/v1/approval-tasks/{task['id']}/approve"
    first = _post(client, world, path, "approve-1", who="manager")
    again = _post(client, world, path, "approve-1", who="manager")
    assert first.status_code == again.status_code == 200
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"


@pytest.mark.parametrize("key", ["", "k" * 256])
def test_invalid_key_is_refused(client: TestClient, world: World, key: str) -> None:
    response = _post(client, world, CLAIMS, key, json=BODY)
    assert response.status_code == 400
    assert response.json()["code"] == "idempotency_key_invalid"
    assert _claims(client, world) == []


def test_longest_key_is_accepted(client: TestClient, world: World) -> None:
    key = "k" * 255
    first = _post(client, world, CLAIMS, key, json=BODY)
    again = _post(client, world, CLAIMS, key, json=BODY)
    assert first.status_code == again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"


def test_key_without_authentication_is_still_refused(client: TestClient) -> None:
    response = client.post(CLAIMS, json=BODY, headers={"Idempotency-Key": "anon"})
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"


def test_key_is_ignored_on_reads(api: Api, client: TestClient, world: World) -> None:
    claim = api.create()
    headers = {**world["claimant"].headers, "Idempotency-Key": "read-1"}
    first = client.get(f"{CLAIMS}/{claim['id']}", headers=headers)
    client.patch(
        f"{CLAIMS}/{claim['id']}", json={"reason": "new"}, headers=world["claimant"].headers
    )
    second = client.get(f"{CLAIMS}/{claim['id']}", headers=headers)
    assert "idempotent-replayed" not in second.headers
    assert (first.json()["reason"], second.json()["reason"]) == ("client visit", "new")


# ---- ETag and If-Match ------------------------------------------------------------------------


def test_etag_names_the_claim_version(api: Api, client: TestClient, world: World) -> None:
    claim = api.create()
    etag = _etag(client, world, claim["id"])
    assert etag == f'"{claim["id"].replace("-", "")}-{claim["version"]}"'
    assert _etag(client, world, claim["id"]) == etag  # reading changes nothing


def test_etag_changes_after_each_change(api: Api, client: TestClient, world: World) -> None:
    claim = api.create()
    cid = claim["id"]
    h = world["claimant"].headers
    seen = [_etag(client, world, cid)]

    def changed(response: Any) -> None:
        assert response.status_code < 300, response.text
        current = _etag(client, world, cid)
        assert current not in seen
        if "etag" in response.headers:
            assert response.headers["etag"] == current
        seen.append(current)

    changed(client.patch(f"{CLAIMS}/{cid}", json={"reason": "a"}, headers=h))
    added = client.post(f"{CLAIMS}/{cid}/lines", json=LINE, headers=h)
    changed(added)
    line_id = added.json()["lines"][1]["id"]
    changed(client.patch(f"{CLAIMS}/{cid}/lines/{line_id}", json={"amount": "7"}, headers=h))
    changed(client.delete(f"{CLAIMS}/{cid}/lines/{line_id}", headers=h))
    attachment = client.post(
        f"{CLAIMS}/{cid}/attachments",
        files={"file": ("r.pdf", receipt_pdf(), "application/pdf")},
        headers=h,
    )
    changed(attachment)
    changed(client.delete(f"{CLAIMS}/{cid}/attachments/{attachment.json()['id']}", headers=h))
    changed(client.post(f"{CLAIMS}/{cid}/submit", headers=h))
    api.decide(cid, "manager", "return", comment="again")
    changed(client.get(f"{CLAIMS}/{cid}", headers=h))  # the manager's decision changed it
    assert len(seen) == len(set(seen)) == 9


def test_matching_if_match_succeeds(api: Api, client: TestClient, world: World) -> None:
    claim = api.create()
    cid = claim["id"]
    h = world["claimant"].headers
    etag = _etag(client, world, cid)
    patched = client.patch(f"{CLAIMS}/{cid}", json={"reason": "b"}, headers={**h, "If-Match": etag})
    assert patched.status_code == 200
    etag = patched.headers["etag"]
    added = client.post(f"{CLAIMS}/{cid}/lines", json=LINE, headers={**h, "If-Match": etag})
    assert added.status_code == 201
    etag = added.headers["etag"]
    line_id = added.json()["lines"][0]["id"]
    updated = client.patch(
        f"{CLAIMS}/{cid}/lines/{line_id}", json={"amount": "9"}, headers={**h, "If-Match": etag}
    )
    assert updated.status_code == 200
    etag = updated.headers["etag"]
    submitted = client.post(f"{CLAIMS}/{cid}/submit", headers={**h, "If-Match": etag})
    assert submitted.status_code == 200
    assert submitted.json()["status"] == "approving"
    assert submitted.json()["total_amount"] == "59.00"


@pytest.mark.parametrize(
    "operation", ["patch", "add_line", "update_line", "remove_line", "submit", "cancel"]
)
def test_stale_if_match_is_refused(
    api: Api, client: TestClient, world: World, operation: str
) -> None:
    claim = api.create()
    cid = claim["id"]
    line_id = claim["lines"][0]["id"]
    h = world["claimant"].headers
    stale = _etag(client, world, cid)
    client.patch(f"{CLAIMS}/{cid}", json={"reason": "someone else's edit"}, headers=h)
    current = _etag(client, world, cid)
    headers = {**h, "If-Match": stale}
    response = {
        "patch": lambda: client.patch(f"{CLAIMS}/{cid}", json={"reason": "mine"}, headers=headers),
        "add_line": lambda: client.post(f"{CLAIMS}/{cid}/lines", json=LINE, headers=headers),
        "update_line": lambda: client.patch(
            f"{CLAIMS}/{cid}/lines/{line_id}", json={"amount": "1"}, headers=headers
        ),
        "remove_line": lambda: client.delete(f"{CLAIMS}/{cid}/lines/{line_id}", headers=headers),
        "submit": lambda: client.post(f"{CLAIMS}/{cid}/submit", headers=headers),
        "cancel": lambda: client.post(f"{CLAIMS}/{cid}/cancel", headers=headers),
    }[operation]()
    assert response.status_code == 412, response.text
    assert response.json()["code"] == "precondition_failed"
    after = client.get(f"{CLAIMS}/{cid}", headers=h)
    assert after.headers["etag"] == current
    body = after.json()
    assert (body["status"], body["reason"], body["total_amount"], len(body["lines"])) == (
        "draft",
        "someone else's edit",
        "50.00",
        1,
    )


def test_stale_if_match_on_withdraw(api: Api, client: TestClient, world: World) -> None:
    claim = api.create()
    submitted = client.post(f"{CLAIMS}/{claim['id']}/submit", headers=world["claimant"].headers)
    seen_by_claimant = submitted.headers["etag"]
    # The claimant's copy goes stale when the claim moves on, e.g. a return and resubmit.
    api.decide(claim["id"], "manager", "return", comment="fix")
    api.submit(claim["id"])
    response = client.post(
        f"{CLAIMS}/{claim['id']}/withdraw",
        headers={**world["claimant"].headers, "If-Match": seen_by_claimant},
    )
    assert response.status_code == 412
    assert response.json()["code"] == "precondition_failed"


@pytest.mark.parametrize("form", ["star", "weak", "list"])
def test_if_match_forms(api: Api, client: TestClient, world: World, form: str) -> None:
    claim = api.create()
    etag = _etag(client, world, claim["id"])
    value = {"star": "*", "weak": f"W/{etag}", "list": f'"nope-1", {etag}'}[form]
    response = client.patch(
        f"{CLAIMS}/{claim['id']}",
        json={"reason": "c"},
        headers={**world["claimant"].headers, "If-Match": value},
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("value", ['"nope-1"', "garbage", '""'])
def test_if_match_that_matches_nothing_is_refused(
    api: Api, client: TestClient, world: World, value: str
) -> None:
    claim = api.create()
    response = client.patch(
        f"{CLAIMS}/{claim['id']}",
        json={"reason": "d"},
        headers={**world["claimant"].headers, "If-Match": value},
    )
    assert response.status_code == 412
    assert response.json()["code"] == "precondition_failed"
