import struct

import pytest

from raveforce.synth import osc


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


def test_frames_encode_rows_of_templates_as_framed_messages():
    """Frames fills a row of templates per row of ints, as the messages one by one would be framed."""
    s_new = osc.Template("/s_new", "drum", None, 0, 1, "out", None, "buf", 2.0)
    n_set = osc.Template("/n_set", None, "out", None)
    frames = osc.Frames(s_new, n_set)
    rows = [[1001, 7, 1002, 0], [-5, 2**31 - 1, 0, -(2**31)]]
    want = osc.framed([s_new(1001, 7), n_set(1002, 0), s_new(-5, 2**31 - 1), n_set(0, -(2**31))])
    assert frames(rows) == want
    assert frames([]) == b""
    entry = osc.score_entry(5, [osc.message("/error", -1)], want)
    assert entry == osc.score_entry(5, [osc.message("/error", -1), s_new(1001, 7), n_set(1002, 0), s_new(-5, 2**31 - 1), n_set(0, -(2**31))])
    with pytest.raises(ValueError):
        frames([1, 2, 3])  # not a whole row
    with pytest.raises(OverflowError, match="2147483648"):
        frames([[1, 2, 3, 2**31]])
