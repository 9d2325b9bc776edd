"""Outbound calls to the Feishu Open API, built on lark-oapi's typed request builders.

lark-oapi fetches and caches the tenant_access_token (refreshed 10 minutes before it
expires). On top of it this module turns every answer into data or a ConnectorError:
throttling (HTTP 429, codes 99991400/99991402/11020/11021/11232) is retryable after
the `x-ogw-ratelimit-reset` seconds; a rejected token (99991663 and friends) drops the
cached one and retries once; 5xx and network errors are retryable; other codes are not.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import httpx
import lark_oapi as lark
import requests
from lark_oapi.api.approval.v4 import (
    CancelInstanceRequest,
    CreateExternalApprovalRequest,
    CreateExternalInstanceRequest,
    CreateInstanceRequest,
    ExternalApproval,
    ExternalInstance,
    GetInstanceRequest,
    InstanceCancel,
    InstanceCreate,
    ListInstanceRequest,
    SubscribeApprovalRequest,
)
from lark_oapi.api.authen.v1 import GetUserInfoRequest
from lark_oapi.api.contact.v3 import (
    ChildrenDepartmentRequest,
    FindByDepartmentUserRequest,
    GetUserRequest,
)
from lark_oapi.api.im.v1 import CreateMessageRequest, CreateMessageRequestBody
from lark_oapi.core.exception import (
    AccessTokenException,
    NoAuthorizationException,
    ObtainAccessTokenException,
)
from lark_oapi.core.token.manager import TokenManager

from baoxiao.connectors.base import ConnectorError
from baoxiao.connectors.feishu.config import FeishuConfig
from baoxiao.connectors.feishu.errors import (
    SUBSCRIPTION_EXISTS,
    THROTTLED,
    TOKEN_REJECTED,
    UUID_REUSED,
    FeishuApiError,
)

__all__ = ["UUID_REUSED", "FeishuApiError", "FeishuClient"]

PAGE_SIZE = 50


def _reset_seconds(headers: dict[str, str]) -> float | None:
    for name, value in headers.items():
        if name.lower() == "x-ogw-ratelimit-reset":
            try:
                return max(0.0, float(value))
            except ValueError:
                return None
    return None


class FeishuClient:
    """One app's API client (thread-safe: lark-oapi opens a request per call)."""

    def __init__(self, config: FeishuConfig) -> None:
        self.config = config
        self.sdk = self._sdk(config, user_tokens=False)
        # lark-oapi takes a caller's user_access_token only with enable_set_token.
        self.user_sdk = self._sdk(config, user_tokens=True)

    @staticmethod
    def _sdk(config: FeishuConfig, *, user_tokens: bool) -> Any:
        return (
            lark.Client.builder()
            .app_id(config.app_id)
            .app_secret(config.secret("app_secret"))
            .domain(config.domain)
            .timeout(config.timeout_seconds)
            .enable_set_token(user_tokens)
            .log_level(lark.LogLevel.ERROR)
            .build()
        )

    def forget_token(self) -> None:
        TokenManager.cache.set(f"self_tenant_token:{self.config.app_id}", "", 0)

    def call(self, send: Callable[[], Any]) -> dict[str, Any]:
        """Run one SDK call; returns its `data` or raises ConnectorError."""
        for attempt in (1, 2):
            try:
                resp = send()
            except requests.RequestException as exc:
                raise ConnectorError(f"network error: {exc!r}"[:300], retryable=True) from exc
            except (ObtainAccessTokenException, AccessTokenException) as exc:
                raise ConnectorError(f"no access token: {exc}"[:300], retryable=True) from exc
            except NoAuthorizationException as exc:
                raise ConnectorError(f"not authorised: {exc}"[:300], retryable=False) from exc
            raw = resp.raw
            status = raw.status_code if raw is not None else None
            headers = dict(raw.headers) if raw is not None else {}
            code = resp.code if resp.code is not None else -1
            if status == 429 or code in THROTTLED:
                raise ConnectorError(
                    f"throttled by Feishu ({code})",
                    retryable=True,
                    retry_after=_reset_seconds(headers),
                    status_code=status,
                )
            if code in TOKEN_REJECTED and attempt == 1:
                self.forget_token()
                continue
            if code != 0:
                raise FeishuApiError(code, resp.msg or "", status)
            body = json.loads(raw.content) if raw is not None and raw.content else {}
            data = body.get("data") if isinstance(body, dict) else None
            return dict(data or {})
        raise AssertionError("unreachable")

    # -- native approval (approval v4) -------------------------------------------
    def subscribe(self, approval_code: str) -> None:
        request = SubscribeApprovalRequest.builder().approval_code(approval_code).build()
        try:
            self.call(lambda: self.sdk.approval.v4.approval.subscribe(request))
        except FeishuApiError as exc:
            if exc.code != SUBSCRIPTION_EXISTS:
                raise

    def create_instance(self, body: dict[str, Any]) -> str:
        request = CreateInstanceRequest.builder().request_body(InstanceCreate(body)).build()
        data = self.call(lambda: self.sdk.approval.v4.instance.create(request))
        return str(data["instance_code"])

    def get_instance(self, instance_code: str) -> dict[str, Any]:
        request = GetInstanceRequest.builder().instance_id(instance_code).build()
        return self.call(lambda: self.sdk.approval.v4.instance.get(request))

    def instance_codes(self, approval_code: str, start_ms: int, end_ms: int) -> Iterator[str]:
        return self.pages(
            lambda: (
                ListInstanceRequest.builder()
                .approval_code(approval_code)
                .start_time(start_ms)
                .end_time(end_ms)
                .page_size(100)
            ),
            self.sdk.approval.v4.instance.list,
            "instance_code_list",
        )

    def cancel_instance(self, approval_code: str, instance_code: str, user_id: str) -> None:
        body = InstanceCancel(
            {"approval_code": approval_code, "instance_code": instance_code, "user_id": user_id}
        )
        request = CancelInstanceRequest.builder().user_id_type("user_id").request_body(body)
        self.call(lambda: self.sdk.approval.v4.instance.cancel(request.build()))

    # -- external approval (三方审批) ----------------------------------------------
    def put_external_approval(self, body: dict[str, Any]) -> None:
        request = CreateExternalApprovalRequest.builder().request_body(ExternalApproval(body))
        self.call(lambda: self.sdk.approval.v4.external_approval.create(request.build()))

    def sync_external_instance(self, body: dict[str, Any]) -> dict[str, Any]:
        request = CreateExternalInstanceRequest.builder().request_body(ExternalInstance(body))
        return self.call(lambda: self.sdk.approval.v4.external_instance.create(request.build()))

    # -- messages ----------------------------------------------------------------
    def send_card(self, open_id: str, card: dict[str, Any], dedupe_key: str) -> str:
        body = CreateMessageRequestBody(
            {
                "receive_id": open_id,
                "msg_type": "interactive",
                "content": json.dumps(card, ensure_ascii=False),
                "uuid": dedupe_key[:50],
            }
        )
        request = CreateMessageRequest.builder().receive_id_type("open_id").request_body(body)
        data = self.call(lambda: self.sdk.im.v1.message.create(request.build()))
        return str(data.get("message_id", ""))

    # -- contact v3 ---------------------------------------------------------------
    def pages(
        self, builder: Callable[[], Any], send: Callable[[Any], Any], key: str
    ) -> Iterator[Any]:
        """Follow page_token until has_more is false; yields the items under `key`."""
        token = ""
        while True:
            fresh = builder()
            request = (fresh.page_token(token) if token else fresh).build()
            data = self.call(partial(send, request))
            yield from data.get(key) or []
            token = data.get("page_token") or ""
            if not data.get("has_more") or not token:
                return

    def departments(self) -> Iterator[dict[str, Any]]:
        """Every department under the root (fetch_child), page by page."""
        return self.pages(
            lambda: (
                ChildrenDepartmentRequest.builder()
                .department_id("0")
                .department_id_type("open_department_id")
                .user_id_type("open_id")
                .fetch_child(True)
                .page_size(PAGE_SIZE)
            ),
            self.sdk.contact.v3.department.children,
            "items",
        )

    def users_in(self, department_id: str) -> Iterator[dict[str, Any]]:
        """The direct members of one department, page by page."""
        return self.pages(
            lambda: (
                FindByDepartmentUserRequest.builder()
                .department_id(department_id)
                .department_id_type("open_department_id")
                .user_id_type("open_id")
                .page_size(PAGE_SIZE)
            ),
            self.sdk.contact.v3.user.find_by_department,
            "items",
        )

    def user(self, open_id: str) -> dict[str, Any]:
        request = GetUserRequest.builder().user_id(open_id).user_id_type("open_id").build()
        return dict(self.call(lambda: self.sdk.contact.v3.user.get(request)).get("user") or {})

    # -- login --------------------------------------------------------------------
    def exchange_code(self, code: str, redirect_uri: str, code_verifier: str) -> str:
        """Authorization code -> user_access_token (RFC 6749 endpoint; not in lark-oapi)."""
        form = {
            "grant_type": "authorization_code",
            "client_id": self.config.app_id,
            "client_secret": self.config.secret("app_secret"),
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": code_verifier,
        }
        try:
            response = httpx.post(
                f"{self.config.domain}/open-apis/authen/v2/oauth/token",
                json=form,
                timeout=self.config.timeout_seconds,
            )
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ConnectorError(f"token endpoint: {exc!r}"[:300], retryable=True) from exc
        if response.status_code != 200 or body.get("code") not in (0, None):
            reason = body.get("error_description") or body.get("error") or response.text
            raise FeishuApiError(int(body.get("code") or -1), str(reason), response.status_code)
        return str(body["access_token"])

    def user_info(self, user_access_token: str) -> dict[str, Any]:
        option = lark.RequestOption.builder().user_access_token(user_access_token).build()
        request = GetUserInfoRequest.builder().build()
        return self.call(lambda: self.user_sdk.authen.v1.user_info.get(request, option))
