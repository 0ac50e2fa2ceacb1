"""Opaque cursors over DynamoDB index queries.

A cursor carries the key of the last item a page showed. Decoding checks it
against the partition the caller may read, so a cursor cannot open another
organization's items.
"""

from __future__ import annotations

import base64
import binascii
import json

from chalicelib.errors import ValidationError


def encode_cursor(key: dict[str, str]) -> str:
    raw = json.dumps(key, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, partition: tuple[str, str]) -> dict[str, dict]:
    """The exclusive start key in a cursor; raises ValidationError if forged."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded))
        valid = isinstance(key, dict) and all(isinstance(v, str) for v in key.values())
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise ValidationError("cursor", "is not a cursor this API issued") from exc
    name, value = partition
    if not valid or key.get(name, value) != value:
        raise ValidationError("cursor", "is not a cursor this API issued")
    return {attribute: {"S": text} for attribute, text in {**key, name: value}.items()}


def int_param(name: str, text: str | None, default: int, low: int, high: int) -> int:
    """A bounded integer query parameter; raises ValidationError."""
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError as exc:
        raise ValidationError(name, "must be an integer") from exc
    if not low <= value <= high:
        raise ValidationError(name, f"must be between {low} and {high}")
    return value
