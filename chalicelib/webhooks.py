"""Webhooks: where an organization wants its events sent, and what happened.

A webhook names a URL, the event types it wants (`chalicelib.event_types`)
and a signing secret. The URL is checked as delivery will check it again
(`chalicelib.egress`): https, a host whose every address is public. The
secret is shown once, in the creation's answer, and kept only encrypted
(`chalicelib.webhook_secrets`). Deliveries themselves are made by
`chalicelib.delivery`; this module lists them, sends a test ping and
redelivers one on request. All of it needs `integrations:manage`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import DoesNotExist, UpdateError

from chalicelib import (
    delivery,
    egress,
    event_types,
    lookups,
    paging,
    webhook_secrets,
)
from chalicelib.auth import Principal
from chalicelib.errors import (
    InvalidRequestError,
    NotFoundError,
    ValidationError,
)
from chalicelib.ids import new_id, now_iso
from chalicelib.models import Webhook, WebhookDelivery

logger = logging.getLogger(__name__)

PERMISSION = "integrations:manage"
MAX_WEBHOOKS = 20
MAX_EVENTS = len(event_types.SUBSCRIBABLE)
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
FIELDS = {"url", "events", "secret", "active"}
NOTIFICATION_FIELD = "options.notification_webhook"


@dataclass(frozen=True)
class NewWebhook:
    record: Webhook
    secret: str


@dataclass(frozen=True)
class DeliveryPage:
    deliveries: list[WebhookDelivery]
    next_cursor: str | None


def create_webhook(principal: Principal, body: dict[str, Any]) -> NewWebhook:
    """Register a webhook; a secret is generated when none is given.

    Raises ValidationError for an unknown field or event type, an unusable
    URL or a weak secret; InvalidRequestError past MAX_WEBHOOKS.
    """
    principal.require(PERMISSION)
    _reject_unknown(body)
    url = _url(body.get("url"))
    events = _events(body.get("events"))
    given = body.get("secret")
    secret = (
        webhook_secrets.generate_secret()
        if given is None
        else webhook_secrets.validate_secret(given)
    )
    active = _active(body.get("active", True))
    _within_limit(principal.org_id)

    webhook_id = new_id("webhook")
    now = now_iso()
    record = Webhook(
        webhook_id,
        org_id=principal.org_id,
        url=url,
        events=events,
        secret_ciphertext=webhook_secrets.seal(webhook_id, secret),
        active=active,
        created_by=principal.user_id,
        created_at=now,
        updated_at=now,
    )
    record.save(condition=Webhook.id.does_not_exist())
    logger.info(
        "webhook created", extra={"webhook_id": webhook_id, "events": len(events)}
    )
    return NewWebhook(record, secret)


def _reject_unknown(body: dict[str, Any]) -> None:
    unknown = sorted(set(body) - FIELDS)
    if unknown:
        raise ValidationError(unknown[0], "is not a webhook field")


def _url(value: object) -> str:
    if not isinstance(value, str):
        raise ValidationError("url", "is required and must be a URL")
    try:
        egress.vet_url(value)
    except egress.EgressError as exc:
        raise ValidationError("url", str(exc)) from exc
    return value


def _events(value: object) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValidationError("events", "must be a list of event type names")
    unknown = [name for name in value if name not in event_types.SUBSCRIBABLE]
    if unknown:
        raise ValidationError(
            "events",
            f"unknown event type(s) {', '.join(map(repr, unknown))}; "
            f"known: {', '.join(event_types.SUBSCRIBABLE)}",
        )
    return list(dict.fromkeys(value))


def _active(value: object) -> bool:
    if not isinstance(value, bool):
        raise ValidationError("active", "must be true or false")
    return value


def _within_limit(org_id: str) -> None:
    if Webhook.by_org.count(org_id) >= MAX_WEBHOOKS:
        raise InvalidRequestError(
            f"An organization can have at most {MAX_WEBHOOKS} webhooks"
        )


def list_webhooks(principal: Principal) -> list[Webhook]:
    """The organization's webhooks, newest first."""
    principal.require(PERMISSION)
    return list(Webhook.by_org.query(principal.org_id, scan_index_forward=False))


def get_webhook(principal: Principal, webhook_id: str) -> Webhook:
    """One of the organization's webhooks; raises NotFoundError."""
    principal.require(PERMISSION)
    return _load(principal.org_id, webhook_id)


def _load(org_id: str, webhook_id: str) -> Webhook:
    return lookups.owned(Webhook, org_id, webhook_id, "Webhook")


def update_webhook(
    principal: Principal, webhook_id: str, body: dict[str, Any]
) -> Webhook:
    """Change some fields; `active: true` also lifts an automatic disabling.

    Raises NotFoundError, or ValidationError as `create_webhook` does.
    """
    principal.require(PERMISSION)
    _reject_unknown(body)
    webhook = _load(principal.org_id, webhook_id)
    actions: list[Any] = [Webhook.updated_at.set(now_iso())]
    if "url" in body:
        actions.append(Webhook.url.set(_url(body["url"])))
    if "events" in body:
        actions.append(Webhook.events.set(_events(body["events"])))
    if "secret" in body:
        secret = webhook_secrets.validate_secret(body["secret"])
        sealed = webhook_secrets.seal(webhook.id, secret)
        actions.append(Webhook.secret_ciphertext.set(sealed))
    if "active" in body:
        actions += _activation(_active(body["active"]))
    try:
        webhook.update(actions=actions, condition=Webhook.id.exists())
    except UpdateError as exc:
        raise NotFoundError(f"Webhook {webhook_id} was not found") from exc
    logger.info("webhook updated", extra={"webhook_id": webhook.id})
    return webhook


def _activation(active: bool) -> list[Any]:
    if not active:
        return [Webhook.active.set(False)]
    return [
        Webhook.active.set(True),
        Webhook.disabled_at.remove(),
        Webhook.disabled_reason.remove(),
        Webhook.failing_since.remove(),
        Webhook.consecutive_failures.set(0),
    ]


def delete_webhook(principal: Principal, webhook_id: str) -> None:
    """Delete a webhook; its pending deliveries are dropped. Raises NotFoundError."""
    principal.require(PERMISSION)
    webhook = _load(principal.org_id, webhook_id)
    webhook.delete()
    logger.info("webhook deleted", extra={"webhook_id": webhook.id})


def list_deliveries(
    principal: Principal, webhook_id: str, params: dict[str, list[str]]
) -> DeliveryPage:
    """A page of the webhook's deliveries, newest first.

    Raises NotFoundError, or ValidationError for a bad limit, status or cursor.
    """
    principal.require(PERMISSION)
    webhook = _load(principal.org_id, webhook_id)

    def first(name: str) -> str | None:
        values = params.get(name)
        return values[-1] if values else None

    limit = paging.int_param("limit", first("limit"), DEFAULT_LIMIT, 1, MAX_LIMIT)
    status, cursor = first("status"), first("cursor")
    if status is not None and status not in delivery.STATUSES:
        raise ValidationError(
            "status", "must be one of " + ", ".join(delivery.STATUSES)
        )
    start = paging.decode_cursor(cursor, ("webhook_id", webhook.id)) if cursor else None
    found = list(
        WebhookDelivery.query(
            webhook.id,
            scan_index_forward=False,
            last_evaluated_key=start,
            filter_condition=(WebhookDelivery.status == status) if status else None,
            limit=limit + 1,
        )
    )
    page = found[:limit]
    following = None
    if len(found) > limit:
        following = paging.encode_cursor({"webhook_id": webhook.id, "id": page[-1].id})
    return DeliveryPage(page, following)


def redeliver(
    principal: Principal, webhook_id: str, delivery_id: str
) -> WebhookDelivery:
    """Send a finished delivery's exact body again, as a new delivery.

    Raises NotFoundError, or InvalidRequestError when the webhook is
    inactive or the delivery is still under way.
    """
    principal.require(PERMISSION)
    webhook = _load(principal.org_id, webhook_id)
    if not webhook.active:
        raise InvalidRequestError(
            f"Webhook {webhook_id} is inactive; set active to true first"
        )
    try:
        original = WebhookDelivery.get(webhook.id, delivery_id)
    except DoesNotExist as exc:
        raise NotFoundError(f"Delivery {delivery_id} was not found") from exc
    if original.status not in delivery.FINAL:
        raise InvalidRequestError(
            f"Delivery {delivery_id} is still {original.status}; wait for its end"
        )
    return delivery.schedule_redelivery(webhook, original)


def send_ping(principal: Principal, webhook_id: str) -> WebhookDelivery:
    """Queue a signed `ping` event, even to an inactive webhook."""
    principal.require(PERMISSION)
    return delivery.schedule_ping(_load(principal.org_id, webhook_id))


def notification_target(org_id: str, url: str) -> str:
    """The id of the organization's active webhook at `url`.

    An execution's `notification_webhook` must be a registered webhook's URL:
    its secret signs the notification. Raises ValidationError otherwise.
    """
    matches = [w for w in Webhook.by_org.query(org_id) if w.url == url]
    if not matches:
        raise ValidationError(
            NOTIFICATION_FIELD,
            "must be the URL of one of your webhooks; register it with "
            "POST /v1/webhooks first (its secret signs the notification)",
        )
    active = [w for w in matches if w.active]
    if not active:
        raise ValidationError(NOTIFICATION_FIELD, "names an inactive webhook")
    return active[0].id


def describe(webhook: Webhook) -> dict[str, Any]:
    """A webhook as the API shows it; never its secret."""
    return {
        "id": webhook.id,
        "url": webhook.url,
        "events": list(webhook.events or []),
        "active": bool(webhook.active),
        "created_at": webhook.created_at,
        "updated_at": webhook.updated_at,
        "failing_since": webhook.failing_since,
        "disabled_at": webhook.disabled_at,
        "disabled_reason": webhook.disabled_reason,
    }


def describe_delivery(record: WebhookDelivery) -> dict[str, Any]:
    """A delivery with every attempt, as the delivery log shows it."""
    return {
        "id": record.id,
        "event_id": record.event_id,
        "event": record.event_type,
        "status": record.status,
        "created_at": record.created_at,
        "attempt_count": int(record.attempt_count or 0),
        "next_attempt_at": record.next_attempt_at,
        "completed_at": record.completed_at,
        "redelivery_of": record.redelivery_of,
        "attempts": [
            {
                "attempt": int(entry.attempt),
                "at": entry.at,
                "status_code": (
                    int(entry.status_code) if entry.status_code is not None else None
                ),
                "duration_ms": float(entry.duration_ms),
                "error": entry.error,
            }
            for entry in record.attempts or []
        ],
    }
