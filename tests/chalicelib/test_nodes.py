"""Graph validation of `chalicelib.nodes`, without any network."""

from __future__ import annotations

import copy

import pytest

from chalicelib import nodes
from chalicelib.errors import ValidationError
from tests import reference


def node(node_id, node_type, **config):
    return {"id": node_id, "type": node_type, "config": config}


def validate(graph_nodes, connections=(), variables=None):
    return nodes.validate_graph(list(graph_nodes), list(connections), variables or {})


def refused(graph_nodes, connections=(), variables=None) -> str:
    with pytest.raises(ValidationError) as caught:
        validate(graph_nodes, connections, variables)
    return caught.value.details


LIKE_LOOP = [
    node("launch", "app_launch", package_name="com.instagram.android"),
    node("find", "image_detection", target_image="heart_icon.png"),
    node("tap", "click"),
    node("count", "increment_variable", name="like_count"),
    node("enough", "condition", expression="like_count < max_likes"),
    node("scroll", "swipe", direction="up"),
    node("done", "end"),
]
LIKE_WIRES = [
    {"from": "launch", "to": "find"},
    {"from": "find", "to": "tap", "branch": "found"},
    {"from": "find", "to": "scroll", "branch": "not_found"},
    {"from": "tap", "to": "count"},
    {"from": "count", "to": "enough"},
    {"from": "enough", "to": "scroll", "branch": "true"},
    {"from": "enough", "to": "done", "branch": "false"},
    {"from": "scroll", "to": "find"},
]
COUNTERS = {"like_count": 0, "max_likes": 10}


def test_the_reference_graph_is_valid_and_gets_defaults():
    graph = validate(reference.INSTAGRAM_NODES, reference.INSTAGRAM_CONNECTIONS)

    assert graph.start == "node_1"
    assert graph.next_node("node_2", "found") == "node_3"
    assert graph.nodes["node_3"]["config"]["target"] == "detected_element"
    assert graph.nodes["node_1"]["config"]["wait_time"] == 3000


def test_a_bounded_loop_is_accepted():
    graph = validate(LIKE_LOOP, LIKE_WIRES, COUNTERS)

    assert graph.next_node("enough", "false") == "done"


def test_a_loop_without_a_bound_is_refused():
    wires = [w for w in LIKE_WIRES if w["from"] != "enough"] + [
        {"from": "enough", "to": "scroll", "branch": "true"},
        {"from": "enough", "to": "scroll", "branch": "false"},
    ]
    unbounded = [n for n in LIKE_LOOP if n["id"] != "done"]

    details = refused(unbounded, wires, COUNTERS)

    assert "loop that nothing bounds" in details
    assert "scroll" in details


def test_a_loop_whose_condition_reads_no_counter_is_refused():
    wires = copy.deepcopy(LIKE_WIRES)
    loop = copy.deepcopy(LIKE_LOOP)
    loop[4]["config"]["expression"] = "max_likes > 0"

    assert "loop that nothing bounds" in refused(loop, wires, COUNTERS)


@pytest.mark.parametrize(
    ("graph_nodes", "expected"),
    [
        ([node("a", "teleport")], "nodes[0] (a).type: unknown node type 'teleport'"),
        ([node("a", "app_launch")], "nodes[0] (a).config.package_name: is required"),
        (
            [node("a", "app_launch", package_name="not a package")],
            "nodes[0] (a).config.package_name: 'not a package' is not in the expected",
        ),
        (
            [node("a", "image_detection", target_image="x.png", threshold=2)],
            "nodes[0] (a).config.threshold: must be at most 1",
        ),
        (
            [node("a", "image_detection", target_image="x.gif")],
            "nodes[0] (a).config.target_image:",
        ),
        (
            [node("a", "wait", duration=True)],
            "nodes[0] (a).config.duration: must be an",
        ),
        ([node("a", "wait", duration=5, extra=1)], "nodes[0] (a).config.extra: is not"),
        (
            [node("a", "click", target="coordinates")],
            "nodes[0] (a).config.x: is required",
        ),
        ([node("a", "swipe")], "nodes[0] (a).config: needs a direction"),
        ([node("a", "key_event", key="rm -rf")], "nodes[0] (a).config.key:"),
        (
            [node("a", "set_variable", name="ghost", value=1)],
            "nodes[0] (a).config.name: variable 'ghost' is not",
        ),
        (
            [node("a", "condition", expression="__import__('os')")],
            "nodes[0] (a).config.expression:",
        ),
        ([node("a", "wait", duration=1), node("a", "end")], "nodes[1].id: duplicate"),
        ([{"id": "bad id!", "type": "end"}], "nodes[0].id:"),
        ([], "nodes: must be a non-empty list"),
    ],
)
def test_bad_nodes_are_refused_naming_node_and_field(graph_nodes, expected):
    assert refused(graph_nodes).startswith(expected)


def test_connections_must_join_existing_nodes_through_real_branches():
    pair = [node("a", "wait", duration=1), node("b", "end")]

    missing = refused(pair, [{"from": "a", "to": "zzz"}])
    bad_branch = refused(pair, [{"from": "a", "to": "b", "branch": "found"}])
    from_end = refused(pair, [{"from": "b", "to": "a"}])

    assert missing.startswith("connections[0].to: node 'zzz' does not exist")
    assert bad_branch.startswith("connections[0].branch:")
    assert from_end.startswith("connections[0].from: b is an end node")


def test_a_graph_needs_exactly_one_start():
    pair = [node("a", "wait", duration=1), node("b", "wait", duration=1)]

    several = refused(pair)
    none = refused(pair, [{"from": "a", "to": "b"}, {"from": "b", "to": "a"}])

    assert "exactly one start node" in several
    assert "exactly one start node" in none


def test_size_limits():
    many = [node(f"n{i}", "wait", duration=1) for i in range(nodes.MAX_NODES + 1)]
    variables = {f"v{i}": i for i in range(nodes.MAX_VARIABLES + 1)}

    assert refused(many).startswith("nodes: at most")
    assert refused([node("a", "end")], variables=variables).startswith("variables:")
    assert refused([node("a", "end")], variables={"x": "y" * 1001}).startswith(
        "variables.x"
    )


def test_referenced_assets_lists_detection_targets():
    assert nodes.referenced_assets(LIKE_LOOP) == {"heart_icon.png"}
