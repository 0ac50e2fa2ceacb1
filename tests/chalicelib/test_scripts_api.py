"""The Scripts API through the real HTTP server on the local stack."""

from __future__ import annotations

import copy
import json
import time
from concurrent.futures import ThreadPoolExecutor

from tests import reference


def create(tenant, body=None, **overrides):
    payload = {**copy.deepcopy(body or reference.CREATE_SCRIPT), **overrides}
    response = tenant.client.post("/scripts", json=payload)
    assert response.status_code == 201, response.text
    return response.json()["data"]["script"]


def test_create_example_answers_as_the_reference_shows(tenant):
    response = tenant.client.post("/scripts", json=reference.CREATE_SCRIPT)

    assert response.status_code == 201
    body = response.json()
    assert body["success"] is True
    script = body["data"]["script"]
    assert script["id"].startswith("script_")
    assert script["name"] == "New Automation Script"
    assert script["status"] == "draft"
    assert script["created_at"].endswith("Z")
    assert body["meta"]["request_id"] == response.headers["X-Request-Id"]
    assert response.headers["ETag"] == '"1"'


def test_get_returns_every_field_of_the_reference(tenant):
    created = create(tenant, reference.INSTAGRAM_SCRIPT)

    response = tenant.client.get(f"/scripts/{created['id']}")

    assert response.status_code == 200
    script = response.json()["data"]["script"]
    for name in reference.INSTAGRAM_SCRIPT:
        assert script[name] == reference.INSTAGRAM_SCRIPT[name], name
    for name in ("execution_count", "success_rate", "average_duration", "updated_at"):
        assert name in script


def test_update_example_changes_the_script_and_its_version(tenant):
    created = create(tenant)

    response = tenant.client.put(
        f"/scripts/{created['id']}", json=reference.UPDATE_SCRIPT
    )

    assert response.status_code == 200, response.text
    script = response.json()["data"]["script"]
    assert script["name"] == "Updated Script Name"
    assert script["description"] == "Updated description"
    assert [n["id"] for n in script["nodes"]] == ["node_1", "node_2", "node_3"]
    assert script["version"] == 2
    assert script["category"] == "productivity"
    fetched = tenant.client.get(f"/scripts/{created['id']}").json()["data"]["script"]
    assert fetched == script


def test_delete_example_removes_the_script(tenant):
    created = create(tenant)

    response = tenant.client.delete(f"/scripts/{created['id']}")

    assert response.status_code == 200
    assert response.json()["data"] == {"message": "Script deleted successfully"}
    assert tenant.client.get(f"/scripts/{created['id']}").status_code == 404
    listed = tenant.client.get("/scripts").json()["data"]["scripts"]
    assert created["id"] not in [s["id"] for s in listed]
    again = tenant.client.delete(f"/scripts/{created['id']}")
    assert again.status_code == 404


def test_list_example_filters_by_category_with_limit(tenant):
    social = [create(tenant, reference.INSTAGRAM_SCRIPT) for _ in range(3)]
    create(tenant)

    response = tenant.client.get("/scripts?category=social_media&limit=10")

    assert response.status_code == 200
    data = response.json()["data"]
    assert sorted(s["id"] for s in data["scripts"]) == sorted(s["id"] for s in social)
    assert data["pagination"] == {
        "page": 1,
        "limit": 10,
        "total": 3,
        "pages": 1,
        "next_cursor": None,
    }
    first = data["scripts"][0]
    assert set(first) >= {
        "id",
        "name",
        "description",
        "category",
        "tags",
        "status",
        "created_at",
        "updated_at",
        "execution_count",
        "success_rate",
        "average_duration",
    }
    assert "nodes" not in first


def test_list_pages_sorts_and_orders(tenant):
    names = ["delta", "alpha", "charlie", "bravo", "echo"]
    for name in names:
        create(tenant, name=name)

    page1 = tenant.client.get("/scripts?sort=name&order=asc&limit=2").json()["data"]
    page3 = tenant.client.get("/scripts?sort=name&order=asc&limit=2&page=3").json()

    assert [s["name"] for s in page1["scripts"]] == ["alpha", "bravo"]
    assert page1["pagination"]["total"] == 5
    assert page1["pagination"]["pages"] == 3
    assert [s["name"] for s in page3["data"]["scripts"]] == ["echo"]
    newest = tenant.client.get("/scripts?limit=1").json()["data"]["scripts"]
    assert newest[0]["name"] == "echo"


def test_list_filters_status_in_both_forms_and_tags(tenant):
    draft = create(tenant, tags=["a", "b"])
    archived = create(tenant, tags=["b"])
    tenant.client.put(f"/scripts/{archived['id']}", json={"status": "archived"})

    def ids(query):
        response = tenant.client.get(f"/scripts?{query}")
        assert response.status_code == 200, response.text
        return {s["id"] for s in response.json()["data"]["scripts"]}

    assert ids("status=archived") == {archived["id"]}
    assert ids("filter[status]=draft") == {draft["id"]}
    assert ids("tags=a,b") == {draft["id"]}
    assert ids("tags=b") == {draft["id"], archived["id"]}
    assert ids("tags=a&tags=b") == {draft["id"]}
    assert ids("filter[tags]=b&filter[status]=archived") == {archived["id"]}


def test_cursor_iterates_every_script_once(tenant):
    created = {create(tenant, name=f"s{i}")["id"] for i in range(7)}

    seen, cursor, pages = [], "", 0
    while cursor is not None:
        response = tenant.client.get("/scripts", params={"limit": 3, "cursor": cursor})
        assert response.status_code == 200, response.text
        data = response.json()["data"]
        seen += [s["id"] for s in data["scripts"]]
        assert data["pagination"]["total"] == 7
        cursor = data["pagination"]["next_cursor"]
        pages += 1

    assert pages == 3
    assert len(seen) == len(set(seen)) == 7
    assert set(seen) == created


def test_page_mode_offers_a_cursor_for_the_next_page(tenant):
    for i in range(4):
        create(tenant, name=f"s{i}")

    first = tenant.client.get("/scripts?limit=2").json()["data"]
    cursor = first["pagination"]["next_cursor"]
    second = tenant.client.get("/scripts", params={"limit": 2, "cursor": cursor})

    assert [s["name"] for s in first["scripts"]] == ["s3", "s2"]
    assert [s["name"] for s in second.json()["data"]["scripts"]] == ["s1", "s0"]


def test_bad_listing_parameters_are_refused(tenant):
    for query, field in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("page=x", "page"),
        ("sort=owner", "sort"),
        ("order=up", "order"),
        ("status=gone", "status"),
        ("cursor=%%%", "cursor"),
        ("sort=name&cursor=abc", "cursor"),
    ]:
        response = tenant.client.get(f"/scripts?{query}")
        assert response.status_code == 400, query
        assert response.json()["error"]["details"].startswith(field), query


def test_stale_if_match_is_refused_and_changes_nothing(tenant):
    created = create(tenant)
    path = f"/scripts/{created['id']}"
    assert tenant.client.put(path, json={"name": "first"}, headers={"If-Match": '"1"'})

    stale = tenant.client.put(
        path, json={"name": "second"}, headers={"If-Match": '"1"'}
    )

    assert stale.status_code == 412
    assert stale.json()["error"]["code"] == "PRECONDITION_FAILED"
    assert stale.headers["ETag"] == '"2"'
    assert tenant.client.get(path).json()["data"]["script"]["name"] == "first"


def test_concurrent_editors_with_the_same_version_cannot_both_win(tenant):
    created = create(tenant)
    path = f"/scripts/{created['id']}"

    def edit(name):
        return tenant.client.put(path, json={"name": name}, headers={"If-Match": '"1"'})

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(edit, [f"editor {i}" for i in range(8)]))

    codes = sorted(r.status_code for r in results)
    assert codes == [200] + [412] * 7
    winner = next(r for r in results if r.status_code == 200)
    final = tenant.client.get(path).json()["data"]["script"]
    assert final["name"] == winner.json()["data"]["script"]["name"]
    assert final["version"] == 2


def test_updates_without_if_match_are_all_applied(tenant):
    created = create(tenant)
    path = f"/scripts/{created['id']}"

    with ThreadPoolExecutor(4) as pool:
        results = list(
            pool.map(
                lambda i: tenant.client.put(path, json={"name": f"n{i}"}), range(4)
            )
        )

    assert all(r.status_code == 200 for r in results), [r.text for r in results]
    assert tenant.client.get(path).json()["data"]["script"]["version"] == 5


def test_status_lifecycle(tenant):
    created = create(tenant)
    path = f"/scripts/{created['id']}"

    active = tenant.client.put(path, json={"status": "active"})
    archived = tenant.client.put(path, json={"status": "archived"})
    bogus = tenant.client.put(path, json={"status": "deleting"})
    on_create = tenant.client.post(
        "/scripts", json={**reference.CREATE_SCRIPT, "status": "active"}
    )

    assert active.json()["data"]["script"]["status"] == "active"
    assert archived.json()["data"]["script"]["status"] == "archived"
    assert bogus.status_code == 400
    assert on_create.status_code == 400


def test_read_only_fields_in_a_put_are_ignored(tenant):
    created = create(tenant)
    path = f"/scripts/{created['id']}"
    full = tenant.client.get(path).json()["data"]["script"]

    response = tenant.client.put(
        path, json={**full, "name": "renamed", "execution_count": 999}
    )

    assert response.status_code == 200
    assert response.json()["data"]["script"]["execution_count"] == 0


def test_a_refused_create_leaves_no_trace(tenant):
    before = tenant.client.get("/scripts").json()["data"]["pagination"]["total"]
    bad = copy.deepcopy(reference.CREATE_SCRIPT)
    bad["nodes"][0]["config"]["wait_time"] = "soon"

    response = tenant.client.post("/scripts", json=bad)

    assert response.status_code == 400
    assert response.json()["error"]["details"] == (
        "nodes[0] (node_1).config.wait_time: must be an integer"
    )
    time.sleep(0.1)
    after = tenant.client.get("/scripts").json()["data"]["pagination"]["total"]
    assert after == before


def test_a_refused_update_leaves_the_script_unchanged(tenant):
    created = create(tenant)
    path = f"/scripts/{created['id']}"

    response = tenant.client.put(path, json={"name": "x", "nodes": []})

    assert response.status_code == 400
    script = tenant.client.get(path).json()["data"]["script"]
    assert script["name"] == created["name"]
    assert script["version"] == 1


def test_the_readme_example_script_is_accepted(tenant):
    from pathlib import Path

    example = Path(__file__).resolve().parents[2] / "examples/instagram-auto-like.json"
    body = json.loads(example.read_text())

    response = tenant.client.post("/scripts", json=body)

    assert response.status_code == 201, response.text
    assert response.json()["data"]["script"]["variables"] == {
        "like_count": 0,
        "max_likes": 10,
    }
