"""Standard Webhooks signing: the spec's test vector, rotation, tampering, staleness."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from baoxiao.connectors.base import SignatureInvalid, TimestampStale
from baoxiao.connectors.webhook import crypto
from baoxiao.connectors.webhook.config import WebhookConfig

# Published by the Standard Webhooks specification (and Svix's libraries).
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TS = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIG = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
AT = datetime.fromtimestamp(VECTOR_TS, UTC)


def headers(sig: str = VECTOR_SIG, ts: int = VECTOR_TS, msg_id: str = VECTOR_ID) -> dict[str, str]:
    return {"webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": sig}


def test_signs_the_published_test_vector() -> None:
    assert crypto.sign(VECTOR_SECRET, VECTOR_ID, VECTOR_TS, VECTOR_BODY) == VECTOR_SIG


def test_verifies_the_published_test_vector() -> None:
    got = crypto.verify(
        [VECTOR_SECRET],
        headers(),
        VECTOR_BODY,
        now=AT + timedelta(seconds=10),
        tolerance_seconds=300,
    )
    assert got == VECTOR_ID


def test_two_secrets_during_rotation_give_two_signatures_and_either_verifies() -> None:
    new = crypto.new_secret()
    header = crypto.signature_header([new, VECTOR_SECRET], VECTOR_ID, VECTOR_TS, VECTOR_BODY)
    first, second = header.split(" ")
    assert second == VECTOR_SIG and first != VECTOR_SIG and first.startswith("v1,")
    for holder in ([new], [VECTOR_SECRET]):
        crypto.verify(holder, headers(header), VECTOR_BODY, now=AT, tolerance_seconds=300)


@pytest.mark.parametrize(
    ("mutate", "error"),
    [
        (lambda h, b: (h, b + b" "), SignatureInvalid),  # body changed
        (lambda h, b: ({**h, "webhook-id": "msg_other"}, b), SignatureInvalid),
        (lambda h, b: ({**h, "webhook-signature": "v1," + "A" * 44}, b), SignatureInvalid),
        (lambda h, b: ({**h, "webhook-signature": ""}, b), SignatureInvalid),
        (lambda h, b: ({**h, "webhook-timestamp": str(VECTOR_TS + 1)}, b), SignatureInvalid),
        (lambda h, b: ({**h, "webhook-timestamp": "soon"}, b), SignatureInvalid),
    ],
)
def test_any_tampering_is_refused(mutate: object, error: type[Exception]) -> None:
    h, b = mutate(headers(), VECTOR_BODY)  # type: ignore[operator]
    with pytest.raises(error):
        crypto.verify([VECTOR_SECRET], h, b, now=AT, tolerance_seconds=300)


@pytest.mark.parametrize("skew", [-301, 301, 3600])
def test_timestamps_outside_five_minutes_are_stale(skew: int) -> None:
    with pytest.raises(TimestampStale):
        crypto.verify(
            [VECTOR_SECRET],
            headers(),
            VECTOR_BODY,
            now=AT + timedelta(seconds=skew),
            tolerance_seconds=300,
        )


def test_wrong_secret_is_refused() -> None:
    with pytest.raises(SignatureInvalid):
        crypto.verify([crypto.new_secret()], headers(), VECTOR_BODY, now=AT, tolerance_seconds=300)


@pytest.mark.parametrize("bad", ["secret", "whsec_!!!", "whsec_" + "QUFB" * 2])
def test_config_refuses_malformed_secrets(bad: str) -> None:
    with pytest.raises(ValueError):
        WebhookConfig.model_validate({"url": "https://example.com/h", "secret": bad})
