import struct

import pytest

from raveforce import osc


def test_message_round_trip():
    data = osc.message("/s_new", "drum", 1001, 0, 1, "out", 0, "buf", 2.0, b"\x01\x02\x03")
    assert len(data) % 4 == 0
    assert osc.parse_message(data) == ("/s_new", ["drum", 1001, 0, 1, "out", 0, "buf", 2.0, b"\x01\x02\x03"])


def test_bundle_and_score_framing():
    msg = osc.message("/g_freeAll", 1)
    entry = osc.score_entry(0x1_0000_0001, [msg])
    (size,) = struct.unpack(">i", entry[:4])
    assert size == len(entry) - 4
    assert entry[4:12] == b"#bundle\x00"
    assert struct.unpack(">Q", entry[12:20])[0] == 0x1_0000_0001
    assert struct.unpack(">i", entry[20:24])[0] == len(msg)
    assert entry[24:] == msg


@pytest.mark.parametrize("bad", [True, None, [1], 1j])
def test_message_rejects_unencodable_arguments(bad):
    with pytest.raises(TypeError, match="OSC argument"):
        osc.message("/x", bad)


def test_parse_rejects_unknown_tags():
    data = osc.message("/x", 1).replace(b",i", b",q")
    with pytest.raises(ValueError, match="'q'"):
        osc.parse_message(data)


@pytest.mark.parametrize("values", [[], [1001], [1, 2, 3], [5, -6, 7, 8], list(range(1000, 1100))])
def test_int_message_equals_message(values):
    assert osc.int_message("/n_free", values) == osc.message("/n_free", *values)
