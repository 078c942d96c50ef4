"""Open Sound Control encoding: messages, bundles and scsynth's NRT score framing.

Pure functions, no sockets. Time tags are raw 64-bit OSC units (seconds * 2**32),
which is the clock scsynth's non-real-time mode runs on.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence

import numpy as np

OSC_UNITS_PER_SECOND = 1 << 32

_BUNDLE_HEAD = b"#bundle\x00"


def _pad(data: bytes) -> bytes:
    """Null-terminated and padded to a multiple of 4 bytes (OSC strings)."""
    return data + b"\x00" * (4 - len(data) % 4)


def _blob(data: bytes) -> bytes:
    return struct.pack(">i", len(data)) + data + b"\x00" * (-len(data) % 4)


def _encode(arg: int | float | str | bytes) -> tuple[str, bytes]:
    """One argument's type tag and bytes."""
    if isinstance(arg, bool) or not isinstance(arg, (int, float, str, bytes)):
        raise TypeError(f"OSC argument {arg!r} of type {type(arg).__name__} is not int, float, str or bytes")
    if isinstance(arg, int):
        return "i", _INT.pack(arg)
    if isinstance(arg, float):
        return "f", _FLOAT.pack(arg)
    if isinstance(arg, str):
        return "s", _pad(arg.encode())
    return "b", _blob(arg)


def message(address: str, *args: int | float | str | bytes) -> bytes:
    """One OSC message: `args` are int32 (int), float32 (float), string (str) or blob (bytes)."""
    encoded = [_encode(arg) for arg in args]
    tags = "," + "".join(tag for tag, _ in encoded)
    return _pad(address.encode()) + _pad(tags.encode()) + b"".join(data for _, data in encoded)


def int_message(address: str, values: Sequence[int]) -> bytes:
    """``message(address, *values)`` for int32 values, encoded in one call (~15x faster for 100).

    >>> int_message("/n_free", [1001, 1002]) == message("/n_free", 1001, 1002)
    True
    """
    return _pad(address.encode()) + _pad(b"," + b"i" * len(values)) + struct.pack(f">{len(values)}i", *values)


class Template:
    """A message whose int32 arguments given as None are filled in per call (fast, for hot paths).

    >>> Template("/n_set", None, "out", None)(1001, 0) == message("/n_set", 1001, "out", 0)
    True
    """

    def __init__(self, address: str, *args: int | float | str | bytes | None) -> None:
        filled = [0 if a is None else a for a in args]
        data = message(address, *filled)
        pos = len(data) - sum(len(_encode(a)[1]) for a in filled)  # where the arguments begin
        slots = []
        for original, arg in zip(args, filled):
            if original is None:
                slots.append(pos)
            pos += len(_encode(arg)[1])
        bounds = zip([0, *(slot + 4 for slot in slots)], [*slots, len(data)])
        self._pieces = [data[a:b] for a, b in bounds]

    def slots(self) -> list[int]:
        """Byte offsets of the int32 arguments filled per call, in the encoded message."""
        offsets, pos = [], len(self._pieces[0])
        for piece in self._pieces[1:]:
            offsets.append(pos)
            pos += 4 + len(piece)
        return offsets

    def __call__(self, *ints: int) -> bytes:
        if len(ints) != len(self._pieces) - 1:
            raise TypeError(f"this template takes {len(self._pieces) - 1} ints, got {len(ints)}")
        parts = [self._pieces[0]]
        for value, piece in zip(ints, self._pieces[1:]):
            parts += (_INT.pack(value), piece)
        return b"".join(parts)


_INT = struct.Struct(">i")
_FLOAT = struct.Struct(">f")


class Frames:
    """Many messages of a few Templates, encoded as a bundle's elements (each after its int32 size)
    in one numpy call: a row of ints fills one message of each template, in order.

    >>> Frames(Template("/n_set", None, "out", None))([[1001, 0], [1002, 1]]) == (
    ...     framed([message("/n_set", 1001, "out", 0), message("/n_set", 1002, "out", 1)]))
    True
    """

    def __init__(self, *templates: Template) -> None:
        row, slots = b"", []
        for template in templates:
            data = template(*[0] * len(template.slots()))
            slots += [len(row) + 4 + offset for offset in template.slots()]
            row += _INT.pack(len(data)) + data
        self._row = np.frombuffer(row, dtype=">i4")  # OSC pads everything to 4 bytes
        self._slots = np.array(slots) // 4
        self.width = len(slots)

    def __call__(self, ints) -> bytes:
        """Rows of ints, (rows, width) or flat -> the rows' messages, framed, one row after another."""
        ints = np.asarray(ints).reshape(-1, self.width)
        if ints.size and not (-(2**31) <= ints.min() and ints.max() < 2**31):
            raise OverflowError(f"OSC int32 arguments from {ints.min()} to {ints.max()} do not fit in 32 bits")
        rows = np.empty((len(ints), len(self._row)), dtype=">i4")
        rows[:] = self._row
        rows[:, self._slots] = ints
        return rows.tobytes()


def framed(messages: Iterable[bytes]) -> bytes:
    """Encoded messages as a bundle's elements: each after its int32 size."""
    parts = []
    for msg in messages:
        parts.append(_INT.pack(len(msg)))
        parts.append(msg)
    return b"".join(parts)


def bundle(time_tag: int, messages: Iterable[bytes], elements: bytes = b"") -> bytes:
    """An OSC bundle of encoded messages at a raw 64-bit time tag, then `elements` already framed
    (`framed`, `Frames`)."""
    return _BUNDLE_HEAD + struct.pack(">Q", time_tag) + framed(messages) + elements


def score_entry(time_tag: int, messages: Sequence[bytes], elements: bytes = b"") -> bytes:
    """A bundle framed as scsynth's NRT command file wants it: a big-endian int32 length first."""
    data = bundle(time_tag, messages, elements)
    return _INT.pack(len(data)) + data


def parse_message(data: bytes) -> tuple[str, list[int | float | str | bytes]]:
    """Decode one OSC message (int32, float32, string and blob arguments).

    Raises ValueError (only) for data that is not one well-formed message of those types.
    """
    try:
        return _parse_message(data)
    except (struct.error, IndexError, UnicodeDecodeError) as exc:
        raise ValueError(f"malformed OSC message ({len(data)} bytes): {exc}") from exc


def _parse_message(data: bytes) -> tuple[str, list[int | float | str | bytes]]:
    def read_string(pos: int) -> tuple[str, int]:
        end = data.index(b"\x00", pos)
        return data[pos:end].decode(), (end + 4) & ~3

    address, pos = read_string(0)
    tags, pos = read_string(pos)
    if not tags.startswith(","):
        raise ValueError(f"OSC message {address!r} has no type tag string")
    args: list[int | float | str | bytes] = []
    for tag in tags[1:]:
        if tag == "i":
            args.append(struct.unpack_from(">i", data, pos)[0])
            pos += 4
        elif tag == "f":
            args.append(struct.unpack_from(">f", data, pos)[0])
            pos += 4
        elif tag == "s":
            text, pos = read_string(pos)
            args.append(text)
        elif tag == "b":
            (size,) = struct.unpack_from(">i", data, pos)
            if not 0 <= size <= len(data) - pos - 4:
                raise ValueError(f"OSC blob of {size} bytes in {address!r} does not fit in the message")
            args.append(data[pos + 4 : pos + 4 + size])
            pos += 4 + size + (-size % 4)
        else:
            raise ValueError(f"OSC type tag {tag!r} in {address!r} is not one of 'i', 'f', 's', 'b'")
    return address, args
