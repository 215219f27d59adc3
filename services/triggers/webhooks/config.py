"""Webhook delivery settings (nested in the triggers settings as ``webhooks``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

# The specification's recommended schedule: immediately, 5 s, 5 min, 30 min, 2 h, 5 h,
# 10 h, 14 h, 20 h, 24 h; then the delivery is marked failed.
RECOMMENDED_SCHEDULE_S = (0, 5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)


class WebhookSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    schedule_s: tuple[float, ...] = RECOMMENDED_SCHEDULE_S
    jitter_ratio: Annotated[float, Field(ge=0, le=0.5)] = 0.1
    # one overall deadline per attempt: connect, send, and the (capped) answer
    request_timeout_s: Annotated[float, Field(gt=0, le=300)] = 15.0
    # only this much of a receiver's answer is read (it is logged, truncated, on failure)
    max_response_bytes: Annotated[int, Field(ge=0, le=1_048_576)] = 4096
    # a leased delivery whose worker died is sent again after timeout + margin
    lease_margin_s: Annotated[float, Field(gt=0)] = 10.0
    # deliveries in flight per subscription; subscriptions never wait for each other
    per_endpoint_concurrency: Annotated[int, Field(ge=1, le=100)] = 4
    disable_after_s: Annotated[float, Field(gt=0)] = 86_400.0
    rotation_grace_s: Annotated[float, Field(ge=0)] = 86_400.0
    allow_http: bool = False
    # hosts, IPs or CIDRs that may be targeted although private/loopback (e.g. "127.0.0.1/32");
    # from the environment a JSON list: VIGIL_WEBHOOKS__ALLOWLIST='["hooks.internal"]'
    allowlist: tuple[str, ...] = ()
    # each name lookup (subscribe and delivery) waits at most this long, in a pool of
    # its own this size; a name whose nameserver is dead holds one thread, not the pool
    dns_timeout_s: Annotated[float, Field(gt=0, le=60)] = 5.0
    dns_threads: Annotated[int, Field(ge=1, le=64)] = 4
    poll_interval_s: Annotated[float, Field(gt=0)] = 0.5
    batch_size: Annotated[int, Field(ge=1)] = 100
    max_retry_after_s: Annotated[float, Field(gt=0)] = 86_400.0
