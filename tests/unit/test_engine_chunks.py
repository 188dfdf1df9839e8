"""Partial audio over the engine pipe: the ``chunk`` event's pcm16 encoding and the client's parsing."""

from __future__ import annotations

import numpy as np
import pytest

from engine.protocol import PROTOCOL_VERSION, ProtocolError, pcm16_decode, pcm16_encode
from studio.render.engine_events import parse_chunk


def test_pcm16_round_trip_is_within_one_step_and_clips() -> None:
    samples = np.array([0.0, 0.5, -0.5, 1.0, -1.0, 2.0, -3.0], np.float32)
    back = pcm16_decode(pcm16_encode(samples))
    assert back.dtype == np.float32 and back.shape == samples.shape
    assert np.allclose(back, np.clip(samples, -1, 1), atol=1 / 32767)
    assert pcm16_decode(pcm16_encode(np.zeros(0, np.float32))).size == 0
    assert PROTOCOL_VERSION == 3


def test_parse_chunk_accepts_a_good_event_and_names_what_is_wrong() -> None:
    good = {"type": "chunk", "job_id": "a", "seq": 2, "sample_rate": 24000, "pcm16": pcm16_encode(np.ones(4))}
    chunk = parse_chunk(good)
    assert (chunk.job_id, chunk.seq, chunk.sample_rate) == ("a", 2, 24000)
    assert np.allclose(chunk.samples, 1.0)
    for change, words in (
        ({"job_id": ""}, "job_id"),
        ({"seq": -1}, "seq"),
        ({"seq": True}, "seq"),
        ({"sample_rate": 0}, "sample_rate"),
        ({"pcm16": 5}, "base64"),
        ({"pcm16": "not base64!"}, "base64"),
        ({"pcm16": "AA=="}, "odd"),
    ):
        with pytest.raises(ProtocolError, match=words):
            parse_chunk({**good, **change})
