"""Reading one object on behalf of an organization."""

from __future__ import annotations

from typing import TypeVar

from pynamodb.exceptions import DoesNotExist
from pynamodb.models import Model

from chalicelib.errors import NotFoundError

M = TypeVar("M", bound=Model)


def owned(model: type[M], org_id: str, key: str, label: str) -> M:
    """The item `key` of `model` if it belongs to `org_id`.

    Raises NotFoundError both when it does not exist and when it belongs to
    another organization, so that others' ids reveal nothing.
    """
    try:
        item = model.get(key)
    except DoesNotExist as exc:
        raise NotFoundError(f"{label} {key} was not found") from exc
    if item.org_id != org_id:
        raise NotFoundError(f"{label} {key} was not found")
    return item
