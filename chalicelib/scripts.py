"""Scripts: create, read, update, list and delete, scoped to an organization.

Every write re-validates the whole graph with `chalicelib.nodes`, so a stored
script is always runnable. Updates are optimistic: each carries the version
it read and fails if another writer got there first.
"""

from __future__ import annotations

import json
import logging
import math
import random
import re
import time
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import (
    DeleteError,
    DoesNotExist,
    TransactWriteError,
    UpdateError,
)

from chalicelib import assets, aws, events, lookups, nodes, paging, plans
from chalicelib.auth import Principal
from chalicelib.errors import (
    InternalError,
    InvalidRequestError,
    NotFoundError,
    PreconditionFailedError,
    QuotaExceededError,
    ValidationError,
)
from chalicelib.ids import new_id, now_iso
from chalicelib.models import Organization, Script

logger = logging.getLogger(__name__)

STATUSES = ("draft", "active", "archived")
DELETING = "deleting"
SORT_KEYS = (
    "created_at",
    "updated_at",
    "name",
    "execution_count",
    "success_rate",
    "average_duration",
)
MAX_NAME = 200
MAX_DESCRIPTION = 2000
MAX_TAGS = 20
MAX_TAG = 50
MAX_LIMIT = 100
CATEGORY = re.compile(r"^[a-z0-9_]{1,64}$")
EDITABLE = {
    "name",
    "description",
    "category",
    "tags",
    "nodes",
    "connections",
    "variables",
    "settings",
    "status",
}
READ_ONLY = {
    "id",
    "version",
    "created_at",
    "updated_at",
    "execution_count",
    "success_rate",
    "average_duration",
}
DEFAULT_SETTINGS = {
    "execution_timeout": 300000,
    "retry_on_failure": False,
    "max_retries": 3,
}
UPDATE_ATTEMPTS = 8
RETRY_PAUSE_SECONDS = 0.02


@dataclass(frozen=True)
class ListQuery:
    page: int = 1
    limit: int = 20
    sort: str = "created_at"
    order: str = "desc"
    status: str | None = None
    category: str | None = None
    tags: tuple[str, ...] = ()
    cursor: str | None = None


@dataclass(frozen=True)
class ScriptPage:
    scripts: list[Script]
    page: int
    limit: int
    total: int
    next_cursor: str | None


def create_script(principal: Principal, body: dict[str, Any]) -> Script:
    """Create a draft script.

    Raises ValidationError for any bad field, QuotaExceededError when the
    organization's plan holds no more scripts.
    """
    principal.require("scripts:write")
    _reject_unknown(body, EDITABLE)
    if body.get("status", "draft") != "draft":
        raise ValidationError("status", "a new script is always created as draft")
    fields = _validated({**_EMPTY, **body}, required=("name", "nodes"))
    now = now_iso()
    script = Script(
        new_id("script"),
        org_id=principal.org_id,
        owner_id=principal.user_id,
        status="draft",
        version=1,
        created_at=now,
        updated_at=now,
        **_stored(fields),
    )
    _save_within_quota(script)
    logger.info("script created", extra={"script_id": script.id})
    events.publish_event("script.created", principal.org_id, summary(script))
    return script


_EMPTY: dict[str, Any] = {
    "description": "",
    "category": "",
    "tags": [],
    "connections": [],
    "variables": {},
    "settings": {},
}


def get_script(principal: Principal, script_id: str) -> Script:
    """The caller's script; raises NotFoundError for anyone else's."""
    principal.require("scripts:read")
    return load_script(principal.org_id, script_id)


def load_script(org_id: str, script_id: str) -> Script:
    """A script of `org_id`, without permission checks; raises NotFoundError."""
    script = lookups.owned(Script, org_id, script_id, "Script")
    if script.status == DELETING:
        raise NotFoundError(f"Script {script_id} was not found")
    return script


def update_script(
    principal: Principal,
    script_id: str,
    body: dict[str, Any],
    expected_version: int | None = None,
) -> Script:
    """Apply a partial update.

    Raises ValidationError for bad fields, PreconditionFailedError when
    `expected_version` is stale, NotFoundError for others' scripts.
    """
    principal.require("scripts:write")
    _reject_unknown(body, EDITABLE | READ_ONLY)
    changes = {k: v for k, v in body.items() if k in EDITABLE}
    for _ in range(UPDATE_ATTEMPTS):
        script = load_script(principal.org_id, script_id)
        if expected_version is not None and script.version != expected_version:
            raise _stale(script, expected_version)
        try:
            return _apply_update(principal, script, changes)
        except UpdateError as exc:
            if not _is_conditional_failure(exc):
                raise
            if expected_version is not None:
                current = load_script(principal.org_id, script_id)
                raise _stale(current, expected_version) from exc
            time.sleep(random.uniform(0, RETRY_PAUSE_SECONDS))
    raise PreconditionFailedError("The script kept changing; try again")


def _apply_update(principal: Principal, script: Script, changes: dict) -> Script:
    merged = {**describe(script), **changes}
    fields = _validated(merged, required=("name", "nodes"))
    status = merged["status"]
    if status not in STATUSES:
        raise ValidationError("status", "must be one of " + ", ".join(STATUSES))
    if status == "active":
        _require_assets(script, fields["nodes"])
    stored = {**_stored(fields), "status": status, "updated_at": now_iso()}
    actions = [getattr(Script, name).set(value) for name, value in stored.items()]
    actions.append(Script.version.add(1))
    script.update(
        actions=actions,
        condition=(Script.version == script.version) & (Script.status != DELETING),
    )
    logger.info(
        "script updated", extra={"script_id": script.id, "version": script.version}
    )
    events.publish_event("script.updated", principal.org_id, summary(script))
    return script


def _require_assets(script: Script, graph_nodes: list[dict]) -> None:
    missing = nodes.referenced_assets(graph_nodes) - assets.asset_names(script.id)
    if missing:
        raise ValidationError(
            "status",
            "cannot be active while these assets are missing: "
            + ", ".join(sorted(missing)),
        )


def _stale(script: Script, expected: int) -> PreconditionFailedError:
    return PreconditionFailedError(
        f"If-Match names version {expected} but the script is at version "
        f"{script.version}; fetch it again and reapply your change",
        headers={"ETag": etag(script)},
    )


def _is_conditional_failure(exc: Exception) -> bool:
    cause = getattr(exc, "cause_response_code", None)
    return cause == "ConditionalCheckFailedException"


def delete_script(principal: Principal, script_id: str) -> None:
    """Hide the script at once and have its assets and record removed.

    Raises NotFoundError for scripts the caller cannot see.
    """
    principal.require("scripts:write")
    script = load_script(principal.org_id, script_id)
    _mark_deleted(script)
    assets.schedule_cleanup(script.id)
    logger.info("script deleted", extra={"script_id": script.id})
    events.publish_event("script.deleted", principal.org_id, {"id": script.id})


# NOTE: organizations count their scripts from the day the quota shipped;
# scripts stored before then are not in `script_count`, so such an
# organization may hold that many more than its plan allows.
def _save_within_quota(script: Script) -> None:
    """Store a new script and count it, in one transaction, within the quota."""
    plan = plans.plan_for(script.org_id)
    within = Organization.id.exists()
    if plan.max_scripts != plans.UNLIMITED:
        within &= Organization.script_count.does_not_exist() | (
            Organization.script_count < plan.max_scripts
        )
    try:
        with aws.transaction() as transaction:
            transaction.save(script, condition=Script.id.does_not_exist())
            transaction.update(
                Organization(script.org_id),
                actions=[Organization.script_count.add(1)],
                condition=within,
            )
    except TransactWriteError as exc:
        if _failed_items(exc) != [1]:
            raise
        raise QuotaExceededError(
            f"The {plan.tier} plan holds {plan.max_scripts} scripts; delete one "
            "or upgrade"
        ) from exc


def _mark_deleted(script: Script) -> None:
    """Hide the script and give its place in the quota back, in one transaction."""
    try:
        with aws.transaction() as transaction:
            transaction.update(
                script,
                actions=[Script.status.set(DELETING), Script.updated_at.set(now_iso())],
                condition=Script.status != DELETING,
            )
            transaction.update(
                Organization(script.org_id),
                actions=[Organization.script_count.add(-1)],
            )
    except TransactWriteError as exc:
        if 0 in _failed_items(exc):
            raise NotFoundError(f"Script {script.id} was not found") from exc
        raise


def _failed_items(exc: TransactWriteError) -> list[int]:
    """Positions, in the order sent, of the items whose condition failed."""
    return [
        index
        for index, reason in enumerate(exc.cancellation_reasons or [])
        if reason is not None and reason.code == "ConditionalCheckFailed"
    ]


def finish_deletion(message: str) -> None:
    """Remove a deleted script's assets and record, from a cleanup message.

    Raises InternalError if the script is not marked deleted, so the message
    is retried (and lands in the dead-letter queue if that never changes).
    """
    script_id = json.loads(message)["script_id"]
    try:
        script = Script.get(script_id)
    except DoesNotExist:
        return
    if script.status != DELETING:
        raise InternalError(f"Script {script_id} is not marked deleted")
    assets.delete_all_assets(script.id, script.org_id)
    try:
        script.delete(condition=Script.status == DELETING)
    except DeleteError as exc:
        if not _is_conditional_failure(exc):
            raise


def list_scripts(principal: Principal, query: ListQuery) -> ScriptPage:
    """A page of the organization's scripts, filtered and sorted."""
    principal.require("scripts:read")
    condition = _filter(query)
    if query.cursor is not None:
        return _cursor_page(principal.org_id, query, condition)
    found = list(Script.by_org.query(principal.org_id, filter_condition=condition))
    key = _sort_key(query.sort)
    found.sort(key=key, reverse=query.order == "desc")
    start = (query.page - 1) * query.limit
    page = found[start : start + query.limit]
    more = start + query.limit < len(found)
    cursor = None
    if more and query.sort == "created_at" and page:
        cursor = _cursor(page[-1])
    return ScriptPage(page, query.page, query.limit, len(found), cursor)


def _sort_key(sort: str):
    if sort == "name":
        return lambda s: (s.name.casefold(), s.created_at)
    return lambda s: (getattr(s, sort), s.created_at)


def _filter(query: ListQuery):
    condition = Script.status != DELETING
    if query.status:
        condition &= Script.status == query.status
    if query.category:
        condition &= Script.category == query.category
    for tag in query.tags:
        condition &= Script.tags.contains(tag)
    return condition


def _cursor_page(org_id: str, query: ListQuery, condition) -> ScriptPage:
    start_key = (
        paging.decode_cursor(query.cursor, ("org_id", org_id)) if query.cursor else None
    )
    found = list(
        Script.by_org.query(
            org_id,
            scan_index_forward=query.order == "asc",
            filter_condition=condition,
            last_evaluated_key=start_key,
            limit=query.limit + 1,
        )
    )
    page = found[: query.limit]
    cursor = _cursor(page[-1]) if len(found) > query.limit else None
    total = Script.by_org.count(org_id, filter_condition=condition)
    return ScriptPage(page, 1, query.limit, total, cursor)


def _cursor(script: Script) -> str:
    return paging.encode_cursor({"created_at": script.created_at, "id": script.id})


def parse_list_query(params: dict[str, list[str]]) -> ListQuery:
    """Read listing parameters, in both `status=` and `filter[status]=` forms."""

    def first(name: str) -> str | None:
        values = params.get(name) or params.get(f"filter[{name}]")
        return values[-1] if values else None

    tags = [
        tag.strip()
        for name in ("tags", "filter[tags]", "filter[tags][]", "tags[]")
        for value in params.get(name, [])
        for tag in value.split(",")
        if tag.strip()
    ]
    status = first("status")
    if status is not None and status not in STATUSES:
        raise ValidationError("status", "must be one of " + ", ".join(STATUSES))
    sort = first("sort") or "created_at"
    if sort not in SORT_KEYS:
        raise ValidationError("sort", "must be one of " + ", ".join(SORT_KEYS))
    order = (first("order") or "desc").lower()
    if order not in ("asc", "desc"):
        raise ValidationError("order", "must be asc or desc")
    cursor = first("cursor")
    if cursor is not None and sort != "created_at":
        raise ValidationError("cursor", "cursors follow creation order; drop sort")
    return ListQuery(
        page=paging.int_param("page", first("page"), 1, 1, 100000),
        limit=paging.int_param("limit", first("limit"), 20, 1, MAX_LIMIT),
        sort=sort,
        order=order,
        status=status,
        category=first("category"),
        tags=tuple(dict.fromkeys(tags)),
        cursor=cursor,
    )


def parse_if_match(header: str | None) -> int | None:
    """The version an If-Match header names (`"3"`, `W/"3"` or `3`)."""
    if header is None:
        return None
    text = header.strip().removeprefix("W/").strip('"')
    if not text.isdigit():
        raise InvalidRequestError("If-Match must carry the ETag the API returned")
    return int(text)


def etag(script: Script) -> str:
    return f'"{script.version}"'


def _reject_unknown(body: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise ValidationError(unknown[0], "is not a script field")


def _validated(body: dict[str, Any], required: tuple[str, ...]) -> dict[str, Any]:
    for name in required:
        if body.get(name) is None:
            raise ValidationError(name, "is required")
    graph_nodes = body["nodes"]
    graph = nodes.validate_graph(graph_nodes, body["connections"], body["variables"])
    return {
        "name": _text("name", body["name"], MAX_NAME, required=True),
        "description": _text("description", body["description"], MAX_DESCRIPTION),
        "category": _category(body["category"]),
        "tags": _tags(body["tags"]),
        "nodes": [graph.nodes[n["id"]] for n in graph_nodes],
        "connections": body["connections"],
        "variables": body["variables"],
        "settings": _settings(body["settings"]),
    }


def _text(name: str, value: Any, limit: int, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationError(name, "must be a string")
    if required and not value.strip():
        raise ValidationError(name, "must not be empty")
    if len(value) > limit:
        raise ValidationError(name, f"must be at most {limit} characters")
    return value


def _category(value: Any) -> str:
    if value in (None, ""):
        return ""
    if not isinstance(value, str) or not CATEGORY.match(value):
        raise ValidationError("category", "must be 1-64 lowercase letters, digits or _")
    return value


def _tags(value: Any) -> list[str]:
    if not isinstance(value, list):
        raise ValidationError("tags", "must be a list of strings")
    if len(value) > MAX_TAGS:
        raise ValidationError("tags", f"at most {MAX_TAGS} tags are allowed")
    for index, tag in enumerate(value):
        if not isinstance(tag, str) or not 0 < len(tag) <= MAX_TAG or "," in tag:
            raise ValidationError(
                f"tags[{index}]", f"must be 1-{MAX_TAG} characters without commas"
            )
    return list(dict.fromkeys(value))


def _settings(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValidationError("settings", "must be an object")
    unknown = sorted(set(value) - set(DEFAULT_SETTINGS))
    if unknown:
        raise ValidationError(f"settings.{unknown[0]}", "is not a script setting")
    merged = {**DEFAULT_SETTINGS, **value}
    timeout = merged["execution_timeout"]
    if isinstance(timeout, bool) or not isinstance(timeout, int):
        raise ValidationError("settings.execution_timeout", "must be an integer")
    if not 1000 <= timeout <= 3600000:
        raise ValidationError(
            "settings.execution_timeout", "must be 1000 to 3600000 milliseconds"
        )
    if not isinstance(merged["retry_on_failure"], bool):
        raise ValidationError("settings.retry_on_failure", "must be true or false")
    retries = merged["max_retries"]
    if (
        isinstance(retries, bool)
        or not isinstance(retries, int)
        or not 0 <= retries <= 10
    ):
        raise ValidationError("settings.max_retries", "must be an integer from 0 to 10")
    return merged


def _stored(fields: dict[str, Any]) -> dict[str, Any]:
    definition = {
        k: fields[k] for k in ("nodes", "connections", "variables", "settings")
    }
    return {
        "name": fields["name"],
        "description": fields["description"],
        "category": fields["category"],
        "tags": fields["tags"],
        "definition": json.dumps(definition, separators=(",", ":")),
    }


def summary(script: Script) -> dict[str, Any]:
    """The listing shape of a script."""
    return {
        "id": script.id,
        "name": script.name,
        "description": script.description,
        "category": script.category,
        "tags": list(script.tags or []),
        "status": script.status,
        "version": int(script.version),
        "created_at": script.created_at,
        "updated_at": script.updated_at,
        "execution_count": int(script.execution_count or 0),
        "success_rate": _number(script.success_rate),
        "average_duration": _number(script.average_duration),
    }


def describe(script: Script) -> dict[str, Any]:
    """The full shape of a script, graph included."""
    return {**summary(script), **json.loads(script.definition)}


def _number(value: float) -> float:
    value = float(value)
    return round(value, 2) if math.isfinite(value) else 0.0
