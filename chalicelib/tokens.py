"""Bearer tokens that are stored only as a hash.

A token reads `<kind>_<id>_<secret>`: the id finds its record with one read,
the record keeps the SHA-256 of the whole token (the secret has 256 bits, so a
fast hash is enough), and the comparison runs in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import TypeVar

from pynamodb.exceptions import DoesNotExist
from pynamodb.models import Model

M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class MintedToken:
    token_id: str
    token: str
    digest: str
    prefix: str


def mint(kind: str) -> MintedToken:
    token_id = secrets.token_hex(8)
    token = f"{kind}_{token_id}_{secrets.token_urlsafe(32)}"
    return MintedToken(token_id, token, digest(token), token[: len(kind) + 9])


def token_id(kind: str, token: str) -> str | None:
    """The id inside a token of `kind`, or None if it is not one."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != kind or not parts[1] or not parts[2]:
        return None
    return parts[1]


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def matches(stored_digest: str, token: str) -> bool:
    return hmac.compare_digest(stored_digest, digest(token))


def find_record(model: type[M], kind: str, token: str, id_prefix: str) -> M | None:
    """The record a token of `kind` names, if the token matches its hash.

    The record's id is `<id_prefix>_<token id>` and it keeps the token's
    digest in `secret_hash`. None for malformed, unknown or wrong tokens.
    """
    found_id = token_id(kind, token)
    if found_id is None:
        return None
    try:
        record = model.get(f"{id_prefix}_{found_id}")
    except DoesNotExist:
        return None
    return record if matches(record.secret_hash, token) else None
