"""A Feishu connector instance's configuration (one custom app of one tenant)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator

FEISHU_DOMAIN = "https://open.feishu.cn"
LARK_DOMAIN = "https://open.larksuite.com"


class FormField(BaseModel):
    """One widget of the Feishu approval form and the claim field that fills it."""

    widget: str = Field(description="widget id in the Feishu approval definition")
    type: str = Field(default="input", description="widget type: input, textarea, amount, date")
    source: str = Field(
        description="claim field: number, reason, total_amount, currency, claimant_name, "
        "department_name, submitted_at, url, lines_summary"
    )


DEFAULT_FORM = [
    FormField(widget="claim_number", type="input", source="number"),
    FormField(widget="reason", type="textarea", source="reason"),
    FormField(widget="amount", type="amount", source="total_amount"),
    FormField(widget="detail_link", type="input", source="url"),
]

MatchKey = Literal["open_id", "union_id", "user_id", "email", "employee_no"]


class FeishuConfig(BaseModel):
    """App credentials, the approval mode and how claims map onto Feishu."""

    domain: str = Field(default=FEISHU_DOMAIN, description="Open API base (Lark: larksuite)")
    accounts_domain: str | None = Field(
        default=None,
        description="where users sign in (default https://accounts.feishu.cn, or the domain "
        "itself when it is not open.feishu.cn, e.g. a simulator)",
    )
    app_id: str = Field(min_length=1, max_length=64)
    app_secret: SecretStr
    encrypt_key: SecretStr | None = None
    verification_token: SecretStr | None = None
    mode: Literal["feishu", "baoxiao"] = Field(
        default="feishu",
        description="feishu: Feishu runs the approval (approval v4); baoxiao: Baoxiao runs it "
        "and mirrors every task into Feishu's approval center (external approval)",
    )
    approval_code: str | None = Field(default=None, description="mode feishu: the definition")
    external_approval_code: str | None = Field(default=None, description="mode baoxiao")
    action_callback_token: SecretStr | None = None
    action_callback_key: SecretStr | None = None
    public_base_url: str = Field(
        default="http://127.0.0.1:8000", description="Baoxiao's address as users reach it"
    )
    form_fields: list[FormField] = Field(default_factory=lambda: list(DEFAULT_FORM))
    match_key: MatchKey = Field(
        default="email", description="how a Feishu user is matched to an employee"
    )
    cards: bool = Field(default=True, description="send status cards to the claimant")
    reconcile_after_minutes: float = Field(default=60.0, ge=0)
    timeout_seconds: float = Field(default=10.0, gt=0, le=60)

    @field_validator("domain", "public_base_url", "accounts_domain")
    @classmethod
    def _strip(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

    @property
    def sign_in_base(self) -> str:
        if self.accounts_domain:
            return self.accounts_domain
        if self.domain in (FEISHU_DOMAIN, LARK_DOMAIN):
            return self.domain.replace("open.", "accounts.")
        return self.domain

    def secret(self, name: str) -> str:
        value = getattr(self, name)
        return value.get_secret_value() if isinstance(value, SecretStr) else ""
