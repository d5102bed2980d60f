"""Codecs for inet and cidr: PostgreSQL's output text (a host without its /32 or /128 in inet,
an IPv4-mapped IPv6 address with its IPv4 tail) and the binary family/bits/is_cidr/address form.

Backends hold these values as that output text, so equal addresses compare equal whichever
spelling or format the client sent."""

from __future__ import annotations

import ipaddress
from typing import Any

from pgproxy import pgtypes
from pgproxy.errors import InvalidBinaryRepresentation, InvalidTextRepresentation

from .registry import PYTYPE_TEXT, register
from .strings import text_decode

_AF_INET = 2  # PGSQL_AF_INET
_AF_INET6 = 3  # PGSQL_AF_INET6 (AF_INET + 1)

Interface = ipaddress.IPv4Interface | ipaddress.IPv6Interface


def _address_text(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """inet_net_ntop's spelling: an IPv6 address whose first 80 bits are zero and whose next
    16 are all ones (or zero, for a non-trivial tail) ends with the IPv4 dotted quad."""
    if address.version == 4:
        return str(address)
    packed = address.packed
    tail = ipaddress.IPv4Address(packed[12:])
    if packed[:10] == bytes(10) and packed[10:12] == b"\xff\xff":
        return f"::ffff:{tail}"
    if packed[:12] == bytes(12) and packed[12:14] != bytes(2):
        return f"::{tail}"
    return str(address)


def _parse(text: str, cidr: bool, name: str) -> Interface:
    text = text.strip()
    address, slash, bits = text.partition("/")
    octets = address.split(".")
    if cidr and 1 <= len(octets) < 4 and all(o.isdigit() for o in octets):
        address = ".".join(octets + ["0"] * (4 - len(octets)))  # cidr's '10.1' is 10.1.0.0
    try:
        value = ipaddress.ip_interface(address + slash + bits)
    except ValueError:
        raise InvalidTextRepresentation(
            f'invalid input syntax for type {name}: "{text}"'
        ) from None
    if cidr and not slash and value.version == 4:
        # cidr without a mask takes the classful one PostgreSQL still applies to IPv4
        value = ipaddress.ip_interface(f"{value.ip}/{_classful_bits(value.ip.packed)}")
    if cidr and value.ip != value.network.network_address:
        raise InvalidTextRepresentation(
            f'invalid cidr value: "{text}"', detail="Value has bits set to right of mask."
        )
    return value


def _classful_bits(packed: bytes) -> int:
    """The mask a maskless IPv4 cidr gets: by class, widened to cover the octets written."""
    first = packed[0]
    bits = 32 if first >= 240 else 24 if first >= 192 else 16 if first >= 128 else 8
    if first == 0:
        bits = 0
    while bits < 32 and any(packed[bits // 8 :]):
        bits += 8
    return bits


def _text(value: Interface, cidr: bool) -> str:
    bits = value.network.prefixlen
    address = _address_text(value.ip)
    if cidr or bits != value.max_prefixlen:
        return f"{address}/{bits}"
    return address


def _interface(v: Any, cidr: bool) -> Interface:
    if isinstance(v, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return ipaddress.ip_interface(v)
    if isinstance(v, ipaddress.IPv4Network | ipaddress.IPv6Network):
        return ipaddress.ip_interface(f"{v.network_address}/{v.prefixlen}")
    if isinstance(v, ipaddress.IPv4Interface | ipaddress.IPv6Interface):
        return v
    return _parse(v if isinstance(v, str) else text_decode(v), cidr, "cidr" if cidr else "inet")


def _codec(cidr: bool) -> tuple:
    name = "cidr" if cidr else "inet"

    def encode_text(v: Any) -> bytes:
        return _text(_interface(v, cidr), cidr).encode()

    def encode_binary(v: Any) -> bytes:
        value = _interface(v, cidr)
        packed = value.ip.packed
        family = _AF_INET if value.version == 4 else _AF_INET6
        return bytes((family, value.network.prefixlen, int(cidr), len(packed))) + packed

    def decode_text(b: bytes) -> str:
        return _text(_parse(text_decode(b), cidr, name), cidr)

    def decode_binary(b: bytes) -> str:
        b = bytes(b)
        if len(b) < 4 or b[0] not in (_AF_INET, _AF_INET6):
            raise InvalidBinaryRepresentation(
                f'invalid address family in external "{name}" value'
            )
        size = 4 if b[0] == _AF_INET else 16
        if b[3] != size or len(b) != 4 + size or b[1] > size * 8:
            raise InvalidBinaryRepresentation(f'invalid length in external "{name}" value')
        address = ipaddress.ip_address(b[4:])
        text = f"{address}/{b[1]}"
        return _text(_parse(text, cidr, name), cidr)

    return encode_text, encode_binary, decode_text, decode_binary


register(pgtypes.INET, *_codec(False))
register(pgtypes.CIDR, *_codec(True))
for _cls in (ipaddress.IPv4Address, ipaddress.IPv6Address, ipaddress.IPv4Interface,
             ipaddress.IPv6Interface):
    PYTYPE_TEXT[_cls] = lambda v: _text(_interface(v, False), False).encode()
for _cls in (ipaddress.IPv4Network, ipaddress.IPv6Network):
    PYTYPE_TEXT[_cls] = lambda v: _text(_interface(v, True), True).encode()
