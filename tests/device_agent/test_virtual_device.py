"""The virtual device as the real adb server and adbutils see it.

A private adb server (adbutils' bundled binary, on a free port) connects to two
virtual phones of different resolutions; every check goes through adbutils,
as the device agent does. A few pure tests cover the shell and the layout.
"""

import json
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import adbutils
import cv2
import numpy as np
import pytest

from device_agent.virtual_device import (
    LIKE_ICON_DP,
    ConfigError,
    LikeButton,
    VirtualDevice,
    VirtualDeviceConfig,
    like_icon_png,
    protocol,
)
from device_agent.virtual_device.phone import Phone
from device_agent.virtual_device.properties import device_banner
from device_agent.virtual_device.protocol import Message
from device_agent.virtual_device.services import Services
from device_agent.virtual_device.transport import Transport

FEED = "com.instagram.android"
MAIL = "com.google.android.gm"
FORM = "com.tapcraft.forms"
LAUNCHER = "com.android.launcher3"
ADB_TIMEOUT_S = 20
STATE_TIMEOUT_S = 10


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _adb(server_port: int, *args: str) -> None:
    command = [adbutils.adb_path(), "-P", str(server_port), *args]
    subprocess.run(command, check=True, capture_output=True, timeout=ADB_TIMEOUT_S)


def _state(client: adbutils.AdbClient, serial: str) -> str | None:
    states = {info.serial: info.state for info in client.list()}
    return states.get(serial)


def _wait_for_state(
    client: adbutils.AdbClient, serial: str, wanted: set[str | None]
) -> str | None:
    deadline = time.monotonic() + STATE_TIMEOUT_S
    state = _state(client, serial)
    while state not in wanted and time.monotonic() < deadline:
        time.sleep(0.1)
        state = _state(client, serial)
    return state


@pytest.fixture(scope="module")
def adb_client() -> Iterator[adbutils.AdbClient]:
    port = _free_port()
    with pytest.MonkeyPatch.context() as patch:
        # adbutils starts a server by itself if it cannot reach one; the
        # variable keeps any such server on our private port.
        patch.setenv("ANDROID_ADB_SERVER_PORT", str(port))
        _adb(port, "start-server")
        try:
            yield adbutils.AdbClient(host="127.0.0.1", port=port)
        finally:
            _adb(port, "kill-server")


def _connect(client: adbutils.AdbClient, device: VirtualDevice) -> None:
    reply = client.connect(device.address, timeout=ADB_TIMEOUT_S)
    assert "connected" in reply
    assert _wait_for_state(client, device.address, {"device"}) == "device"


@pytest.fixture(scope="module")
def phone(adb_client: adbutils.AdbClient) -> Iterator[VirtualDevice]:
    """A 1080x2400 phone with every app installed."""
    config = VirtualDeviceConfig(width=1080, height=2400, serial_name="VIRT1080")
    with VirtualDevice(config) as device:
        _connect(adb_client, device)
        yield device
        adb_client.disconnect(device.address)


@pytest.fixture(scope="module")
def small_phone(adb_client: adbutils.AdbClient) -> Iterator[VirtualDevice]:
    """A 720x1600 phone without the mail app."""
    config = VirtualDeviceConfig(
        width=720,
        height=1600,
        model="Pixel 6a",
        serial_name="VIRT720",
        not_installed=frozenset({MAIL}),
    )
    with VirtualDevice(config) as device:
        _connect(adb_client, device)
        yield device
        adb_client.disconnect(device.address)


@pytest.fixture
def d(adb_client: adbutils.AdbClient, phone: VirtualDevice) -> adbutils.AdbDevice:
    return adb_client.device(phone.address)


@pytest.fixture
def feed(d: adbutils.AdbDevice, phone: VirtualDevice) -> adbutils.AdbDevice:
    """The big phone with a freshly started feed in front."""
    d.app_stop(FEED)
    d.app_start(FEED)
    phone.clear_inputs()
    return d


def _decode_png(data: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)


def _screen(d: adbutils.AdbDevice) -> np.ndarray:
    return cv2.cvtColor(np.asarray(d.screenshot()), cv2.COLOR_RGB2BGR)


# Connection and identity


def test_connected_phones_are_listed_as_devices(
    adb_client: adbutils.AdbClient, phone: VirtualDevice, small_phone: VirtualDevice
) -> None:
    states = {info.serial: info.state for info in adb_client.list()}
    assert states[phone.address] == "device"
    assert states[small_phone.address] == "device"
    serials = {device.serial for device in adb_client.device_list()}
    assert {phone.address, small_phone.address} <= serials
    big = adb_client.device(phone.address)
    assert big.get_state() == "device"
    assert "shell_v2" in big.get_features()


def test_properties_identify_the_phone(
    adb_client: adbutils.AdbClient, phone: VirtualDevice, small_phone: VirtualDevice
) -> None:
    big = adb_client.device(phone.address)
    small = adb_client.device(small_phone.address)
    assert big.prop.model == "Pixel 7"
    assert small.prop.model == "Pixel 6a"
    assert big.getprop("ro.serialno") == "VIRT1080"
    assert big.getprop("ro.build.version.sdk") == "34"
    assert big.getprop("ro.build.version.release") == "14"
    assert "[ro.product.model]: [Pixel 7]" in big.shell("getprop")


@pytest.mark.parametrize("which", ["phone", "small_phone"])
def test_window_size_matches_resolution(
    adb_client: adbutils.AdbClient, request: pytest.FixtureRequest, which: str
) -> None:
    device: VirtualDevice = request.getfixturevalue(which)
    size = adb_client.device(device.address).window_size()
    assert (size.width, size.height) == (device.config.width, device.config.height)


# Screenshots


@pytest.mark.parametrize("which", ["phone", "small_phone"])
def test_png_screenshot_has_screen_size_and_content(
    adb_client: adbutils.AdbClient, request: pytest.FixtureRequest, which: str
) -> None:
    device: VirtualDevice = request.getfixturevalue(which)
    image = adb_client.device(device.address).screenshot()
    assert image.size == (device.config.width, device.config.height)
    pixels = np.asarray(image)
    assert pixels.std() > 20, "screenshot is flat, probably black"


def test_raw_screencap_and_framebuffer_match_the_png(feed: adbutils.AdbDevice) -> None:
    png = _screen(feed)
    raw = feed.shell("screencap", encoding=None)
    width, height, pixel_format, _colour_space = struct.unpack("<4I", raw[:16])
    assert (width, height, pixel_format) == (1080, 2400, 1)
    rgba = np.frombuffer(raw[16:], np.uint8).reshape(height, width, 4)
    assert np.array_equal(cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGR), png)
    framebuffer = feed.framebuffer()
    assert framebuffer.size == (1080, 2400)
    assert np.array_equal(np.asarray(framebuffer.convert("RGB"))[..., ::-1], png)


# The feed


def test_exported_heart_icon_finds_the_like_button(
    feed: adbutils.AdbDevice, phone: VirtualDevice
) -> None:
    template = _decode_png(phone.like_icon_png())
    scores = cv2.matchTemplate(_screen(feed), template, cv2.TM_CCOEFF_NORMED)
    _, best, _, (x, y) = cv2.minMaxLoc(scores)
    button = phone.like_buttons()[0]
    assert best > 0.99
    assert (x, y) == (button.rect.x, button.rect.y)
    exported = feed.shell("tapcraft-virtual like-icon", encoding=None)
    assert exported == phone.like_icon_png()


def test_tapping_a_like_button_fills_it_and_records_the_post(
    feed: adbutils.AdbDevice, phone: VirtualDevice
) -> None:
    button = phone.like_buttons()[0]
    r = button.rect
    before = _screen(feed)[r.y : r.y2, r.x : r.x2]

    feed.click(*r.center)

    after = _screen(feed)[r.y : r.y2, r.x : r.x2]
    liked = _decode_png(like_icon_png(phone.config.density_scale, liked=True))
    assert not np.array_equal(before, after)
    assert np.array_equal(after, liked)
    tap = phone.inputs("tap")[-1]
    assert (tap.target, tap.target_id, tap.outcome) == (
        "like_button",
        button.post_id,
        "liked",
    )
    assert button.post_id in phone.state()["liked_posts"]


def test_swiping_up_scrolls_to_new_posts_with_their_own_like_buttons(
    feed: adbutils.AdbDevice, phone: VirtualDevice
) -> None:
    before = [button.post_id for button in phone.like_buttons()]

    feed.swipe(540, 1900, 540, 500, 0.2)

    after = phone.like_buttons()
    assert after, "no like button visible after scrolling"
    assert {button.post_id for button in after}.isdisjoint(before)
    swipe = phone.inputs("swipe")[-1]
    assert (swipe.target, swipe.outcome) == ("feed", "scrolled")
    feed.click(*after[0].rect.center)
    assert phone.inputs("tap")[-1].target_id == after[0].post_id


# Other apps


def test_typed_text_lands_in_the_focused_form_field(
    d: adbutils.AdbDevice, phone: VirtualDevice
) -> None:
    d.app_start(FORM)
    email = phone.form_field_rect("email")
    assert email is not None

    d.click(*email.center)
    d.send_keys("ann@example.com")
    d.shell("input text %sok")
    d.keyevent("KEYCODE_DEL")

    values = phone.state()["apps"][FORM]["values"]
    assert values["email"] == "ann@example.com o"
    assert values["name"] == ""
    assert phone.inputs("text")[-1].target_id == "email"


def test_app_start_current_and_stop(
    d: adbutils.AdbDevice, phone: VirtualDevice
) -> None:
    d.app_start(MAIL)
    assert d.app_current().package == MAIL
    d.app_start(FEED, ".activity.MainTabActivity")
    assert d.app_current().package == FEED
    assert d.app_current().activity == f"{FEED}.activity.MainTabActivity"

    d.app_stop(FEED)

    assert d.app_current().package == LAUNCHER
    kinds = [(e.kind, e.target_id, e.outcome) for e in phone.inputs()[-3:]]
    assert kinds == [
        ("launch", MAIL, "launched"),
        ("launch", FEED, "launched"),
        ("stop", FEED, "stopped"),
    ]


def test_packages_are_listed_and_a_missing_app_cannot_start(
    adb_client: adbutils.AdbClient, phone: VirtualDevice, small_phone: VirtualDevice
) -> None:
    big = adb_client.device(phone.address)
    small = adb_client.device(small_phone.address)
    assert {FEED, MAIL, FORM} <= set(big.list_packages())
    assert MAIL not in small.list_packages()
    assert small.app_info(MAIL) is None

    result = small.shell2(
        ["monkey", "-p", MAIL, "-c", "android.intent.category.LAUNCHER", "1"]
    )

    assert result.returncode == 252
    assert "No activities found" in result.output
    assert small.app_current().package == LAUNCHER


def test_unknown_command_fails_with_exit_code_127(d: adbutils.AdbDevice) -> None:
    for v2 in (False, True):
        result = d.shell2("no-such-tool --now", v2=v2)
        assert result.returncode == 127
        assert "no-such-tool: inaccessible or not found" in result.output
    assert d.shell2("true && echo ok || echo no").output == "ok\n"


def test_input_log_is_readable_from_another_process(
    d: adbutils.AdbDevice, phone: VirtualDevice
) -> None:
    d.keyevent("HOME")
    events = json.loads(d.shell("tapcraft-virtual inputs"))
    assert events[-1]["kind"] == "key"
    assert events[-1]["params"]["name"] == "KEYCODE_HOME"
    assert len(events) == len(phone.inputs())


def test_small_files_round_trip_through_sync(
    d: adbutils.AdbDevice, tmp_path: Path
) -> None:
    d.sync.push(b"hello phone", "/sdcard/Download/note.txt")
    target = tmp_path / "note.txt"
    d.sync.pull("/sdcard/Download/note.txt", target)
    assert target.read_bytes() == b"hello phone"
    assert "note.txt" in d.shell("ls /sdcard/Download")


def test_concurrent_streams_do_not_mix_their_output(d: adbutils.AdbDevice) -> None:
    def echo(n: int) -> str:
        return d.shell(f"echo stream-{n}; getprop ro.serialno")

    with ThreadPoolExecutor(max_workers=8) as pool:
        outputs = list(pool.map(echo, range(16)))
        screenshot = pool.submit(d.screenshot)
        assert screenshot.result().size == (1080, 2400)
    assert outputs == [f"stream-{n}\nVIRT1080" for n in range(16)]


# Unplugging


def test_unplugged_phone_goes_away_until_plugged_back(
    adb_client: adbutils.AdbClient,
) -> None:
    with VirtualDevice(VirtualDeviceConfig(width=720, height=1600)) as device:
        _connect(adb_client, device)

        device.disconnect()

        assert (
            _wait_for_state(adb_client, device.address, {"offline", None}) != "device"
        )
        with pytest.raises(adbutils.AdbError):
            adb_client.device(device.address).shell("echo hi", timeout=5)

        device.reconnect()
        adb_client.connect(device.address, timeout=ADB_TIMEOUT_S)
        assert _wait_for_state(adb_client, device.address, {"device"}) == "device"
        assert adb_client.device(device.address).shell("echo hi") == "hi"
        adb_client.disconnect(device.address)


# Without the adb server


class _OldHost:
    """A minimal host speaking protocol version 0x01000000 (checksums required)."""

    def __init__(self, max_payload: int) -> None:
        self.sock, device_side = socket.socketpair()
        self.sock.settimeout(5)
        config = VirtualDeviceConfig()
        services = Services(Phone(config))
        self.transport = Transport(device_side, device_banner(config), services)
        threading.Thread(target=self.transport.serve, daemon=True).start()
        self.send(protocol.A_CNXN, protocol.VERSION_MIN, max_payload, b"host::\0")

    def send(self, command: int, arg0: int, arg1: int, data: bytes = b"") -> None:
        message = Message(command, arg0, arg1, data)
        self.sock.sendall(protocol.encode(message, protocol.VERSION_MIN))

    def receive(self) -> Message:
        # Reading as version 0x01000000 rejects any message without a checksum.
        return protocol.read_message(self.sock, protocol.VERSION_MIN, 1 << 20)


def test_old_hosts_get_checksums_and_their_smaller_payload() -> None:
    host = _OldHost(max_payload=4096)
    hello = host.receive()
    assert (hello.command, hello.arg0, hello.arg1) == (
        protocol.A_CNXN,
        protocol.VERSION_MIN,
        4096,
    )
    assert hello.data.startswith(b"device::ro.product.name=panther;")

    host.send(protocol.A_OPEN, 7, 0, b"shell:getprop; getprop; getprop; getprop\0")
    okay = host.receive()
    assert (okay.command, okay.arg1) == (protocol.A_OKAY, 7)
    chunks = []
    while (message := host.receive()).command == protocol.A_WRTE:
        assert (message.arg0, message.arg1) == (okay.arg0, 7)
        chunks.append(message.data)
        host.send(protocol.A_OKAY, 7, okay.arg0)

    assert message.command == protocol.A_CLSE
    assert len(chunks) > 1 and all(len(chunk) <= 4096 for chunk in chunks)
    assert b"".join(chunks).count(b"[ro.product.model]: [Pixel 7]") == 4
    host.transport.close()


def test_corrupt_checksum_drops_the_connection() -> None:
    host = _OldHost(max_payload=4096)
    host.receive()
    corrupt = bytearray(
        protocol.encode(Message(protocol.A_OPEN, 1, 0, b"shell:id\0"), 0)
    )
    corrupt[16:20] = (12345).to_bytes(4, "little")
    host.sock.sendall(bytes(corrupt))
    assert host.sock.recv(24) == b""


def _first_like_button(width: int, height: int) -> tuple[np.ndarray, LikeButton]:
    phone = Phone(VirtualDeviceConfig(width=width, height=height))
    phone.launch(FEED, source="test")
    return phone.render(), phone.like_buttons()[0]


@pytest.mark.parametrize("width,height", [(720, 1600), (1080, 2400), (1440, 3200)])
def test_layout_scales_with_screen_width(width: int, height: int) -> None:
    frame, button = _first_like_button(width, height)
    _, reference = _first_like_button(1080, 2400)

    scale = width / 1080
    assert frame.shape == (height, width, 3)
    assert button.rect.width == round(LIKE_ICON_DP * width / 360)
    assert abs(button.rect.x - reference.rect.x * scale) <= 1
    assert abs(button.rect.y - reference.rect.y * scale) <= 2


def test_shell_runs_sequences_pipes_and_redirects() -> None:
    runner = Services(Phone(VirtualDeviceConfig())).new_runner()
    assert runner.run("false; echo X4EXIT:$?").stdout() == b"X4EXIT:1\n"
    assert runner.run("getprop | grep -c ro.product.model").stdout() == b"1\n"
    output = runner.run(
        "echo 'a b' > /sdcard/t.txt && cat /sdcard/t.txt; nope 2>/dev/null"
    )
    assert (output.stdout(), output.stderr(), output.exit_code) == (b"a b\n", b"", 127)


def test_emulator_ports_are_refused() -> None:
    for port in (5555, 5585):
        with pytest.raises(ConfigError):
            VirtualDeviceConfig(port=port)
