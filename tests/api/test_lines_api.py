"""Claim lines: amounts, categories, currencies, conversion and the server-computed total."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import LINE, Api
from tests.support.factories import World

CLAIMS = "/api/v1/claims"


def _add(
    client: TestClient,
    world: World,
    claim_id: str,
    line: dict[str, Any],
    who: str = "claimant",
    **headers: str,
) -> Any:
    return client.post(
        f"{CLAIMS}/{claim_id}/lines", json=line, headers={**world[who].headers, **headers}
    )


def _create(client: TestClient, world: World, lines: list[dict[str, Any]]) -> Any:
    return client.post(
        CLAIMS, json={"reason": "x", "lines": lines}, headers=world["claimant"].headers
    )


def _claim(client: TestClient, world: World, claim_id: str) -> dict[str, Any]:
    response = client.get(f"{CLAIMS}/{claim_id}", headers=world["claimant"].headers)
    assert response.status_code == 200
    return response.json()


def _no_claims(client: TestClient, world: World) -> bool:
    return client.get(CLAIMS, headers=world["claimant"].headers).json()["items"] == []


# ---- bad amounts ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency"),
    [
        ("-1.00", "CNY"),
        ("-0.01", "CNY"),
        ("0", "CNY"),
        ("0.00", "CNY"),
        ("1.234", "CNY"),
        ("0.001", "CNY"),
        ("12.5", "JPY"),
        ("1000000000000", "CNY"),
        ("1e15", "CNY"),
        ("99999999999999999999999", "CNY"),
    ],
)
def test_bad_amount_is_refused(
    client: TestClient, world: World, amount: str, currency: str
) -> None:
    response = _create(client, world, [{**LINE, "amount": amount, "currency": currency}])
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "invalid_amount"
    assert problem["field"] == "lines[0].amount"
    assert _no_claims(client, world)


def test_bad_amount_names_the_offending_line(client: TestClient, world: World) -> None:
    response = _create(client, world, [LINE, {**LINE, "amount": "-5"}])
    assert response.status_code == 422
    assert response.json()["field"] == "lines[1].amount"
    assert "greater than zero" in response.json()["detail"]


@pytest.mark.parametrize("amount", ["abc", "", "1,5", "NaN", "Infinity", None, True, [1]])
def test_non_number_amount_is_a_validation_error(
    client: TestClient, world: World, amount: object
) -> None:
    response = _create(client, world, [{**LINE, "amount": amount}])
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "validation_error"
    assert problem["errors"][0]["field"] == "body.lines.0.amount"
    assert _no_claims(client, world)


def test_largest_amount_is_accepted(client: TestClient, world: World) -> None:
    response = _create(client, world, [{**LINE, "amount": "999999999999.99"}])
    assert response.status_code == 201, response.text
    assert response.json()["total_amount"] == "999999999999.99"
    assert _claim(client, world, response.json()["id"])["total_amount"] == "999999999999.99"


def test_whole_yen_amount_is_accepted_with_a_rate(client: TestClient, world: World) -> None:
    line = {**LINE, "amount": "3200", "currency": "JPY", "exchange_rate": "0.0471"}
    response = _create(client, world, [line])
    assert response.status_code == 201, response.text
    [read] = response.json()["lines"]
    assert (read["amount"], read["currency"], read["amount_base"]) == ("3200", "JPY", "150.72")
    assert read["exchange_rate"] == "0.04710000"
    assert read["rate_source"] == "manual"
    again = _claim(client, world, response.json()["id"])["lines"][0]
    assert (again["amount"], again["amount_base"], again["exchange_rate"]) == (
        "3200",
        "150.72",
        "0.04710000",
    )


# ---- categories -----------------------------------------------------------------


@pytest.mark.parametrize("code", ["NOPE", "OLD", "taxi"])
def test_unknown_or_inactive_category_is_refused(
    client: TestClient, world: World, code: str
) -> None:
    response = _create(client, world, [{**LINE, "category_code": code}])
    assert response.status_code == 422
    assert response.json()["code"] == "unknown_category"
    assert response.json()["category"] == code
    assert _no_claims(client, world)


def test_category_by_id(client: TestClient, world: World) -> None:
    hotel = world.categories["HOTEL"]
    line = {"category_id": str(hotel.id), "expense_date": "2026-11-01", "amount": "420.00"}
    response = _create(client, world, [line])
    assert response.status_code == 201
    [read] = response.json()["lines"]
    assert (read["category_id"], read["category_code"]) == (str(hotel.id), "HOTEL")


def test_category_of_another_company_is_unknown(client: TestClient, world: World, api: Api) -> None:
    foreign_claim = api.create(who="foreigner")
    foreign_taxi = next(
        line["category_id"] for line in foreign_claim["lines"] if line["category_code"] == "TAXI"
    )
    line = {"category_id": foreign_taxi, "expense_date": "2026-11-01", "amount": "5.00"}
    response = _create(client, world, [line])
    assert response.status_code == 422
    assert response.json()["code"] == "unknown_category"


@pytest.mark.parametrize(
    "line",
    [
        {"expense_date": "2026-11-01", "amount": "5"},
        {
            "category_code": "TAXI",
            "category_id": "0190a000-0000-7000-8000-000000000000",
            "expense_date": "2026-11-01",
            "amount": "5",
        },
        {"category_code": "TAXI", "amount": "5"},
        {"category_code": "TAXI", "expense_date": "yesterday", "amount": "5"},
        {"category_code": "TAXI", "expense_date": "2026-11-01"},
    ],
    ids=["no-category", "two-categories", "no-date", "bad-date", "no-amount"],
)
def test_malformed_line_is_a_validation_error(
    client: TestClient, world: World, line: dict[str, Any]
) -> None:
    response = _create(client, world, [line])
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


# ---- currencies and exchange rates --------------------------------------------------


@pytest.mark.parametrize("currency", ["XXX", "GBP"])
def test_unknown_currency_is_refused(client: TestClient, world: World, currency: str) -> None:
    response = _create(client, world, [{**LINE, "currency": currency}])
    assert response.status_code == 422
    assert response.json()["code"] == "unknown_currency"
    assert response.json()["currency"] == currency


@pytest.mark.parametrize("currency", ["US", "USDX", "U$D", "123"])
def test_malformed_currency_is_a_validation_error(
    client: TestClient, world: World, currency: str
) -> None:
    response = _create(client, world, [{**LINE, "currency": currency}])
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


def test_lowercase_currency_is_normalised(client: TestClient, world: World) -> None:
    response = _create(client, world, [{**LINE, "amount": "10", "currency": " usd "}])
    assert response.status_code == 201
    assert response.json()["lines"][0]["currency"] == "USD"
    assert response.json()["total_amount"] == "71.00"


def test_table_rate_converts_usd(client: TestClient, world: World) -> None:
    response = _create(client, world, [{**LINE, "amount": "100.00", "currency": "USD"}])
    assert response.status_code == 201, response.text
    [line] = response.json()["lines"]
    assert line["exchange_rate"] == "7.10000000"
    assert line["rate_source"] == "table"
    assert line["amount"] == "100.00"
    assert line["amount_base"] == "710.00"
    assert response.json()["currency"] == "CNY"
    assert response.json()["total_amount"] == "710.00"


def test_table_rate_rounds_half_up_to_the_cent(client: TestClient, world: World) -> None:
    # 0.15 * 7.10 = 1.065 -> 1.07 (half up; half even would give 1.06)
    response = _create(client, world, [{**LINE, "amount": "0.15", "currency": "USD"}])
    assert response.status_code == 201
    assert response.json()["lines"][0]["amount_base"] == "1.07"


def test_rate_is_not_used_before_it_takes_effect(client: TestClient, world: World) -> None:
    line = {**LINE, "amount": "10", "currency": "USD", "expense_date": "2025-12-31"}
    response = _create(client, world, [line])
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "exchange_rate_missing"
    assert (problem["currency"], problem["base"], problem["date"]) == ("USD", "CNY", "2025-12-31")


def test_missing_exchange_rate_is_refused_and_a_manual_rate_fixes_it(
    client: TestClient, world: World
) -> None:
    line = {**LINE, "amount": "1.01", "currency": "EUR"}
    missing = _create(client, world, [line])
    assert missing.status_code == 422
    assert missing.json()["code"] == "exchange_rate_missing"
    assert missing.json()["currency"] == "EUR"
    assert _no_claims(client, world)

    # 1.01 * 0.5 = 0.505 -> 0.51 with ROUND_HALF_UP (banker's rounding would give 0.50)
    fixed = _create(client, world, [{**line, "exchange_rate": "0.5"}])
    assert fixed.status_code == 201, fixed.text
    [read] = fixed.json()["lines"]
    assert read["exchange_rate"] == "0.50000000"
    assert read["rate_source"] == "manual"
    assert read["amount_base"] == "0.51"
    assert fixed.json()["total_amount"] == "0.51"


@pytest.mark.parametrize(
    ("amount", "rate", "expected"),
    [
        ("10.01", "7.8125", "78.20"),  # 78.2028125
        ("2.50", "7.83456789", "19.59"),  # 19.586419725
        ("100.05", "7.1", "710.36"),  # 710.355: half up
        ("0.01", "0.4", "0.00"),  # 0.004 rounds to nothing
    ],
)
def test_manual_rate_conversion_is_cent_exact(
    client: TestClient, world: World, amount: str, rate: str, expected: str
) -> None:
    line = {**LINE, "amount": amount, "currency": "EUR", "exchange_rate": rate}
    response = _create(client, world, [line])
    assert response.status_code == 201, response.text
    assert response.json()["lines"][0]["amount_base"] == expected
    assert response.json()["total_amount"] == expected
    assert _claim(client, world, response.json()["id"])["total_amount"] == expected


def test_manual_rate_overrides_the_table(client: TestClient, world: World) -> None:
    line = {**LINE, "amount": "10", "currency": "USD", "exchange_rate": "7.2"}
    response = _create(client, world, [line])
    [read] = response.json()["lines"]
    assert (read["rate_source"], read["exchange_rate"], read["amount_base"]) == (
        "manual",
        "7.20000000",
        "72.00",
    )


@pytest.mark.parametrize(
    ("rate", "reason"),
    [
        ("0", "greater than zero"),
        ("-7.1", "greater than zero"),
        ("7.123456789", "decimal places"),
        ("1000000000000", "too large"),
    ],
)
def test_bad_manual_rate_is_refused(
    client: TestClient, world: World, rate: str, reason: str
) -> None:
    line = {**LINE, "amount": "10", "currency": "EUR", "exchange_rate": rate}
    response = _create(client, world, [line])
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_amount"
    assert response.json()["field"] == "lines[0].exchange_rate"
    assert reason in response.json()["detail"]


def test_converted_amount_too_large_for_a_claim_is_refused(
    client: TestClient, world: World
) -> None:
    line = {**LINE, "amount": "999999999999", "currency": "EUR", "exchange_rate": "100000000"}
    response = _create(client, world, [line])
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_amount"
    assert response.json()["field"] == "lines[0].amount"
    assert _no_claims(client, world)


def test_same_currency_ignores_a_given_rate(client: TestClient, world: World) -> None:
    response = _create(client, world, [{**LINE, "amount": "10", "exchange_rate": "3"}])
    [read] = response.json()["lines"]
    assert (read["rate_source"], read["exchange_rate"], read["amount_base"]) == (
        "same",
        "1.00000000",
        "10.00",
    )


# ---- add, update, remove and the server-computed total -------------------------------


def test_add_line_recomputes_the_total(api: Api, client: TestClient, world: World) -> None:
    claim = api.create(lines=[{**LINE, "amount": "12.80"}])
    response = _add(
        client,
        world,
        claim["id"],
        {**LINE, "amount": "100", "currency": "USD", "description": "hotel", "city": "Boston"},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["total_amount"] == "722.80"
    assert [line["position"] for line in body["lines"]] == [1, 2]
    assert body["lines"][1]["description"] == "hotel"
    assert body["lines"][1]["city"] == "Boston"
    assert response.headers["etag"] != f'"{claim["id"].replace("-", "")}-{claim["version"]}"'
    assert _claim(client, world, claim["id"])["total_amount"] == "722.80"


def test_update_line_recomputes_the_total(api: Api, client: TestClient, world: World) -> None:
    claim = api.create(
        lines=[{**LINE, "amount": "12.80"}, {**LINE, "amount": "100", "currency": "USD"}]
    )
    usd_line = claim["lines"][1]["id"]
    response = client.patch(
        f"{CLAIMS}/{claim['id']}/lines/{usd_line}",
        json={"amount": "50"},
        headers=world["claimant"].headers,
    )
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["lines"][1]["amount"] == "50.00"
    assert updated["lines"][1]["amount_base"] == "355.00"
    assert updated["lines"][1]["currency"] == "USD"
    assert updated["lines"][1]["rate_source"] == "table"
    assert updated["total_amount"] == "367.80"
    assert _claim(client, world, claim["id"])["total_amount"] == "367.80"


def test_update_line_changes_currency_category_and_text(
    api: Api, client: TestClient, world: World
) -> None:
    claim = api.create()
    line_id = claim["lines"][0]["id"]
    changes = {"currency": "USD", "category_code": "MEAL", "description": "lunch", "city": "NYC"}
    response = client.patch(
        f"{CLAIMS}/{claim['id']}/lines/{line_id}", json=changes, headers=world["claimant"].headers
    )
    assert response.status_code == 200, response.text
    [line] = response.json()["lines"]
    assert (line["currency"], line["amount"], line["amount_base"]) == ("USD", "50.00", "355.00")
    assert (line["category_code"], line["description"], line["city"]) == ("MEAL", "lunch", "NYC")
    assert line["category_id"] == str(world.categories["MEAL"].id)
    assert response.json()["total_amount"] == "355.00"


def test_update_line_keeps_a_manual_rate(api: Api, client: TestClient, world: World) -> None:
    claim = api.create(lines=[{**LINE, "amount": "10", "currency": "EUR", "exchange_rate": "7.8"}])
    line_id = claim["lines"][0]["id"]
    response = client.patch(
        f"{CLAIMS}/{claim['id']}/lines/{line_id}",
        json={"amount": "20"},
        headers=world["claimant"].headers,
    )
    assert response.status_code == 200, response.text
    [line] = response.json()["lines"]
    assert (line["exchange_rate"], line["rate_source"], line["amount_base"]) == (
        "7.80000000",
        "manual",
        "156.00",
    )


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"amount": "-3"}, "invalid_amount"),
        ({"amount": "1.001"}, "invalid_amount"),
        ({"category_code": "OLD"}, "unknown_category"),
        ({"currency": "XXX"}, "unknown_currency"),
        ({"currency": "EUR"}, "exchange_rate_missing"),
        ({"amount_base": "1.00"}, "validation_error"),
        ({"amount": "ten"}, "validation_error"),
    ],
)
def test_bad_line_update_is_refused_and_changes_nothing(
    api: Api, client: TestClient, world: World, change: dict[str, Any], code: str
) -> None:
    claim = api.create()
    line_id = claim["lines"][0]["id"]
    response = client.patch(
        f"{CLAIMS}/{claim['id']}/lines/{line_id}", json=change, headers=world["claimant"].headers
    )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == code
    after = _claim(client, world, claim["id"])
    assert after["total_amount"] == "50.00"
    assert after["lines"][0]["currency"] == "CNY"
    assert after["version"] == claim["version"]


def test_remove_line_recomputes_the_total(api: Api, client: TestClient, world: World) -> None:
    claim = api.create(
        lines=[{**LINE, "amount": "12.80"}, {**LINE, "amount": "100", "currency": "USD"}]
    )
    cny_line = claim["lines"][0]["id"]
    response = client.delete(
        f"{CLAIMS}/{claim['id']}/lines/{cny_line}", headers=world["claimant"].headers
    )
    assert response.status_code == 200, response.text
    assert [line["currency"] for line in response.json()["lines"]] == ["USD"]
    assert response.json()["total_amount"] == "710.00"
    usd_line = claim["lines"][1]["id"]
    last = client.delete(
        f"{CLAIMS}/{claim['id']}/lines/{usd_line}", headers=world["claimant"].headers
    )
    assert last.json()["lines"] == []
    assert last.json()["total_amount"] == "0.00"
    assert _claim(client, world, claim["id"])["total_amount"] == "0.00"


def test_new_line_after_a_removal_takes_the_next_position(
    api: Api, client: TestClient, world: World
) -> None:
    claim = api.create(lines=[LINE, LINE])
    first = claim["lines"][0]["id"]
    client.delete(f"{CLAIMS}/{claim['id']}/lines/{first}", headers=world["claimant"].headers)
    response = _add(client, world, claim["id"], LINE)
    assert [line["position"] for line in response.json()["lines"]] == [2, 3]
    assert response.json()["total_amount"] == "100.00"


def test_unknown_line_is_not_found(api: Api, client: TestClient, world: World) -> None:
    claim = api.create()
    other = api.create()
    foreign_line = other["lines"][0]["id"]  # a real line, but of another claim
    h = world["claimant"].headers
    for response in (
        client.patch(
            f"{CLAIMS}/{claim['id']}/lines/{foreign_line}", json={"amount": "1"}, headers=h
        ),
        client.delete(f"{CLAIMS}/{claim['id']}/lines/{foreign_line}", headers=h),
    ):
        assert response.status_code == 404
        assert response.json()["code"] == "line_not_found"
    assert _claim(client, world, other["id"])["lines"][0]["amount"] == "50.00"


def test_lines_of_a_submitted_claim_cannot_change(
    api: Api, client: TestClient, world: World
) -> None:
    claim = api.create()
    api.submit(claim["id"])
    line_id = claim["lines"][0]["id"]
    h = world["claimant"].headers
    for response in (
        _add(client, world, claim["id"], LINE),
        client.patch(f"{CLAIMS}/{claim['id']}/lines/{line_id}", json={"amount": "1"}, headers=h),
        client.delete(f"{CLAIMS}/{claim['id']}/lines/{line_id}", headers=h),
    ):
        assert response.status_code == 409
        assert response.json()["code"] == "claim_not_editable"
    assert _claim(client, world, claim["id"])["total_amount"] == "50.00"


def test_lines_of_someone_elses_claim_cannot_change(
    api: Api, client: TestClient, world: World
) -> None:
    claim = api.create()
    line_id = claim["lines"][0]["id"]
    for who, status, code in (
        ("peer", 404, "claim_not_found"),
        ("foreigner", 404, "claim_not_found"),
        ("manager", 403, "not_claimant"),
        ("finance", 403, "not_claimant"),
    ):
        h = world[who].headers
        for response in (
            _add(client, world, claim["id"], LINE, who=who),
            client.patch(
                f"{CLAIMS}/{claim['id']}/lines/{line_id}", json={"amount": "1"}, headers=h
            ),
            client.delete(f"{CLAIMS}/{claim['id']}/lines/{line_id}", headers=h),
        ):
            assert response.status_code == status, (who, response.text)
            assert response.json()["code"] == code
    assert _claim(client, world, claim["id"])["total_amount"] == "50.00"


def test_returned_claim_lines_can_change_again(api: Api, client: TestClient, world: World) -> None:
    claim = api.create()
    api.submit(claim["id"])
    api.decide(claim["id"], "manager", "return", comment="split the taxi")
    response = _add(client, world, claim["id"], {**LINE, "amount": "25.5"})
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "returned"
    assert response.json()["total_amount"] == "75.50"
