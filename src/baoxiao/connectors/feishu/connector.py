"""The Feishu (Lark) connector: native approval, external approval, cards, events, org.

Outbound (handle), per event of a claim, each step idempotent so a retry is harmless:
- mode "feishu" (Feishu runs the approval): claim.submitted creates an approval v4
  instance whose `uuid` is "<claim id hex>-<event sequence>": a retried create answers
  60012 and the instance is looked up instead; claim.withdrawn cancels it if pending.
- mode "baoxiao" (Baoxiao runs it): every claim and approval event replaces the
  external instance and its tasks in Feishu's approval center (update_time = now).
- both: a status card to the claimant on submit, approve, reject, return and paid
  (the event id is the message `uuid`, so Feishu drops a resent card).
Inbound (verify_and_parse) goes through lark-oapi's dispatcher (see crypto.py).
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import TYPE_CHECKING, Any

from baoxiao.connectors.base import (
    Connector,
    ConnectorContext,
    ConnectorError,
    DeliveryResult,
    EventEnvelope,
    HealthResult,
    InboundEvent,
    InboundRequest,
)
from baoxiao.connectors.feishu import crypto, payloads
from baoxiao.connectors.feishu.config import FeishuConfig
from baoxiao.connectors.feishu.errors import UUID_REUSED, FeishuApiError
from baoxiao.kernel.netguard import BlockedDestination, check_url

if TYPE_CHECKING:
    from baoxiao.connectors.feishu.client import FeishuClient

LOOKBACK_MS = 24 * 3600 * 1000


def submission_uuid(claim_id: str, sequence: int) -> str:
    return f"{uuid.UUID(claim_id).hex}-{sequence}"


def claim_of_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value.split("-", 1)[0])
    except (ValueError, AttributeError):
        return None


class FeishuConnector(Connector):
    name = "feishu"
    title = "Feishu / Lark"
    config_schema = FeishuConfig

    @classmethod
    def prepare_inbound(cls) -> None:
        crypto.load_sdk()

    @classmethod
    def runs_approval(cls, config: dict[str, Any]) -> bool:
        """Mode "feishu" (the default): Feishu's approval v4 decides, not Baoxiao."""
        return bool(config.get("mode", FeishuConfig.model_fields["mode"].default) == "feishu")

    def __init__(self) -> None:
        self._clients: dict[tuple[uuid.UUID, str], FeishuClient] = {}
        self._prepared: set[tuple[uuid.UUID, str]] = set()
        self._lock = threading.Lock()

    @staticmethod
    def config_of(ctx: ConnectorContext) -> FeishuConfig:
        assert isinstance(ctx.config, FeishuConfig)
        return ctx.config

    def client(self, ctx: ConnectorContext) -> FeishuClient:
        """The API client of this instance's configuration, made once.

        The configured `domain` receives the app secret, so it passes the SSRF guard
        first: a private address needs the instance's allow_private_network.
        """
        config = self.config_of(ctx)
        key = (ctx.connector_id, f"{config.model_dump_json()}|{ctx.allow_private_network}")
        with self._lock:
            if key not in self._clients:
                try:
                    check_url(config.domain, allow_private=ctx.allow_private_network)
                except BlockedDestination as exc:
                    raise ConnectorError(f"blocked destination: {exc}", retryable=False) from exc
                # lark-oapi takes about 2 s to import: only a process that calls
                # Feishu pays for it, not every server, worker and CLI start.
                from baoxiao.connectors.feishu.client import FeishuClient

                self._clients[key] = FeishuClient(config)
            return self._clients[key]

    # -- outbound ---------------------------------------------------------------
    def handle(self, ctx: ConnectorContext, event: EventEnvelope) -> DeliveryResult:
        feishu = event.data.get("feishu")
        if not isinstance(feishu, dict) or not feishu.get("claim"):
            return DeliveryResult(detail="nothing to send for this event")
        config, client = self.config_of(ctx), self.client(ctx)
        done: list[str] = []
        if config.mode == "feishu":
            if event.type == "claim.submitted":
                code = self.open_instance(ctx, feishu)
                done.append(f"instance {code}")
            elif event.type == "claim.withdrawn":
                done.append(self._cancel(ctx, feishu))
        elif event.type.startswith(("claim.", "approval.task.")):
            self._prepare_external(ctx)
            client.sync_external_instance(
                payloads.external_instance(config, feishu, int(time.time() * 1000))
            )
            done.append("external instance synced")
        card = payloads.status_card(event.type, feishu["claim"]) if config.cards else None
        open_id = (feishu.get("claimant") or {}).get("open_id")
        if card is not None and open_id:
            client.send_card(open_id, card, dedupe_key=event.id)
            done.append("card sent")
        return DeliveryResult(status_code=200, detail="; ".join(done) or "nothing to do")

    def open_instance(self, ctx: ConnectorContext, feishu: dict[str, Any]) -> str:
        """Create the approval instance, or find the one a previous attempt created."""
        config, client = self.config_of(ctx), self.client(ctx)
        if not config.approval_code:
            raise ConnectorError("approval_code is not configured", retryable=False)
        if not (feishu.get("claimant") or {}).get("open_id"):
            raise ConnectorError("the claimant has no Feishu account linked", retryable=False)
        key = (ctx.connector_id, f"subscribed:{config.approval_code}")
        if key not in self._prepared:
            client.subscribe(config.approval_code)  # approval events flow only after this
            self._prepared.add(key)
        try:
            return client.create_instance(payloads.instance_create(config, feishu))
        except FeishuApiError as exc:
            if exc.code != UUID_REUSED:
                raise
        found = self.find_instance(ctx, feishu["uuid"], feishu["claim"].get("submitted_at"))
        if found is None:
            raise ConnectorError("uuid already used but no instance found yet", retryable=True)
        return found

    def find_instance(self, ctx: ConnectorContext, uid: str, since: str | None) -> str | None:
        config, client = self.config_of(ctx), self.client(ctx)
        assert config.approval_code
        start = payloads.ms(since) - LOOKBACK_MS if since else 0
        end = int(time.time() * 1000) + 60_000
        for code in client.instance_codes(config.approval_code, max(0, start), end):
            if client.get_instance(code).get("uuid") == uid:
                return code
        return None

    def _cancel(self, ctx: ConnectorContext, feishu: dict[str, Any]) -> str:
        config, client = self.config_of(ctx), self.client(ctx)
        code = feishu.get("instance_code")
        if not code and feishu.get("uuid"):
            code = self.find_instance(ctx, feishu["uuid"], feishu["claim"].get("submitted_at"))
        if not code:
            return "no Feishu instance to cancel"
        instance = client.get_instance(code)
        if instance.get("status") != "PENDING":
            return f"instance {code} already {instance.get('status')}"
        assert config.approval_code
        client.cancel_instance(config.approval_code, code, str(instance.get("user_id", "")))
        return f"instance {code} cancelled"

    def _prepare_external(self, ctx: ConnectorContext) -> None:
        config = self.config_of(ctx)
        if not config.external_approval_code:
            raise ConnectorError("external_approval_code is not configured", retryable=False)
        key = (ctx.connector_id, f"external:{config.external_approval_code}")
        if key in self._prepared:
            return
        url = f"{config.public_base_url}/api/v1/integrations/{ctx.connector_id}/feishu/quick"
        self.client(ctx).put_external_approval(payloads.external_definition(config, url))
        self._prepared.add(key)

    # -- inbound ----------------------------------------------------------------
    def verify_and_parse(self, ctx: ConnectorContext, request: InboundRequest) -> InboundEvent:
        config = self.config_of(ctx)
        out = crypto.dispatch(
            config.secret("encrypt_key"),
            config.secret("verification_token"),
            request.headers,
            request.body,
        )
        if "challenge" in out:
            return InboundEvent(external_id="", type="url_verification", data=out)
        return InboundEvent(
            external_id=str(out["id"]), type=f"feishu.{out['type']}", data=out["event"]
        )

    def health_check(self, ctx: ConnectorContext) -> HealthResult:
        """The app credentials get a tenant token and the configured definition exists."""
        config = self.config_of(ctx)
        try:
            client = self.client(ctx)
            client.forget_token()
            if config.mode == "feishu" and config.approval_code:
                client.subscribe(config.approval_code)
                return HealthResult(
                    ok=True, detail=f"token ok; subscribed to {config.approval_code}"
                )
            if config.mode == "baoxiao":
                self._prepare_external(ctx)
                return HealthResult(ok=True, detail="token ok; external approval definition saved")
            next(client.departments(), None)
        except ConnectorError as exc:
            return HealthResult(ok=False, detail=str(exc))
        return HealthResult(ok=True, detail="token ok; contact API reachable")

    def close(self) -> None:
        self._clients.clear()
