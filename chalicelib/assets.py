"""Script assets: the images that image_detection nodes look for.

An upload is checked by decoding it (the name's extension must agree with
what the bytes are), stored in S3, then recorded in DynamoDB in a transaction
that also checks the script still exists; a failed record removes the object
again. Deleting a script hands its assets to the cleanup queue.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import DoesNotExist, TransactWriteError

from chalicelib import aws, nodes
from chalicelib.errors import InternalError, NotFoundError, ValidationError
from chalicelib.ids import now_iso
from chalicelib.models import Asset, Script
from chalicelib.settings import get_settings

logger = logging.getLogger(__name__)

MAX_ASSET_BYTES = 2 * 1024 * 1024
MAX_ASSET_PIXELS = 4096 * 4096
MAX_ASSETS_PER_SCRIPT = 50
FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg"}
EXTENSIONS = {"png": "PNG", "jpg": "JPEG", "jpeg": "JPEG"}
CLEANUP_QUEUE = "asset-cleanup"


@dataclass(frozen=True)
class ImageInfo:
    content_type: str
    width: int
    height: int


def bucket() -> str:
    return get_settings().resource_name("assets")


def object_key(org_id: str, script_id: str, name: str) -> str:
    return f"orgs/{org_id}/scripts/{script_id}/assets/{name}"


def inspect_image(name: str, data: bytes) -> ImageInfo:
    """Decode an upload; raises ValidationError unless it is the PNG or JPEG
    its name says it is, within the size limits."""
    if not nodes.ASSET_NAME.match(name):
        raise ValidationError(
            "name",
            "must be 1-100 letters, digits, '.', '_' or '-' ending in "
            ".png, .jpg or .jpeg",
        )
    if not data:
        raise ValidationError("body", "the image is empty")
    if len(data) > MAX_ASSET_BYTES:
        raise ValidationError("body", f"images may be at most {MAX_ASSET_BYTES} bytes")
    detected = _decode(data)
    expected = EXTENSIONS[name.rsplit(".", 1)[1].lower()]
    if detected.content_type != FORMATS[expected]:
        raise ValidationError(
            "body", f"the bytes are {detected.content_type}, not what {name} names"
        )
    return detected


def _decode(data: bytes) -> ImageInfo:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            image_format, size = image.format, image.size
            if image_format not in FORMATS:
                raise ValidationError("body", "only PNG and JPEG images are accepted")
            if size[0] * size[1] > MAX_ASSET_PIXELS:
                raise ValidationError("body", "the image has too many pixels")
            image.load()
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise ValidationError(
            "body", "the bytes are not a readable PNG or JPEG"
        ) from exc
    except Image.DecompressionBombError as exc:
        raise ValidationError("body", "the image has too many pixels") from exc
    return ImageInfo(FORMATS[image_format], size[0], size[1])


def put_asset(script: Script, name: str, data: bytes) -> Asset:
    """Store an image under `name`, replacing any previous one.

    Raises ValidationError for bad images or too many assets, NotFoundError
    when the script is deleted meanwhile.
    """
    info = inspect_image(name, data)
    if (
        name not in asset_names(script.id)
        and _count(script.id) >= MAX_ASSETS_PER_SCRIPT
    ):
        raise ValidationError("name", f"a script holds at most {MAX_ASSETS_PER_SCRIPT}")
    key = object_key(script.org_id, script.id, name)
    _s3_put(key, data, info.content_type)
    asset = Asset(
        script.id,
        name,
        org_id=script.org_id,
        content_type=info.content_type,
        size=len(data),
        width=info.width,
        height=info.height,
        sha256=hashlib.sha256(data).hexdigest(),
        object_key=key,
        created_at=now_iso(),
    )
    _record(script, asset)
    logger.info("asset stored", extra={"script_id": script.id, "size": len(data)})
    return asset


def _record(script: Script, asset: Asset) -> None:
    try:
        with aws.transaction() as transaction:
            transaction.condition_check(
                Script,
                script.id,
                condition=(Script.org_id == script.org_id)
                & (Script.status != "deleting"),
            )
            transaction.save(asset)
    except TransactWriteError as exc:
        _s3_delete([asset.object_key])
        raise NotFoundError(f"Script {script.id} was not found") from exc


def _s3_put(key: str, data: bytes, content_type: str) -> None:
    try:
        aws.client("s3").put_object(
            Bucket=bucket(), Key=key, Body=data, ContentType=content_type
        )
    except (BotoCoreError, ClientError) as exc:
        raise InternalError("The asset could not be stored") from exc


def _s3_delete(keys: list[str]) -> None:
    for start in range(0, len(keys), 1000):
        chunk = keys[start : start + 1000]
        aws.client("s3").delete_objects(
            Bucket=bucket(),
            Delete={"Objects": [{"Key": k} for k in chunk], "Quiet": True},
        )


def list_assets(script: Script) -> list[Asset]:
    return list(Asset.query(script.id))


def asset_names(script_id: str) -> set[str]:
    return {a.name for a in Asset.query(script_id, attributes_to_get=["name"])}


def _count(script_id: str) -> int:
    return Asset.count(script_id)


def get_asset(script: Script, name: str) -> tuple[Asset, bytes]:
    """An asset and its bytes; raises NotFoundError."""
    return read_asset(script.id, name)


def read_asset(script_id: str, name: str) -> tuple[Asset, bytes]:
    """An asset of a script the caller was already allowed to see."""
    try:
        asset = Asset.get(script_id, name)
    except DoesNotExist as exc:
        raise NotFoundError(f"Asset {name} was not found") from exc
    try:
        body = aws.client("s3").get_object(Bucket=bucket(), Key=asset.object_key)
    except ClientError as exc:
        raise NotFoundError(f"Asset {name} was not found") from exc
    return asset, body["Body"].read()


def delete_asset(script: Script, name: str) -> None:
    """Remove one asset; raises NotFoundError."""
    asset = _load(script, name)
    asset.delete()
    _s3_delete([asset.object_key])
    logger.info("asset deleted", extra={"script_id": script.id})


def _load(script: Script, name: str) -> Asset:
    try:
        return Asset.get(script.id, name)
    except DoesNotExist as exc:
        raise NotFoundError(f"Asset {name} was not found") from exc


def schedule_cleanup(script_id: str) -> None:
    """Queue the removal of a deleted script's assets and record."""
    try:
        aws.client("sqs").send_message(
            QueueUrl=aws.queue_url(CLEANUP_QUEUE),
            MessageBody=json.dumps({"script_id": script_id}),
        )
    except (BotoCoreError, ClientError) as exc:
        raise InternalError("The deletion could not be queued") from exc


def delete_all_assets(script_id: str, org_id: str) -> int:
    """Remove every object and record of a script's assets; returns the count."""
    prefix = object_key(org_id, script_id, "")
    paginator = aws.client("s3").get_paginator("list_objects_v2")
    keys = [
        item["Key"]
        for page in paginator.paginate(Bucket=bucket(), Prefix=prefix)
        for item in page.get("Contents", [])
    ]
    _s3_delete(keys)
    records = list(Asset.query(script_id))
    with Asset.batch_write() as batch:
        for record in records:
            batch.delete(record)
    return len(keys)


def describe_asset(asset: Asset) -> dict:
    return {
        "name": asset.name,
        "content_type": asset.content_type,
        "size": int(asset.size),
        "width": int(asset.width),
        "height": int(asset.height),
        "sha256": asset.sha256,
        "created_at": asset.created_at,
    }
