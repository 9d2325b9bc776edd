"""What an administrator configures for a webhook instance."""

from __future__ import annotations

from pydantic import AnyHttpUrl, BaseModel, Field, SecretStr, field_validator

from baoxiao.connectors.webhook.crypto import decode_secret


class WebhookConfig(BaseModel):
    url: AnyHttpUrl = Field(description="Where events are POSTed (http or https).")
    secret: SecretStr = Field(
        description="Signing secret, `whsec_` + base64 of 24-64 random bytes."
    )
    previous_secret: SecretStr | None = Field(
        default=None,
        description="During a rotation: the old secret; deliveries carry both signatures "
        "and callbacks signed with either are accepted.",
    )
    timeout_seconds: float = Field(default=10.0, gt=0, le=30)
    tolerance_seconds: int = Field(
        default=300, ge=30, le=3600, description="Accepted clock skew of inbound callbacks."
    )

    @field_validator("secret", "previous_secret")
    @classmethod
    def _whsec(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            decode_secret(value.get_secret_value())  # raises ValueError on a bad secret
        return value

    def signing_secrets(self) -> list[str]:
        out = [self.secret.get_secret_value()]
        if self.previous_secret is not None:
            out.append(self.previous_secret.get_secret_value())
        return out
