"""A timestamp column's stored text goes out as it is when it is already timestamp_out's
ISO text, fraction included; anything else is read and written as PostgreSQL writes it."""

from __future__ import annotations

import pytest

from pgproxy import pgtypes
from pgproxy.types.datetimes import timestamp_text
from pgproxy.types.rows import row_encoder

CASES = [
    ("2024-01-02 03:04:05", "2024-01-02 03:04:05"),
    ("2024-01-02 03:04:05.123456", "2024-01-02 03:04:05.123456"),
    ("2024-01-02 03:04:05.5", "2024-01-02 03:04:05.5"),
    ("2024-01-02 03:04:05.120000", "2024-01-02 03:04:05.12"),  # trailing zeros trimmed
    ("2024-01-02 03:04:05.000000", "2024-01-02 03:04:05"),
    ("2024-01-02T03:04:05.25", "2024-01-02 03:04:05.25"),
    ("2024-01-02 03:04:05.12+02", "2024-01-02 03:04:05.12"),  # a zone: not a timestamp's
    (" 2024-01-02 03:04:05.1", "2024-01-02 03:04:05.1"),
    ("infinity", "infinity"),
]


@pytest.mark.parametrize(("stored", "sent"), CASES)
def test_value_encoder(stored: str, sent: str) -> None:
    assert timestamp_text(stored) == sent.encode()


def test_row_encoder_agrees_with_the_value_encoder() -> None:
    encode = row_encoder([pgtypes.TIMESTAMP], [0])
    for stored, sent in CASES:
        data = encode([(stored,)])
        assert data.endswith(sent.encode()) and data[-len(sent) - 4:-len(sent)] == \
            len(sent).to_bytes(4, "big")
