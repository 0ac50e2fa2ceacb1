"""Screen capture formats: PNG, raw ``screencap`` and the ``framebuffer:`` service.

Raw ``screencap`` output is a 16-byte header of little-endian 32-bit words
(width, height, pixel format 1 = RGBA_8888, colour space 1 = sRGB), as written
by Android 10 and later, followed by the RGBA pixels row by row. Android 9 and
older wrote only the first three words; clients that read 12 bytes and then
``width * height * 4`` pixel bytes from the end still work.

The framebuffer service sends header version 2: version, bits per pixel,
colour space, size, width, height, then offset and length of red, blue, green
and alpha, followed by the same RGBA pixels.
"""

import struct

import cv2
import numpy as np

from .errors import VirtualDeviceError

PIXEL_FORMAT_RGBA_8888 = 1
COLOR_SPACE_SRGB = 1
FRAMEBUFFER_VERSION = 2
_PNG_COMPRESSION = 1


def png_bytes(frame: np.ndarray) -> bytes:
    """Encode a BGR frame as PNG (fast compression, as screencap does)."""
    ok, encoded = cv2.imencode(
        ".png", frame, [cv2.IMWRITE_PNG_COMPRESSION, _PNG_COMPRESSION]
    )
    if not ok:
        raise VirtualDeviceError("PNG encoding of the screen failed")
    return encoded.tobytes()


def rgba_bytes(frame: np.ndarray) -> bytes:
    return cv2.cvtColor(frame, cv2.COLOR_BGR2RGBA).tobytes()


def raw_screencap(frame: np.ndarray) -> bytes:
    height, width = frame.shape[:2]
    header = struct.pack("<4I", width, height, PIXEL_FORMAT_RGBA_8888, COLOR_SPACE_SRGB)
    return header + rgba_bytes(frame)


def framebuffer(frame: np.ndarray) -> bytes:
    height, width = frame.shape[:2]
    pixels = rgba_bytes(frame)
    header = struct.pack(
        "<14I",
        FRAMEBUFFER_VERSION,
        32,
        COLOR_SPACE_SRGB,
        len(pixels),
        width,
        height,
        0,
        8,
        16,
        8,
        8,
        8,
        24,
        8,
    )
    return header + pixels
