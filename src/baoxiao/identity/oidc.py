"""OpenID Connect sign-in: discovery, the authorization request, the code exchange and
ID token validation (Authlib for OAuth 2.0, joserfc for JOSE).

The authorization request carries a fresh state, nonce and PKCE (S256) verifier. They
travel in a short-lived, encrypted, HttpOnly cookie bound to this browser (RFC 9700
§2.1), and the callback must present the same state; the provider checks the
verifier and the single use of the code. The ID token is accepted only when its
signature verifies with a key from the provider's JWKS (asymmetric algorithms only:
no `none`, no HS/RS confusion) and iss, aud (and azp), exp, iat and nonce are right.
A re-authentication also asks for `max_age`, and then needs an `auth_time` that fresh.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.httpx_client import OAuth2Client
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import select
from sqlalchemy.orm import Session

from baoxiao.identity.errors import (
    IdTokenInvalid,
    OidcCodeRejected,
    OidcLoginExpired,
    OidcStateMismatch,
    ProviderUnreachable,
    SsoReauthNotFresh,
)
from baoxiao.kernel.clock import utcnow
from baoxiao.kernel.crypto import SecretBox, constant_time_equal
from baoxiao.models.identity import ExternalIdentity, IdentityProvider

ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"]
LEEWAY_SECONDS = 60
LOGIN_TTL_SECONDS = 600  # a sign-in at the provider must finish within ten minutes
AUTH_TIME_SKEW_SECONDS = 5  # our clock and the provider's may differ a little
SIGN_IN = "sign_in"
REAUTH = "reauth"  # confirm who is signed in to an existing session
HTTP_TIMEOUT = httpx.Timeout(10.0)
_LOGIN_CONTEXT = "oidc-login"


@dataclass(frozen=True)
class LoginOption:
    key: str
    display_name: str


def providers_for_login(session: Session) -> list[LoginOption]:
    """The enabled providers, for the SSO buttons of the sign-in page."""
    stmt = (
        select(IdentityProvider)
        .where(IdentityProvider.enabled.is_(True))
        .order_by(IdentityProvider.display_name)
    )
    return [LoginOption(p.key, p.display_name) for p in session.scalars(stmt)]


def providers_linked_to(session: Session, user_id: uuid.UUID) -> list[LoginOption]:
    """The enabled providers this user has signed in with: where they can confirm again."""
    stmt = (
        select(IdentityProvider)
        .join(ExternalIdentity, ExternalIdentity.provider_id == IdentityProvider.id)
        .where(ExternalIdentity.user_id == user_id, IdentityProvider.enabled.is_(True))
        .order_by(IdentityProvider.display_name)
    )
    return [LoginOption(p.key, p.display_name) for p in session.scalars(stmt)]


class _TtlCache:
    """Discovery documents and key sets, reused for a while (shared by all requests)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[str, tuple[float, dict[str, Any]]] = {}

    def get(self, url: str, ttl: float, *, refresh: bool = False) -> dict[str, Any]:
        now = time.monotonic()
        with self._lock:
            hit = self._items.get(url)
        if hit is not None and not refresh and now - hit[0] < ttl:
            return hit[1]
        document = _get_json(url)
        with self._lock:
            self._items[url] = (now, document)
        return document

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


cache = _TtlCache()


def _get_json(url: str) -> dict[str, Any]:
    try:
        response = httpx.get(url, timeout=HTTP_TIMEOUT, follow_redirects=False)
        response.raise_for_status()
        document = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise ProviderUnreachable(url=url, reason=str(exc)[:200]) from exc
    if not isinstance(document, dict):
        raise ProviderUnreachable(url=url, reason="not a JSON object")
    return document


def discover(issuer: str, ttl: float) -> dict[str, Any]:
    """The provider's metadata; its `issuer` must be exactly the configured one."""
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    document = cache.get(url, ttl)
    if document.get("issuer") != issuer:
        raise ProviderUnreachable(url=url, reason=f"issuer is {document.get('issuer')!r}")
    for member in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(document.get(member), str):
            raise ProviderUnreachable(url=url, reason=f"{member} missing")
    return document


@dataclass(frozen=True)
class LoginState:
    """What the callback must find again: kept encrypted in the browser's cookie."""

    provider_key: str
    state: str
    nonce: str
    code_verifier: str
    next_path: str
    issued_at: int
    purpose: str = SIGN_IN
    session_id: str = ""  # the web session a re-authentication confirms
    max_age: int | None = None

    def seal(self, box: SecretBox) -> str:
        return box.encrypt(json.dumps(self.__dict__), context=_LOGIN_CONTEXT)

    @classmethod
    def open(cls, box: SecretBox, sealed: str | None) -> LoginState:
        if not sealed:
            raise OidcLoginExpired()
        try:
            data = json.loads(box.decrypt(sealed, context=_LOGIN_CONTEXT))
            login = cls(**data)
        except (ValueError, TypeError) as exc:
            raise OidcLoginExpired() from exc
        if int(utcnow().timestamp()) - login.issued_at > LOGIN_TTL_SECONDS:
            raise OidcLoginExpired()
        return login


def _client(provider: IdentityProvider, box: SecretBox, redirect_uri: str) -> OAuth2Client:
    secret = (
        box.decrypt(provider.client_secret, context=f"idp:{provider.id}")
        if provider.client_secret
        else None
    )
    return OAuth2Client(
        client_id=provider.client_id,
        client_secret=secret,
        scope=" ".join(provider.scopes or ["openid"]),
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic" if secret else "none",
        timeout=HTTP_TIMEOUT,
    )


def authorization_url(
    provider: IdentityProvider,
    box: SecretBox,
    *,
    redirect_uri: str,
    next_path: str,
    ttl: float,
    prompt: str | None = None,
    max_age: int | None = None,
    purpose: str = SIGN_IN,
    session_id: str = "",
) -> tuple[str, LoginState]:
    """Where to send the browser, and the state to keep in its cookie."""
    metadata = discover(provider.issuer, ttl)
    login = LoginState(
        provider_key=provider.key,
        state=secrets.token_urlsafe(32),
        nonce=secrets.token_urlsafe(32),
        code_verifier=secrets.token_urlsafe(64),
        next_path=next_path,
        issued_at=int(utcnow().timestamp()),
        purpose=purpose,
        session_id=session_id,
        max_age=max_age,
    )
    extra: dict[str, str] = {"nonce": login.nonce}
    if prompt:
        extra["prompt"] = prompt
    if max_age is not None:
        extra["max_age"] = str(max_age)
    with _client(provider, box, redirect_uri) as client:
        url, _state = client.create_authorization_url(
            metadata["authorization_endpoint"],
            state=login.state,
            code_verifier=login.code_verifier,
            **extra,
        )
    return url, login


@dataclass(frozen=True)
class SignedIn:
    claims: dict[str, Any]  # the ID token's claims, completed by userinfo
    id_token: str


def complete(
    provider: IdentityProvider,
    box: SecretBox,
    login: LoginState,
    *,
    redirect_uri: str,
    params: dict[str, str],
    ttl: float,
) -> SignedIn:
    """Check the callback, exchange the code, validate the ID token, read userinfo."""
    if login.provider_key != provider.key or not constant_time_equal(
        params.get("state", ""), login.state
    ):
        raise OidcStateMismatch()
    if "error" in params:
        raise OidcCodeRejected(error=params["error"][:64])
    code = params.get("code")
    if not code:
        raise OidcCodeRejected(error="no_code")
    metadata = discover(provider.issuer, ttl)
    with _client(provider, box, redirect_uri) as client:
        exchange: dict[str, str] = {"code": code, "grant_type": "authorization_code"}
        if login.code_verifier:
            exchange["code_verifier"] = login.code_verifier
        try:
            token = client.fetch_token(metadata["token_endpoint"], **exchange)
        except AuthlibBaseError as exc:
            raise OidcCodeRejected(error=str(exc.error or "token_error")[:64]) from exc
        except httpx.HTTPError as exc:
            raise ProviderUnreachable(url=metadata["token_endpoint"], reason=str(exc)) from exc
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise IdTokenInvalid(reason="no id_token in the token response")
        claims = validate_id_token(provider, metadata, id_token, login.nonce, ttl)
        if login.max_age is not None:
            require_fresh_authentication(claims, since=login.issued_at - login.max_age)
        userinfo = _userinfo(client, metadata, claims["sub"])
    return SignedIn(claims={**userinfo, **claims}, id_token=id_token)


def validate_id_token(
    provider: IdentityProvider, metadata: dict[str, Any], id_token: str, nonce: str, ttl: float
) -> dict[str, Any]:
    """The ID token's claims once signature, iss, aud, azp, exp, iat and nonce hold."""
    try:
        token = _decode(metadata, id_token, ttl)
    except JoseError as exc:
        raise IdTokenInvalid(reason=f"signature: {exc.error}") from exc
    registry = jwt.JWTClaimsRegistry(
        now=lambda: int(utcnow().timestamp()),
        leeway=LEEWAY_SECONDS,
        iss={"essential": True, "value": provider.issuer},
        aud={"essential": True, "value": provider.client_id},
        sub={"essential": True},
        exp={"essential": True},
        iat={"essential": True},
        nonce={"essential": True, "value": nonce},
    )
    try:
        registry.validate(token.claims)
    except JoseError as exc:
        raise IdTokenInvalid(reason=f"{exc.error}: {exc.description or ''}".strip()) from exc
    aud = token.claims["aud"]
    if isinstance(aud, list) and len(aud) > 1 and token.claims.get("azp") != provider.client_id:
        raise IdTokenInvalid(reason="azp is not this client")
    return dict(token.claims)


def require_fresh_authentication(claims: dict[str, Any], *, since: int) -> None:
    """The ID token says the person signed in at the provider at `since` or later (a few
    seconds of skew allowed). With max_age asked for, auth_time is required (OIDC Core
    3.1.2.1); a provider that ignored prompt=login or max_age fails here."""
    auth_time = claims.get("auth_time")
    if not isinstance(auth_time, int | float) or isinstance(auth_time, bool):
        raise SsoReauthNotFresh(reason="no auth_time in the ID token")
    if auth_time < since - AUTH_TIME_SKEW_SECONDS:
        raise SsoReauthNotFresh(reason="the sign-in at the provider is older than this request")


def _decode(metadata: dict[str, Any], id_token: str, ttl: float) -> jwt.Token:
    keys = KeySet.import_key_set(cache.get(metadata["jwks_uri"], ttl))  # type: ignore[arg-type]
    try:
        return jwt.decode(id_token, keys, algorithms=ALGORITHMS)
    except JoseError:
        # The provider may have rotated its keys since we cached them: fetch once more.
        fresh = KeySet.import_key_set(cache.get(metadata["jwks_uri"], ttl, refresh=True))  # type: ignore[arg-type]
        return jwt.decode(id_token, fresh, algorithms=ALGORITHMS)


def _userinfo(client: OAuth2Client, metadata: dict[str, Any], sub: str) -> dict[str, Any]:
    endpoint = metadata.get("userinfo_endpoint")
    if not isinstance(endpoint, str):
        return {}
    try:
        response = client.get(endpoint)
        response.raise_for_status()
        info = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise ProviderUnreachable(url=endpoint, reason=str(exc)[:200]) from exc
    if not isinstance(info, dict) or info.get("sub") != sub:
        raise IdTokenInvalid(reason="userinfo is about another subject")
    return info


def end_session_url(
    provider: IdentityProvider, id_token: str | None, post_logout_redirect_uri: str, ttl: float
) -> str | None:
    """RP-initiated logout at the provider, when it offers it."""
    metadata = discover(provider.issuer, ttl)
    endpoint = metadata.get("end_session_endpoint")
    if not isinstance(endpoint, str):
        return None
    query: dict[str, str] = {
        "client_id": provider.client_id,
        "post_logout_redirect_uri": post_logout_redirect_uri,
    }
    if id_token:
        query["id_token_hint"] = id_token
    return str(httpx.URL(endpoint, params=query))
