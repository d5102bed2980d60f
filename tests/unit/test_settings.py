"""Settings, TimeZone specs, PostgreSQL's calendar and client_encoding frames, without sockets.

Expected texts are what PostgreSQL 15 answers (SHOW after SET, and the text
of values); tests/integration/test_session_settings.py compares the same
things with a live PostgreSQL through the proxy.
"""

from __future__ import annotations

import random
import struct
from datetime import UTC, date, datetime

import pytest

from pgproxy import errors
from pgproxy import pgtypes as t
from pgproxy.settings import Settings
from pgproxy.timezones import resolve
from pgproxy.types import TEXT, Style, decode, decoder, encode
from pgproxy.types import pgcalendar as cal
from pgproxy.types.intervals import interval_str
from pgproxy.wire import encoding
from pgproxy.wire import messages as m


@pytest.mark.parametrize(("value", "shown", "utc_noon_at"), [
    ("+02:00", "+02:00", "2000-01-01 10:00:00-02"),  # POSIX: two hours west
    ("UTC+2", "UTC+2", "2000-01-01 10:00:00-02"),
    ("<+03>-3", "<+03>-3", "2000-01-01 15:00:00+03"),
    ("-05", "<-05>+05", "2000-01-01 07:00:00-05"),  # a number: SQL's sign
    ("2.5", "<+02:30>-02:30", "2000-01-01 14:30:00+02:30"),
    ("interval, -08:00, hour, to, minute", "<-08>+08", "2000-01-01 04:00:00-08"),
    ("europe/rome", "Europe/Rome", "2000-01-01 13:00:00+01"),
    ("CET-1CEST", "CET-1CEST", "2000-01-01 13:00:00+01"),
    ("gmt", "GMT", "2000-01-01 12:00:00+00"),
])
def test_timezone_values(value, shown, utc_noon_at):
    s = Settings({"TimeZone": value})
    assert s.get("TimeZone") == shown
    noon = datetime(2000, 1, 1, 12, tzinfo=UTC)
    assert encode(noon, t.TIMESTAMPTZ, TEXT, s.style()) == utc_noon_at.encode()


@pytest.mark.parametrize("value", ["Z", "Mars/Base", "", ":UTC", "UTC+200"])
def test_invalid_timezones(value):
    with pytest.raises(errors.InvalidParameterValue):
        resolve(value)


def test_dst_in_summer_and_winter():
    s = Settings({"TimeZone": "Europe/Rome", "DateStyle": "SQL, DMY"}).style()
    summer, winter = datetime(2024, 7, 1, tzinfo=UTC), datetime(2024, 1, 1, tzinfo=UTC)
    assert encode(summer, t.TIMESTAMPTZ, TEXT, s) == b"01/07/2024 02:00:00 CEST"
    assert encode(winter, t.TIMESTAMPTZ, TEXT, s) == b"01/01/2024 01:00:00 CET"


def test_arrays_of_dates_follow_the_style():
    s = Settings({"TimeZone": "Europe/Rome", "DateStyle": "SQL, DMY"}).style()
    summer = datetime(2024, 7, 1, tzinfo=UTC)
    assert encode([summer, None], t.TIMESTAMPTZ_ARRAY, TEXT, s) == (
        b'{"01/07/2024 02:00:00 CEST",NULL}')
    assert encode([summer.date()], t.DATE_ARRAY, TEXT, s) == b"{01/07/2024}"


@pytest.mark.parametrize(("sets", "shown"), [
    (["SQL, DMY"], "SQL, DMY"),
    (["SQL, DMY", "ISO"], "ISO, DMY"),  # what is not given stays
    (["German"], "German, DMY"),
    (["ymd"], "ISO, YMD"),
    (["Postgres", "euro"], "Postgres, DMY"),
    (["SQL, DMY", "DEFAULT"], "ISO, MDY"),
])
def test_datestyle_values(sets, shown):
    s = Settings({})
    for value in sets:
        s.set("DateStyle", value)
    assert s.get("DateStyle") == shown


def test_datestyle_conflict_and_garbage():
    s = Settings({})
    for bad in ("ISO, German", "MDY, DMY", "Mayan"):
        with pytest.raises(errors.InvalidParameterValue):
            s.set("DateStyle", bad)


def test_unknown_setting_and_driver_defaults():
    s = Settings({})
    with pytest.raises(errors.UndefinedObject):
        s.get("no_such_setting")
    assert s.get("escape_string_warning") == "on"
    assert s.get("max_prepared_transactions") == "0"
    with pytest.raises(errors.CantChangeRuntimeParam):
        s.set("max_prepared_transactions", "5")
    s.set("statement_timeout", "90s")
    assert (s.get("statement_timeout"), s.statement_timeout_ms()) == ("90s", 90_000)


# ---------------------------------------------------------------- the calendar


def test_julian_days_match_python_where_python_reaches():
    rnd = random.Random(7)
    for _ in range(2000):
        d = date.fromordinal(rnd.randint(1, date.max.toordinal()))
        j = cal.date2j(d.year, d.month, d.day)
        assert j - cal.EPOCH_JDATE == d.toordinal() - date(2000, 1, 1).toordinal()
        assert cal.j2date(j) == (d.year, d.month, d.day)


@pytest.mark.parametrize(("text", "iso"), [
    ("0044-03-15 BC", b"0044-03-15 BC"),
    ("10000-01-01", b"10000-01-01"),
    ("4713-11-24 BC", b"4713-11-24 BC"),
    ("5874897-12-31", b"5874897-12-31"),
])
def test_dates_beyond_python(text, iso):
    value = decode(text.encode(), t.DATE)
    assert value == iso.decode()  # bound as PostgreSQL's text
    assert encode(value, t.DATE) == iso
    days = cal.parse(text).days
    assert encode(value, t.DATE, 1) == struct.pack("!i", days)
    assert decode(struct.pack("!i", days), t.DATE, 1) == iso.decode()


def test_dates_out_of_postgresql_range():
    with pytest.raises(errors.DatetimeFieldOverflow):
        decode(b"5874898-01-01", t.DATE)
    with pytest.raises(errors.DatetimeFieldOverflow):
        decode(b"2024-02-30", t.DATE)


@pytest.mark.parametrize(("style", "text"), [
    (Style(order="DMY"), "2024-02-01"), (Style(order="MDY"), "2024-01-02"),
    (Style(order="YMD"), "2001-02-24"),
])
def test_ambiguous_input_follows_datestyle(style, text):
    assert str(decoder(t.DATE, TEXT, style)(b"01/02/24")) == text


@pytest.mark.parametrize(("style", "texts"), [
    ("sql_standard", ["+1-2 +3 +4:05:06.5", "-1-2", "+0-0 +1 -1:00:00", "-3 0:00:00", "0"]),
    ("iso_8601", ["P1Y2M3DT4H5M6.5S", "P-1Y-2M", "P1DT-1H", "P-3D", "PT0S"]),
    ("postgres_verbose", ["@ 1 year 2 mons 3 days 4 hours 5 mins 6.5 secs",
                          "@ 1 year 2 mons ago", "@ 1 day -1 hours", "@ 3 days ago", "@ 0"]),
])
def test_interval_styles(style, texts):
    values = [(14, 3, 14_706_500_000), (-14, 0, 0), (0, 1, -3_600_000_000), (0, -3, 0), (0, 0, 0)]
    assert [interval_str(*v, style) for v in values] == texts


# ---------------------------------------------------------------- client_encoding


def test_encoding_names():
    assert encoding.canonical("latin-1") == "LATIN1"
    assert encoding.canonical("Windows-1252") == "WIN1252"
    assert encoding.canonical("shift_jis") == "SJIS"
    assert encoding.canonical("unicode") == "UTF8"
    assert encoding.lookup("UTF8") is None and encoding.lookup("SQL_ASCII") is None
    with pytest.raises(errors.InvalidParameterValue):
        encoding.canonical("mule_internal")


def test_rows_convert_text_columns_and_leave_binary_ones():
    enc = encoding.lookup("LATIN1")
    assert enc is not None
    binary_int = struct.pack("!i", 0xC3A9)  # bytes that look like UTF-8 'é'
    row = m.data_row(["é".encode(), binary_int, None])
    out = encoding.rows_out(enc, row + m.command_complete("SELECT 1"), [True, False, True])
    assert out == m.data_row([b"\xe9", binary_int, None]) + m.command_complete("SELECT 1")
    with pytest.raises(errors.UntranslatableCharacter) as info:
        encoding.rows_out(enc, m.data_row(["€".encode()]), [True])
    assert "0xe2 0x82 0xac" in info.value.message and '"LATIN1"' in info.value.message


def test_queries_and_names_convert():
    enc = encoding.lookup("WIN1252")
    assert enc is not None
    parse = b"s1\0select '\x80'\0" + struct.pack("!hi", 1, 25)
    assert encoding.query_in(enc, b"P", parse) == (
        b"s1\0select '" + "€".encode() + b"'\0" + struct.pack("!hi", 1, 25)
    )
    desc = m.row_description([("nämé", 0, 0, 25, -1, -1)], [0])
    out = encoding.row_description_out(enc, desc)
    assert out[7:].startswith(b"n\xe4m\xe9\0") and out[-18:] == desc[-18:]
    assert struct.unpack("!i", out[1:5])[0] == len(out) - 1
    with pytest.raises(errors.UntranslatableCharacter):
        encoding.lookup("WIN1252").to_server(b"\x81")  # type: ignore[union-attr]
    with pytest.raises(errors.CharacterNotInRepertoire):
        encoding.lookup("EUC_JP").to_server(b"\xff\xfe")  # type: ignore[union-attr]


def test_rollback_undoes_set_and_commit_keeps_it():
    s = Settings({})
    s.set("DateStyle", "German", in_transaction=True)
    s.set("TimeZone", "Asia/Tokyo", local=True)
    s.end_transaction(commit=False)
    assert (s.get("DateStyle"), s.get("TimeZone")) == ("ISO, MDY", "UTC")
    s.set("DateStyle", "German", in_transaction=True)
    s.set("TimeZone", "Asia/Tokyo", local=True)
    s.end_transaction(commit=True)
    assert (s.get("DateStyle"), s.get("TimeZone")) == ("German, DMY", "UTC")
    assert ("DateStyle", "German, DMY") in s.changed()


def test_sql_standard_interval_input_signs_every_field():
    from datetime import timedelta

    read = decoder(t.INTERVAL, TEXT, Style(interval="sql_standard"))
    assert read(b"-1 2:03:04") == -timedelta(days=1, hours=2, minutes=3, seconds=4)
    assert read(b"1 2:03:04") == timedelta(days=1, hours=2, minutes=3, seconds=4)


def test_reset_returns_to_the_startup_value():
    s = Settings({"DateStyle": "SQL, DMY"})
    s.set("DateStyle", "German")
    s.set("DateStyle", None)
    assert s.get("DateStyle") == "SQL, DMY"
    s.set("TimeZone", "Asia/Tokyo")
    s.reset_all()
    assert (s.get("TimeZone"), s.get("DateStyle")) == ("UTC", "SQL, DMY")
    s.set("default_transaction_isolation", "serializable")
    assert s.get("transaction_isolation") == "serializable"


def test_the_version_changes_with_every_value_and_only_then():
    """What the statement path reads once per change (client_encoding, pgproxy.branch,
    the idle timeouts, ParameterStatus) is read again when, and only when, it moves."""
    s = Settings({"application_name": "a"})
    v = s.version
    s.get("client_encoding")
    s.style()
    assert s.version == v  # reading changes nothing
    s.set("client_encoding", "LATIN1")
    assert s.version == v + 1
    s.set("idle_session_timeout", "5s", in_transaction=True)
    s.end_transaction(commit=False)  # the rollback restores it: a change too
    assert s.version == v + 3
    assert s.timeout_ms("idle_session_timeout") == 0
    s.set("pgproxy.branch", None)  # RESET of a value never set
    assert s.version == v + 4
    assert s.copy().version == s.version
