"""Every page renders for the right role and refuses the wrong one; sign-in redirects."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from baoxiao.app import create_app
from baoxiao.identity.passwords import hash_password
from baoxiao.kernel.db import Database
from baoxiao.settings import Settings
from tests.support.factories import World, make_person
from tests.support.signin import post_login
from tests.web.conftest import Browser

Open = Callable[..., Browser]


def test_the_root_shows_the_sign_in_page_when_signed_out(anonymous: TestClient) -> None:
    response = anonymous.get("/", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/"
    page = anonymous.get("/login")
    assert page.status_code == 200 and 'name="password"' in page.text
    assert "/auth/oidc/" not in page.text  # no SSO provider: no button at all


def test_a_page_sends_the_signed_out_to_sign_in_with_next(anonymous: TestClient) -> None:
    response = anonymous.get("/claims?status=paid", follow_redirects=False)
    assert response.headers["location"] == "/login?next=/claims%3Fstatus%3Dpaid"
    htmx = anonymous.get("/inbox", headers={"HX-Request": "true"}, follow_redirects=False)
    assert htmx.status_code == 204 and htmx.headers["HX-Redirect"].startswith("/login?next=")


def test_sign_in_with_a_password_lands_on_next(
    anonymous: TestClient, db: Database, world: World
) -> None:
    with db.transaction() as session:
        make_person(
            session,
            world.company,
            f"pw-{world.company.code}",
            department=world.departments["RD"],
            password_hash=hash_password("s3cret-pass"),
        )
    bad = post_login(
        anonymous,
        {"username": f"pw-{world.company.code}", "password": "nope"},
        headers={"Accept-Language": "zh-CN"},
    )
    assert bad.status_code == 401 and "用户名或密码错误" in bad.text
    assert 'data-code="invalid_credentials"' in bad.text
    good = post_login(
        anonymous,
        {"username": f"pw-{world.company.code}", "password": "s3cret-pass", "next": "/inbox"},
    )
    assert good.status_code == 303 and good.headers["location"] == "/inbox"
    assert anonymous.get("/inbox").status_code == 200


def test_next_never_leaves_the_site(anonymous: TestClient) -> None:
    page = anonymous.get("/login?next=//evil.example/x")
    assert 'name="next" value="/"' in page.text


@pytest.mark.parametrize(
    ("who", "url"),
    [
        ("claimant", "/"),
        ("claimant", "/claims"),
        ("claimant", "/claims/new"),
        ("manager", "/inbox"),
        ("cashier", "/finance"),
        ("admin", "/admin"),
        ("admin", "/admin/flows"),
        ("admin", "/admin/flows/new"),
        ("admin", "/admin/integrations"),
    ],
)
def test_each_page_renders_for_its_role(browser_for: Open, who: str, url: str) -> None:
    for lang, word in (("en", "Sign out"), ("zh-CN", "退出")):
        response = browser_for(who, lang).get(url)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/html")
        assert word in response.text


@pytest.mark.parametrize("url", ["/finance", "/admin", "/admin/flows", "/admin/integrations"])
def test_the_wrong_role_gets_a_localized_403_page(browser_for: Open, url: str) -> None:
    response = browser_for("claimant", "zh-CN").get(url)
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert "您无权执行此操作" in response.text


def test_a_claim_one_may_not_see_is_a_404_page(browser_for: Open) -> None:
    response = browser_for("claimant").get(f"/claims/{uuid.uuid4()}")
    assert response.status_code == 404 and "Claim not found." in response.text
    assert "<html" in response.text


def test_a_post_without_the_csrf_token_is_refused(browser_for: Open) -> None:
    browser = browser_for("claimant")
    refused = browser.client.post("/claims/new", data={"reason": "taxi"}, follow_redirects=False)
    assert refused.status_code == 403 and 'data-code="csrf_failed"' in refused.text
    forged = browser.client.post(
        "/claims/new", data={"reason": "taxi", "csrf_token": "forged"}, follow_redirects=False
    )
    assert forged.status_code == 403
    created = browser.post("/claims/new", {"reason": "taxi"})
    assert created.status_code == 303 and created.headers["location"].endswith("/edit")


def test_the_language_switcher_saves_the_choice(browser_for: Open) -> None:
    browser = browser_for("claimant", "en")
    assert "My claims" in browser.get("/claims").text
    response = browser.post("/language", {"locale": "zh-CN", "next": "/claims"})
    assert response.status_code == 303 and response.headers["location"] == "/claims"
    page = browser.get("/claims", headers={"Accept-Language": "en"}).text
    assert "我的报销" in page and '<html lang="zh-CN"' in page  # the saved choice wins
    bad = browser.post("/language", {"locale": "fr"})
    assert bad.status_code == 422


def test_logout_ends_the_session(browser_for: Open) -> None:
    browser = browser_for("claimant")
    assert browser.post("/logout").headers["location"] == "/login"
    assert browser.get("/claims", follow_redirects=False).status_code == 303


def test_static_files_are_served_from_the_app(anonymous: TestClient) -> None:
    for path in (
        "/static/vendor/htmx/htmx.min.js",
        "/static/vendor/pico/pico.min.css",
        "/static/vendor/echarts/echarts.min.js",
        "/static/app.css",
        "/static/app.js",
    ):
        assert anonymous.get(path).status_code == 200, path


def test_the_demo_lists_its_logins_on_the_sign_in_page(db: Database, settings: Settings) -> None:
    demo = settings.model_copy(update={"demo_logins": "li.na:employee", "demo_password": "pw"})
    with TestClient(create_app(demo, db)) as client:
        page = client.get("/login").text
    assert "<code>li.na</code> · employee" in page and "pw" in page


def test_a_malformed_id_in_the_url_is_an_html_page(browser_for: Open) -> None:
    response = browser_for("claimant").get("/claims/not-a-uuid")
    assert response.status_code == 422 and response.headers["content-type"].startswith("text/html")
