"""Script images: upload, checks on their content, download and removal."""

from __future__ import annotations

import io
import time

import pytest
from PIL import Image

from tests import reference


def image_bytes(fmt: str = "PNG", size=(48, 40), color=(220, 20, 60)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format=fmt)
    return buffer.getvalue()


def upload(client, script_id, name, data, content_type="image/png"):
    return client.put(
        f"/scripts/{script_id}/assets/{name}",
        data=data,
        headers={"Content-Type": content_type},
    )


@pytest.fixture
def instagram(tenant) -> str:
    response = tenant.client.post("/scripts", json=reference.INSTAGRAM_SCRIPT)
    return response.json()["data"]["script"]["id"]


def test_upload_list_download_delete(tenant, instagram):
    png = image_bytes()

    created = upload(tenant.client, instagram, "heart_icon.png", png)

    assert created.status_code == 201, created.text
    asset = created.json()["data"]["asset"]
    assert asset["content_type"] == "image/png"
    assert (asset["width"], asset["height"], asset["size"]) == (48, 40, len(png))
    listed = tenant.client.get(f"/scripts/{instagram}/assets").json()["data"]
    assert [a["name"] for a in listed["assets"]] == ["heart_icon.png"]
    path = f"/scripts/{instagram}/assets/heart_icon.png"
    download = tenant.client.get(path, headers={"Accept": "image/png"})
    assert download.status_code == 200
    assert download.headers["Content-Type"] == "image/png"
    assert download.content == png
    assert tenant.client.delete(path).status_code == 200
    assert tenant.client.get(path, headers={"Accept": "image/png"}).status_code == 404


def test_jpeg_is_accepted(tenant, instagram):
    response = upload(
        tenant.client, instagram, "photo.jpg", image_bytes("JPEG"), "image/jpeg"
    )

    assert response.status_code == 201
    assert response.json()["data"]["asset"]["content_type"] == "image/jpeg"


def test_replacing_an_asset_keeps_one_copy(tenant, instagram):
    upload(tenant.client, instagram, "heart_icon.png", image_bytes(size=(10, 10)))
    upload(tenant.client, instagram, "heart_icon.png", image_bytes(size=(20, 20)))

    assets = tenant.client.get(f"/scripts/{instagram}/assets").json()["data"]["assets"]

    assert [(a["name"], a["width"]) for a in assets] == [("heart_icon.png", 20)]


@pytest.mark.parametrize(
    ("name", "data", "content_type", "status", "details"),
    [
        ("heart.jpg", image_bytes("PNG"), "image/jpeg", 400, "image/png"),
        ("heart.png", b"not an image at all", "image/png", 400, "not a readable"),
        ("heart.png", image_bytes("GIF"), "image/png", 400, "only PNG and JPEG"),
        ("heart.gif", image_bytes("GIF"), "image/png", 400, "name:"),
        ("..%2Fescape.png", image_bytes(), "image/png", 400, "name:"),
        ("heart.png", image_bytes(), "application/json", 415, "image/png"),
        ("heart.png", b"\x89PNG" + b"0" * (2 * 1024 * 1024), "image/png", 413, ""),
    ],
)
def test_bad_uploads_are_refused_and_leave_nothing(
    tenant, instagram, stack, name, data, content_type, status, details
):
    response = upload(tenant.client, instagram, name, data, content_type)

    assert response.status_code == status, response.text
    assert details in response.json()["error"]["details"]
    assets = tenant.client.get(f"/scripts/{instagram}/assets").json()["data"]["assets"]
    assert assets == []
    stored = stack.client("s3").list_objects_v2(
        Bucket="tapcraft-local-assets",
        Prefix=f"orgs/{tenant.org_id}/scripts/{instagram}",
    )
    assert stored.get("KeyCount", 0) == 0


def test_download_needs_an_accept_header_that_admits_the_image(tenant, instagram):
    png = image_bytes()
    upload(tenant.client, instagram, "heart_icon.png", png)
    path = f"/scripts/{instagram}/assets/heart_icon.png"

    json_only = tenant.client.get(path, headers={"Accept": "application/json"})
    anything = tenant.client.get(path, headers={"Accept": "*/*"})

    assert json_only.status_code == 400
    assert "Accept" in json_only.json()["error"]["details"]
    assert anything.content == png


def test_script_cannot_be_active_while_an_asset_is_missing(tenant, instagram):
    path = f"/scripts/{instagram}"

    refused = tenant.client.put(path, json={"status": "active"})
    upload(tenant.client, instagram, "heart_icon.png", image_bytes())
    accepted = tenant.client.put(path, json={"status": "active"})

    assert refused.status_code == 400
    assert "heart_icon.png" in refused.json()["error"]["details"]
    assert accepted.status_code == 200
    assert accepted.json()["data"]["script"]["status"] == "active"


def test_deleting_a_script_removes_its_assets(tenant, instagram, stack):
    upload(tenant.client, instagram, "heart_icon.png", image_bytes())
    upload(tenant.client, instagram, "other.png", image_bytes())
    s3 = stack.client("s3")
    prefix = f"orgs/{tenant.org_id}/scripts/{instagram}/"
    assert s3.list_objects_v2(Bucket="tapcraft-local-assets", Prefix=prefix)["KeyCount"]

    assert tenant.client.delete(f"/scripts/{instagram}").status_code == 200

    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        objects = s3.list_objects_v2(Bucket="tapcraft-local-assets", Prefix=prefix)
        records = stack.client("dynamodb").query(
            TableName="tapcraft-local-assets",
            KeyConditionExpression="script_id = :s",
            ExpressionAttributeValues={":s": {"S": instagram}},
        )
        script = stack.client("dynamodb").get_item(
            TableName="tapcraft-local-scripts", Key={"id": {"S": instagram}}
        )
        if not objects["KeyCount"] and not records["Count"] and "Item" not in script:
            break
        time.sleep(0.2)
    else:
        pytest.fail("the deleted script's assets were not removed")


def test_uploads_to_a_deleted_script_are_refused(tenant, instagram):
    tenant.client.delete(f"/scripts/{instagram}")

    response = upload(tenant.client, instagram, "heart_icon.png", image_bytes())

    assert response.status_code == 404
