"""Scripts the device agent tests run: the reference Instagram graph, looped."""

from __future__ import annotations

import copy
import itertools
from typing import Any

from tests.reference import INSTAGRAM_SCRIPT

HEART = "heart_icon.png"


def like_loop_script(max_likes: int = 10, wait_time_ms: int = 300) -> dict[str, Any]:
    """The reference "Instagram Auto-Like" script, liking until max_likes.

    image_detection → click → increment like_count → condition like_count <
    max_likes → swipe up → back to detection; not_found → swipe up as well.
    """
    script = copy.deepcopy(INSTAGRAM_SCRIPT)
    script["nodes"][0]["config"]["wait_time"] = wait_time_ms
    script["variables"] = {"like_count": 0, "max_likes": max_likes}
    script["nodes"] += [
        {
            "id": "node_4",
            "type": "increment_variable",
            "config": {"name": "like_count"},
        },
        {
            "id": "node_5",
            "type": "condition",
            "config": {"expression": "like_count < max_likes"},
        },
        {"id": "node_6", "type": "swipe", "config": {"direction": "up"}},
        {"id": "node_7", "type": "end", "config": {"status": "success"}},
    ]
    script["connections"] += [
        {"from": "node_2", "to": "node_6", "branch": "not_found"},
        {"from": "node_3", "to": "node_4"},
        {"from": "node_4", "to": "node_5"},
        {"from": "node_5", "to": "node_6", "branch": "true"},
        {"from": "node_5", "to": "node_7", "branch": "false"},
        {"from": "node_6", "to": "node_2"},
    ]
    return script


def graph(
    nodes: list[dict[str, Any]],
    connections: list[dict[str, Any]] | None = None,
    variables: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A script from nodes given as (id, type, config); chained if unconnected."""
    if connections is None:
        connections = [
            {"from": first["id"], "to": second["id"]}
            for first, second in itertools.pairwise(nodes)
        ]
    return {"nodes": nodes, "connections": connections, "variables": variables or {}}


def node(node_id: str, node_type: str, **config: Any) -> dict[str, Any]:
    return {"id": node_id, "type": node_type, "config": config}
