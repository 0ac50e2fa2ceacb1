"""device_agent.device against virtual phones through the real adb server."""

from __future__ import annotations

import numpy as np
import pytest

from device_agent.device import CAPTURE_METHODS, AdbServer, AndroidDevice
from device_agent.errors import (
    AdbServerError,
    AppNotFoundError,
    CaptureError,
    DeviceDisconnectedError,
    DeviceError,
)
from device_agent.virtual_device import VirtualDevice
from tests.device_agent.conftest import (
    FEED,
    FORM,
    MAIL,
    PhoneFactory,
    attach,
    free_port,
    wait_for_state,
)


@pytest.fixture
def device(adb_server: AdbServer, phone: VirtualDevice) -> AndroidDevice:
    phone.clear_inputs()
    return adb_server.device(phone.address)


@pytest.fixture
def form(device: AndroidDevice, phone: VirtualDevice) -> AndroidDevice:
    device.force_stop(FORM)
    device.launch_app(FORM)
    email = phone.form_field_rect("email")
    assert email is not None
    device.tap(*email.center)
    return device


def _typed(phone: VirtualDevice, field: str) -> str:
    return phone.state()["apps"][FORM]["values"][field]


# Listing


def test_devices_are_listed_with_model_version_and_screen(
    adb_server: AdbServer, phone: VirtualDevice, make_phone: PhoneFactory
) -> None:
    small = make_phone(width=720, height=1600, model="Pixel 6a")

    listed = {info.serial: info for info in adb_server.devices()}

    big = listed[phone.address]
    assert (big.state, big.model, big.android_version) == ("device", "Pixel 7", "14")
    assert (big.screen_width, big.screen_height) == (1080, 2400)
    assert (listed[small.address].model, listed[small.address].screen_width) == (
        "Pixel 6a",
        720,
    )
    assert adb_server.device(small.address).screen_size() == (720, 1600)


def test_an_unreachable_adb_server_is_reported_as_such() -> None:
    nobody = AdbServer("127.0.0.1", free_port())
    with pytest.raises(AdbServerError):
        nobody.device("emulator-5554").tap(1, 1)


# Input


def test_tap_swipe_and_long_press_reach_the_screen(
    device: AndroidDevice, phone: VirtualDevice
) -> None:
    device.launch_app(FEED)
    button = phone.like_buttons()[0]

    device.tap(*button.rect.center)
    device.swipe(540, 1800, 540, 600, 200)
    device.long_press(540, 1200, 700)

    tap, swipe = phone.inputs("tap")[-1], phone.inputs("swipe")[-1]
    assert (tap.target, tap.target_id, tap.outcome) == (
        "like_button",
        button.post_id,
        "liked",
    )
    assert swipe.params == {
        "x1": 540,
        "y1": 1800,
        "x2": 540,
        "y2": 600,
        "duration_ms": 200,
    }
    assert swipe.outcome == "scrolled"
    assert phone.inputs("long_press")[-1].params["duration_ms"] == 700


def test_typed_text_arrives_verbatim_through_the_shell(
    form: AndroidDevice, phone: VirtualDevice
) -> None:
    text = """it's a 50% "deal" & more; $HOME `id` (ok) \\ |x|"""

    form.type_text(text)

    assert _typed(phone, "email") == text


def test_a_newline_in_typed_text_presses_enter(
    form: AndroidDevice, phone: VirtualDevice
) -> None:
    form.type_text("ann@example.com\nhello there")

    assert _typed(phone, "email") == "ann@example.com"
    assert _typed(phone, "message") == "hello there"
    assert [event.kind for event in phone.inputs()[-3:]] == ["text", "key", "text"]


def test_non_ascii_text_is_refused_before_anything_is_typed(
    form: AndroidDevice, phone: VirtualDevice
) -> None:
    with pytest.raises(DeviceError, match="ASCII"):
        form.type_text("café")
    assert phone.inputs("text") == []


def test_key_events_by_name_and_number(
    device: AndroidDevice, phone: VirtualDevice
) -> None:
    device.key_event("KEYCODE_HOME")
    device.key_event("4")

    names = [event.params["name"] for event in phone.inputs("key")]
    assert names == ["KEYCODE_HOME", "KEYCODE_BACK"]
    with pytest.raises(DeviceError):
        device.key_event("HOME; reboot")


# Apps


def test_launch_current_app_and_force_stop(device: AndroidDevice) -> None:
    device.launch_app(MAIL)
    current = device.current_app()
    assert current is not None
    assert current.package == MAIL
    assert current.activity.startswith(MAIL + ".")

    device.force_stop(MAIL)

    current = device.current_app()
    assert current is not None and current.package == "com.android.launcher3"


def test_an_app_that_is_not_installed_raises_app_not_found(
    adb_server: AdbServer, make_phone: PhoneFactory
) -> None:
    small = make_phone(width=720, height=1600, not_installed=frozenset({MAIL}))
    device = adb_server.device(small.address)

    assert MAIL not in device.packages()
    assert FEED in device.packages()
    with pytest.raises(AppNotFoundError, match=MAIL):
        device.launch_app(MAIL)
    with pytest.raises(DeviceError, match="not a package"):
        device.launch_app("com.example; reboot")


# Screenshots


def test_every_capture_method_returns_the_screen_exactly(
    device: AndroidDevice, phone: VirtualDevice
) -> None:
    device.launch_app(FEED)
    expected = phone.screenshot()

    for method in CAPTURE_METHODS:
        frame = device.capture(method)
        assert frame.shape == (2400, 1080, 3)
        assert np.array_equal(frame, expected), method


def test_first_screenshot_picks_the_fastest_working_method(
    adb_server: AdbServer, make_phone: PhoneFactory
) -> None:
    fresh = make_phone(width=720, height=1600)
    device = adb_server.device(fresh.address)

    timings = device.measure_capture_methods()
    frame = device.screenshot()

    assert set(timings) == set(CAPTURE_METHODS)
    assert all(ms is not None and ms > 0 for ms in timings.values())
    assert device.capture_method in CAPTURE_METHODS
    assert np.array_equal(frame, fresh.screenshot())


def test_a_black_screen_is_a_capture_error_not_an_empty_screen(
    adb_server: AdbServer, make_phone: PhoneFactory
) -> None:
    dark = make_phone(width=720, height=1600)
    device = adb_server.device(dark.address)
    device.key_event("KEYCODE_SLEEP")

    with pytest.raises(CaptureError, match="black"):
        device.screenshot()
    for method in CAPTURE_METHODS:
        with pytest.raises(CaptureError):
            device.capture(method)

    device.key_event("KEYCODE_WAKEUP")
    assert device.screenshot().any()


def test_an_unplugged_phone_raises_disconnected_until_plugged_back(
    adb_server: AdbServer, make_phone: PhoneFactory
) -> None:
    loose = make_phone(width=720, height=1600)
    device = adb_server.device(loose.address)
    device.screenshot()

    loose.disconnect()
    assert wait_for_state(adb_server, loose.address, {"offline", None})

    for call in (
        lambda: device.tap(10, 10),
        device.screenshot,
        lambda: device.launch_app(FEED),
    ):
        with pytest.raises(DeviceDisconnectedError):
            call()

    loose.reconnect()
    attach(adb_server, loose)
    device.tap(10, 10)
    assert loose.inputs("tap")[-1].params == {"x": 10, "y": 10}
