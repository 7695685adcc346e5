"""Maglev consistent hashing: fill an L4 load balancer's lookup table from a list of backends.

This is the control-plane half of ``examples/l4lb.wire``. The data plane hashes a packet's
5-tuple with crc32, keeps the low ``k`` bits as a bucket number, and looks up
``(vip_id, bucket)`` in the ``maglev`` table to pick a backend. This module computes which
backend owns each bucket, with the table-population algorithm of Eisenbud et al., "Maglev: A
Fast and Reliable Software Network Load Balancer" (NSDI 2016, section 3.4):

* every backend gets a permutation of the ``M`` table slots, from two hashes of its name:
  ``offset = h1(name) mod M`` and ``skip``; its j-th preference is ``(offset + j*skip) mod M``;
* backends take turns, round robin, each claiming its next preferred slot that is still free,
  until every slot is owned.

So every backend owns ``M/N`` slots give or take one, and removing a backend mostly moves only
the slots it owned: the other backends keep their preferences, so the flows they serve stay.

Table size. The paper wants a prime ``M`` so that any ``skip`` in ``[1, M-1]`` is coprime to
``M`` and the preference list really is a permutation. The data plane has no modulo: it takes
the bucket straight from hash bits, so ``M`` is a power of two, ``2**k``. A skip is coprime to
``2**k`` exactly when it is odd, so here ``skip = 2 * (h2(name) mod M/2) + 1``, an odd number in
``[1, M-1]``; every preference list is still a full permutation of the slots. Maglev's
disruption bound also wants ``M`` well above ``N`` (the paper: ``M > 100 N``); the example uses
``M = 256`` (``BUCKET_BITS = 8``), enough for a handful of backends per VIP while keeping the
packet tests' tables small. A deployment raises ``BUCKET_BITS`` here and the slice width in
``l4lb.wire`` together (16 bits gives 65536 slots per VIP).

Usage::

    python -m wirespeed.compiler.maglev --backends 10.1.0.1,10.1.0.2 --vip-id 0

prints one STF ``add`` line per bucket for the example's ``maglev`` table.
"""

from __future__ import annotations

import argparse
import hashlib
import ipaddress
import sys
from collections.abc import Sequence

#: bucket = the low ``BUCKET_BITS`` bits of the crc32 of the 5-tuple (see ``l4lb.wire``)
BUCKET_BITS = 8
TABLE_SIZE = 1 << BUCKET_BITS

#: the names the example program gives its Maglev table, keys and action
TABLE_NAME = "maglev"
VIP_KEY = "meta.vip_id"
BUCKET_KEY = "meta.bucket"
ACTION_NAME = "to_backend"
ACTION_PARAM = "backend"

__all__ = [
    "BUCKET_BITS",
    "TABLE_SIZE",
    "MaglevError",
    "permutation",
    "populate",
    "stf_add_lines",
    "main",
]


class MaglevError(ValueError):
    """A bad request (no backends, a duplicate, a table size that is not a power of two)."""


def _hash64(name: str, purpose: bytes) -> int:
    # Two independent hashes of the backend's name, as the paper asks; blake2b's `person`
    # parameter separates them. Stable across runs and machines (unlike Python's hash()).
    digest = hashlib.blake2b(name.encode(), digest_size=8, person=purpose).digest()
    return int.from_bytes(digest, "big")


def _check_size(size: int) -> None:
    if size < 2 or size & (size - 1):
        raise MaglevError(f"table size must be a power of two >= 2, not {size}")


def permutation(name: str, size: int = TABLE_SIZE) -> list[int]:
    """The order in which backend ``name`` prefers the ``size`` slots (a permutation)."""
    _check_size(size)
    offset = _hash64(name, b"maglev-offset") % size
    # odd, hence coprime to the power-of-two size: the walk visits every slot once
    skip = 2 * (_hash64(name, b"maglev-skip") % (size // 2)) + 1
    return [(offset + j * skip) % size for j in range(size)]


def populate(backends: Sequence[str], size: int = TABLE_SIZE) -> list[int]:
    """Slot -> index into ``backends`` of the backend that owns it."""
    _check_size(size)
    if not backends:
        raise MaglevError("at least one backend is needed")
    if len(set(backends)) != len(backends):
        raise MaglevError("backends must be distinct")
    if len(backends) > size:
        raise MaglevError(f"{len(backends)} backends do not fit in {size} slots")
    preferences = [permutation(name, size) for name in backends]
    next_choice = [0] * len(backends)
    owner = [-1] * size
    filled = 0
    while True:
        for i, prefs in enumerate(preferences):
            slot = prefs[next_choice[i]]
            while owner[slot] >= 0:
                next_choice[i] += 1
                slot = prefs[next_choice[i]]
            owner[slot] = i
            next_choice[i] += 1
            filled += 1
            if filled == size:
                return owner


def stf_add_lines(backends: Sequence[str], vip_id: int, size: int = TABLE_SIZE) -> list[str]:
    """STF ``add`` lines that fill the example's ``maglev`` table for one VIP.

    ``backends`` are IPv4 addresses (the backend's name for hashing is its address text)."""
    addresses = [_ipv4(b) for b in backends]
    if not 0 <= vip_id <= 0xFF:
        raise MaglevError(f"vip id must fit in 8 bits, not {vip_id}")
    owner = populate([str(a) for a in addresses], size)
    bucket_digits = max(1, (size.bit_length() - 1 + 3) // 4)
    return [
        f"add {TABLE_NAME} {VIP_KEY}:0x{vip_id:02x} {BUCKET_KEY}:0x{slot:0{bucket_digits}x} "
        f"{ACTION_NAME}({ACTION_PARAM}:0x{int(addresses[index]):08x})"
        for slot, index in enumerate(owner)
    ]


def _ipv4(text: str) -> ipaddress.IPv4Address:
    try:
        return ipaddress.IPv4Address(text.strip())
    except ValueError:
        raise MaglevError(f"not an IPv4 address: {text.strip()!r}") from None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m wirespeed.compiler.maglev",
        description="Print STF add lines that fill the l4lb example's Maglev table.",
    )
    parser.add_argument("--backends", required=True,
                        help="comma-separated backend IPv4 addresses, e.g. 10.1.0.1,10.1.0.2")
    parser.add_argument("--vip-id", type=int, required=True, help="the VIP's id (0-255)")
    parser.add_argument("--size", type=int, default=TABLE_SIZE,
                        help=f"slots per VIP, a power of two (default {TABLE_SIZE}, "
                             "the example's bucket width)")
    args = parser.parse_args(argv)
    backends = [b for b in args.backends.split(",") if b.strip()]
    try:
        lines = stf_add_lines(backends, args.vip_id, args.size)
    except MaglevError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
