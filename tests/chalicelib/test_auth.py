"""Who may call what: API keys, permissions and organization boundaries."""

from __future__ import annotations

import pytest

from tests import reference
from tests.conftest import ApiClient


def script_of(tenant) -> str:
    response = tenant.client.post("/scripts", json=reference.CREATE_SCRIPT)
    return response.json()["data"]["script"]["id"]


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Basic abc", "Bearer tcpk_0000000000000000_nope", "Bearer junk"],
)
def test_missing_or_unknown_credentials_are_unauthorized(api_url, header):
    client = ApiClient(api_url)
    headers = {"Authorization": header} if header else {}

    response = client.get("/scripts", headers=headers)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHORIZED"


def test_a_key_with_a_wrong_secret_is_unauthorized(api_url, tenant):
    key_id = tenant.key.split("_")[1]
    forged = ApiClient(api_url, f"tcpk_{key_id}_{'A' * 43}")

    assert forged.get("/scripts").status_code == 401


def test_public_routes_need_no_key(anonymous):
    assert anonymous.get("/health").json()["data"] == {"status": "ok"}
    assert anonymous.get("/openapi.json").status_code == 200


def test_a_viewer_reads_but_cannot_write(tenant):
    script_id = script_of(tenant)
    viewer = tenant.member("viewer")

    assert viewer.get(f"/scripts/{script_id}").status_code == 200
    refused = viewer.post("/scripts", json=reference.CREATE_SCRIPT)
    assert refused.status_code == 403
    error = refused.json()["error"]
    assert error["code"] == "FORBIDDEN"
    assert "scripts:write" in error["details"]
    assert viewer.put(f"/scripts/{script_id}", json={"name": "x"}).status_code == 403
    assert viewer.delete(f"/scripts/{script_id}").status_code == 403


def test_a_key_holds_only_what_it_was_granted(tenant):
    reader = tenant.member("editor", ["scripts:read"])

    assert reader.get("/scripts").status_code == 200
    assert reader.post("/scripts", json=reference.CREATE_SCRIPT).status_code == 403


def test_another_organization_sees_nothing(tenant, other_tenant):
    script_id = script_of(tenant)
    stranger = other_tenant.client
    path = f"/scripts/{script_id}"

    for response in (
        stranger.get(path),
        stranger.put(path, json={"name": "mine now"}),
        stranger.delete(path),
        stranger.get(f"{path}/assets"),
        stranger.get(f"{path}/assets/heart_icon.png", headers={"Accept": "image/png"}),
        stranger.put(
            f"{path}/assets/heart_icon.png",
            data=b"\x89PNG",
            headers={"Content-Type": "image/png"},
        ),
    ):
        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == "NOT_FOUND"
    listed = stranger.get("/scripts").json()["data"]["scripts"]
    assert script_id not in [s["id"] for s in listed]
    owned = tenant.client.get(path).json()["data"]["script"]
    assert owned["name"] == reference.CREATE_SCRIPT["name"]


def test_new_key_is_shown_once_with_a_recognisable_prefix(tenant):
    created = tenant.client.post(
        "/api-keys", json={"name": "ci", "permissions": ["scripts:read"]}
    )

    assert created.status_code == 201
    api_key = created.json()["data"]["api_key"]
    assert api_key["key"].startswith("tcpk_")
    assert api_key["key"].startswith(api_key["prefix"])
    assert api_key["permissions"] == ["scripts:read"]
    listed = tenant.client.get("/api-keys").json()["data"]["api_keys"]
    mine = next(k for k in listed if k["id"] == api_key["id"])
    assert "key" not in mine
    assert api_key["key"] not in str(listed)


def test_keys_are_stored_only_as_hashes(tenant, stack):
    created = tenant.client.post(
        "/api-keys", json={"name": "ci", "permissions": ["scripts:read"]}
    ).json()["data"]["api_key"]

    item = stack.client("dynamodb").get_item(
        TableName="tapcraft-local-api-keys", Key={"id": {"S": created["id"]}}
    )["Item"]

    secret = created["key"].split("_", 2)[2]
    assert secret not in str(item)
    assert len(item["secret_hash"]["S"]) == 64


def test_using_a_key_records_when(tenant):
    created = tenant.client.post(
        "/api-keys", json={"name": "ci", "permissions": ["scripts:read"]}
    ).json()["data"]["api_key"]
    assert created["last_used_at"] is None

    ApiClient(tenant.base_url, created["key"]).get("/scripts")

    listed = tenant.client.get("/api-keys").json()["data"]["api_keys"]
    used = next(k for k in listed if k["id"] == created["id"])
    assert used["last_used_at"] is not None


def test_revoked_keys_stop_working_at_once(tenant):
    created = tenant.client.post(
        "/api-keys", json={"name": "ci", "permissions": ["scripts:read"]}
    ).json()["data"]["api_key"]
    client = ApiClient(tenant.base_url, created["key"])
    assert client.get("/scripts").status_code == 200

    revoked = tenant.client.delete(f"/api-keys/{created['id']}")

    assert revoked.json()["data"]["api_key"]["status"] == "revoked"
    response = client.get("/scripts")
    assert response.status_code == 401
    assert "revoked" in response.json()["error"]["details"]


def test_a_key_cannot_exceed_its_role(tenant):
    editor = tenant.member("editor")

    response = editor.post(
        "/api-keys", json={"name": "escalate", "permissions": ["team:manage"]}
    )

    assert response.status_code == 400
    assert "team:manage" in response.json()["error"]["details"]


def test_a_key_cannot_mint_a_stronger_key(tenant):
    reader = tenant.member("admin", ["scripts:read"])

    response = reader.post(
        "/api-keys", json={"name": "escalate", "permissions": ["scripts:write"]}
    )

    assert response.status_code == 400


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"permissions": ["scripts:read"]}, "name"),
        ({"name": "x", "permissions": []}, "permissions"),
        ({"name": "x", "permissions": ["root"]}, "permissions"),
        ({"name": "x" * 101, "permissions": ["scripts:read"]}, "name"),
    ],
)
def test_bad_key_requests_are_refused(tenant, body, field):
    response = tenant.client.post("/api-keys", json=body)

    assert response.status_code == 400
    assert response.json()["error"]["details"].startswith(field)


def test_members_see_and_revoke_only_their_own_keys(tenant):
    editor = tenant.member("editor")
    owner_keys = {
        k["id"] for k in tenant.client.get("/api-keys").json()["data"]["api_keys"]
    }
    editor_keys = editor.get("/api-keys").json()["data"]["api_keys"]

    assert len(editor_keys) == 1
    assert editor_keys[0]["id"] in owner_keys
    owners_own = next(iter(owner_keys - {editor_keys[0]["id"]}))
    assert editor.delete(f"/api-keys/{owners_own}").status_code == 404
    assert tenant.client.delete(f"/api-keys/{editor_keys[0]['id']}").status_code == 200


def test_keys_of_another_organization_cannot_be_revoked(tenant, other_tenant):
    theirs = other_tenant.client.get("/api-keys").json()["data"]["api_keys"][0]["id"]

    assert tenant.client.delete(f"/api-keys/{theirs}").status_code == 404
    assert other_tenant.client.get("/scripts").status_code == 200
