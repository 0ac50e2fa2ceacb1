"""device_agent.runtime: graphs run on virtual phones and on an in-memory fake.

The like-loop tests go through the real adb server to a virtual phone and
check what the phone recorded; the rest use the fake phone and a fake clock,
where time only moves when the runtime sleeps or takes a screenshot.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from chalicelib.protocol import JobResult, LogLine
from device_agent.device import AdbServer
from device_agent.errors import DeviceError
from device_agent.runtime import RunHooks, run_script
from device_agent.virtual_device import VirtualDevice, like_icon_png
from tests.device_agent.conftest import FEED, MAIL, PhoneFactory
from tests.device_agent.fakes import FakeClock, FakePhone
from tests.device_agent.scripts import HEART, graph, like_loop_script, node

HEART_AT_1080 = like_icon_png(3.0)
TIMEOUT_MS = 60_000


@dataclass
class Recorder:
    """Collects what a run reports through its hooks."""

    logs: list[LogLine] = field(default_factory=list)
    progress: list[tuple[int, str]] = field(default_factory=list)

    def hooks(self, **overrides: Any) -> RunHooks:
        values = {
            "on_log": self.logs.append,
            "on_progress": lambda percent, step: self.progress.append((percent, step)),
            **overrides,
        }
        return RunHooks(**values)


def _like_taps(phone: VirtualDevice) -> list[str]:
    taps = phone.inputs("tap")
    assert all((t.target, t.outcome) == ("like_button", "liked") for t in taps)
    return [tap.target_id or "" for tap in taps]


# The reference script, looped, on virtual phones


@pytest.mark.parametrize("width,height", [(1080, 2400), (720, 1600)])
def test_like_loop_gives_ten_likes_to_ten_different_posts(
    adb_server: AdbServer, make_phone: PhoneFactory, width: int, height: int
) -> None:
    phone = make_phone(width=width, height=height)
    recorder = Recorder()

    result = run_script(
        like_loop_script(max_likes=10),
        adb_server.device(phone.address),
        assets={HEART: HEART_AT_1080},
        timeout_ms=TIMEOUT_MS,
        hooks=recorder.hooks(),
    )

    assert result.success, result.error_message
    assert result.data_collected == {"like_count": 10, "max_likes": 10}
    liked = _like_taps(phone)
    assert len(liked) == 10
    assert len(set(liked)) == 10
    assert sorted(phone.state()["liked_posts"]) == sorted(liked)
    assert result.actions_executed == result.actions_successful == len(recorder.logs)
    assert result.actions_failed == 0
    detections = [line.message for line in recorder.logs if "found" in line.message]
    assert len(detections) >= 10
    assert all("confidence" in message and " ms" in message for message in detections)
    percents = [percent for percent, _ in recorder.progress]
    assert percents == sorted(percents)
    assert percents[-1] == 100


def test_an_app_that_is_not_installed_ends_the_run_as_app_not_found(
    adb_server: AdbServer, make_phone: PhoneFactory
) -> None:
    phone = make_phone(width=720, height=1600, not_installed=frozenset({FEED}))

    result = run_script(
        like_loop_script(),
        adb_server.device(phone.address),
        assets={HEART: HEART_AT_1080},
        timeout_ms=TIMEOUT_MS,
    )

    assert (result.success, result.error_type) == (False, "app_not_found")
    assert FEED in (result.error_message or "")
    assert (result.actions_executed, result.actions_failed) == (1, 1)


def test_an_image_that_never_appears_ends_as_detection_timeout(
    adb_server: AdbServer, make_phone: PhoneFactory
) -> None:
    phone = make_phone(width=720, height=1600)
    script = graph(
        [
            node("open", "app_launch", package_name=MAIL, wait_time=100),
            node("look", "image_detection", target_image=HEART, timeout=700),
            node("like", "click"),
        ]
    )

    result = run_script(
        script,
        adb_server.device(phone.address),
        assets={HEART: HEART_AT_1080},
        timeout_ms=TIMEOUT_MS,
    )

    assert result.error_type == "detection_timeout"
    assert (result.actions_executed, result.actions_failed) == (2, 1)
    assert phone.inputs("tap") == []


def test_unplugging_the_phone_mid_run_ends_as_device_disconnected(
    adb_server: AdbServer, make_phone: PhoneFactory
) -> None:
    phone = make_phone(width=720, height=1600)

    def unplug_after_second_like(line: LogLine) -> None:
        if "node_4 (increment_variable) done" in line.message and "= 2" in line.message:
            phone.disconnect()

    result = run_script(
        like_loop_script(),
        adb_server.device(phone.address),
        assets={HEART: HEART_AT_1080},
        timeout_ms=TIMEOUT_MS,
        hooks=RunHooks(on_log=unplug_after_second_like),
    )

    assert result.error_type == "device_disconnected"
    assert result.data_collected["like_count"] == 2
    assert len(_like_taps(phone)) == 2
    assert result.actions_failed == 1


def test_a_stop_request_mid_run_ends_as_stopped(
    adb_server: AdbServer, make_phone: PhoneFactory
) -> None:
    phone = make_phone(width=720, height=1600)

    result = run_script(
        like_loop_script(),
        adb_server.device(phone.address),
        assets={HEART: HEART_AT_1080},
        timeout_ms=TIMEOUT_MS,
        hooks=RunHooks(should_stop=lambda: len(phone.inputs("tap")) >= 3),
    )

    assert result.error_type == "stopped"
    assert len(_like_taps(phone)) == 3
    # The stop is seen before the step after the third tap: it is not counted.
    assert result.data_collected["like_count"] == 2
    executed = result.actions_successful + result.actions_failed
    assert result.actions_executed == executed


# Node semantics on the fake phone


def _fake_run(
    script: dict[str, Any],
    phone: FakePhone | None = None,
    *,
    clock: FakeClock | None = None,
    timeout_ms: int = TIMEOUT_MS,
    **options: Any,
) -> tuple[JobResult, FakePhone, Recorder]:
    clock = clock or FakeClock()
    phone = phone or FakePhone(clock=clock)
    recorder = Recorder()
    hooks = recorder.hooks(clock=clock, sleep=clock.sleep, **options.pop("hooks", {}))
    result = run_script(script, phone, timeout_ms=timeout_ms, hooks=hooks, **options)
    return result, phone, recorder


def test_parameters_override_variables_and_only_declared_ones_are_collected() -> None:
    script = graph(
        [
            node("greet", "type_text", text="hi {{ name }}, {{count}} {{vip}}"),
            node("count", "increment_variable", name="count", by=2),
        ],
        variables={"name": "ann", "count": 1, "vip": False},
    )

    result, phone, _ = _fake_run(script, parameters={"name": "bob", "extra": 7})

    assert phone.actions("type_text") == [("hi bob, 1 false",)]
    assert result.data_collected == {"name": "bob", "count": 3, "vip": False}


def test_text_naming_an_unknown_variable_is_an_invalid_script() -> None:
    result, phone, _ = _fake_run(graph([node("t", "type_text", text="{{who}}")]))

    assert result.error_type == "invalid_script"
    assert phone.actions("type_text") == []


def test_swipe_directions_follow_the_screen_size_and_points_are_kept() -> None:
    script = graph(
        [
            node("up", "swipe", direction="up"),
            node("left", "swipe", direction="left", duration=500),
            node("exact", "swipe", x1=10, y1=20, x2=30, y2=40),
        ]
    )

    _, phone, _ = _fake_run(script, FakePhone(width=720, height=1600))

    assert phone.actions("swipe") == [
        (360, 1200, 360, 400, 300),
        (576, 800, 144, 800, 500),
        (10, 20, 30, 40, 300),
    ]


def test_clicks_tap_held_clicks_and_long_presses_press() -> None:
    script = graph(
        [
            node("tap", "click", target="coordinates", x=5, y=6),
            node("hold", "click", target="coordinates", x=7, y=8, duration=400),
            node("press", "long_press", target="coordinates", x=9, y=10),
            node("back", "key_event", key="KEYCODE_BACK"),
        ]
    )

    result, phone, _ = _fake_run(script)

    assert phone.actions("tap") == [(5, 6)]
    assert phone.actions("long_press") == [(7, 8, 400), (9, 10, 1000)]
    assert phone.actions("key_event") == [("KEYCODE_BACK",)]
    assert (result.actions_executed, result.actions_successful) == (4, 4)


def test_a_click_on_the_detected_element_taps_its_centre() -> None:
    phone = FakePhone()
    phone.icon_at = (300, 900)
    script = graph(
        [node("look", "image_detection", target_image=HEART), node("like", "click")]
    )

    result, _, recorder = _fake_run(script, phone, assets={HEART: HEART_AT_1080})

    assert result.success
    assert phone.actions("tap") == [phone.icon_center()]
    assert "confidence 1.000" in recorder.logs[0].message


def test_a_click_with_nothing_detected_is_an_invalid_script() -> None:
    result, phone, _ = _fake_run(graph([node("like", "click")]))

    assert result.error_type == "invalid_script"
    assert phone.actions("tap") == []


def test_not_found_branch_is_taken_after_polling_until_the_timeout() -> None:
    clock = FakeClock()
    script = graph(
        [
            node("look", "image_detection", target_image=HEART, timeout=1000),
            node("like", "click"),
            node("give_up", "key_event", key="KEYCODE_HOME"),
        ],
        connections=[
            {"from": "look", "to": "like", "branch": "found"},
            {"from": "look", "to": "give_up", "branch": "not_found"},
        ],
    )

    result, phone, recorder = _fake_run(
        script, clock=clock, assets={HEART: HEART_AT_1080}
    )

    assert result.success
    assert phone.actions("key_event") == [("KEYCODE_HOME",)]
    screenshots = len(phone.actions("screenshot"))
    assert 4 <= screenshots <= 6
    assert f"not seen in {screenshots} screenshot(s)" in recorder.logs[0].message
    assert clock.now - 1000.0 == pytest.approx(1.0, abs=0.06)


def test_conditions_branch_and_a_failure_end_is_reported_as_script_failed() -> None:
    script = graph(
        [
            node("set", "set_variable", name="mode", value="strict"),
            node("check", "condition", expression="mode == 'strict' and n < 1"),
            node("fail", "end", status="failure"),
            node("pass", "end"),
        ],
        connections=[
            {"from": "set", "to": "check"},
            {"from": "check", "to": "fail", "branch": "true"},
            {"from": "check", "to": "pass", "branch": "false"},
        ],
        variables={"mode": "lax", "n": 0},
    )

    result, _, recorder = _fake_run(script)

    assert (result.success, result.error_type) == (False, "script_failed")
    assert result.data_collected == {"mode": "strict", "n": 0}
    assert (result.actions_executed, result.actions_successful) == (3, 3)
    assert [line.message.split(" in ")[0] for line in recorder.logs] == [
        "set (set_variable) done",
        "check (condition) true",
        "fail (end) failure",
    ]


def test_a_stop_request_cuts_a_long_wait_short() -> None:
    clock = FakeClock()
    script = graph([node("nap", "wait", duration=600_000), node("t", "click")])

    result, phone, _ = _fake_run(
        script, clock=clock, hooks={"should_stop": lambda: clock.now >= 1001.0}
    )

    assert result.error_type == "stopped"
    assert clock.now - 1000.0 == pytest.approx(1.0, abs=0.11)
    assert (result.actions_executed, result.actions_failed) == (1, 1)
    assert phone.calls == []


def test_the_job_deadline_ends_the_run_as_timeout() -> None:
    clock = FakeClock()
    script = graph([node("nap", "wait", duration=10_000)])

    result, _, _ = _fake_run(script, clock=clock, timeout_ms=2000)

    assert result.error_type == "timeout"
    assert clock.now - 1000.0 == pytest.approx(2.0, abs=0.11)


def test_a_graph_the_api_would_refuse_does_not_touch_the_phone() -> None:
    looping = graph(
        [node("a", "swipe", direction="up"), node("b", "swipe", direction="down")],
        connections=[{"from": "a", "to": "b"}, {"from": "b", "to": "a"}],
    )
    missing_asset = graph([node("look", "image_detection", target_image=HEART)])

    for script in (looping, missing_asset):
        result, phone, _ = _fake_run(script)
        assert result.error_type == "invalid_script"
        assert result.actions_executed == 0
        assert phone.calls == []


def test_a_device_failure_mid_run_keeps_exact_counts() -> None:
    class Flaky(FakePhone):
        def swipe(self, *args: int) -> None:
            raise DeviceError("input swipe failed (1): Error")

    flaky = Flaky()
    script = graph(
        [
            node("a", "key_event", key="4"),
            node("b", "swipe", direction="up"),
            node("c", "key_event", key="3"),
        ]
    )

    result, _, recorder = _fake_run(script, flaky)

    assert (result.error_type, result.error_message) == (
        "device_error",
        "input swipe failed (1): Error",
    )
    assert (
        result.actions_executed,
        result.actions_successful,
        result.actions_failed,
    ) == (2, 1, 1)
    assert recorder.logs[-1].level == "error"
    assert flaky.actions("key_event") == [("4",)]


def test_progress_follows_the_loop_counter_once_the_loop_is_reached() -> None:
    phone = FakePhone()
    phone.icon_at = (100, 700)

    result, _, recorder = _fake_run(
        like_loop_script(max_likes=4), phone, assets={HEART: HEART_AT_1080}
    )

    assert result.data_collected["like_count"] == 4
    percents = [percent for percent, _ in recorder.progress]
    assert percents == sorted(percents)
    assert percents[:4] == [14, 28, 42, 57]
    at_condition = [p for p, step in recorder.progress if step.startswith("node_5")]
    assert at_condition == sorted(set(at_condition))
    assert len(at_condition) == 4
    assert percents[-2:] == [99, 100]
