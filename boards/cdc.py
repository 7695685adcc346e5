"""A clock-domain-crossing FIFO whose read data does not wait on the read decision.

Amaranth's ``AsyncFIFO`` addresses its storage with the *next* read pointer, so one path runs
from the Gray-code empty compare through ``r_en``, the pointer increment and the storage read
into the data register. At the NIC's 125 MHz transmit clock on an LFE5U-25F (speed 6) that
path was the transmit clock's limit. Here the storage is read asynchronously at the
*current* read pointer (first word fall-through, LUT-RAM), so taking a word only increments a
counter, and the data path starts at that counter's flip-flops.

The pointers are Gray-coded and cross through two flip-flops each (Cummings, "Simulation and
Synthesis Techniques for Asynchronous FIFO Design", style #2), as in ``AsyncFIFO``. Each side
is reset by its own domain; the NIC releases every domain's reset from the same PLL lock, and
both pointers start at zero, which is a consistent state.
"""

from __future__ import annotations

from amaranth import Elaboratable, Module, Signal
from amaranth.lib.cdc import FFSynchronizer
from amaranth.lib.memory import Memory


def _gray(value):
    return value ^ value[1:]


class FallThroughAsyncFIFO(Elaboratable):
    """``w_data``/``w_en``/``w_rdy`` in ``w_domain``; ``r_data``/``r_rdy``/``r_en`` in
    ``r_domain``, with ``r_data`` valid whenever ``r_rdy`` is high. ``depth`` is a power of
    two."""

    def __init__(self, width: int, depth: int, w_domain: str, r_domain: str) -> None:
        if depth < 2 or depth & (depth - 1):
            raise ValueError(f"depth must be a power of two of at least 2, not {depth}")
        self.width, self.depth = width, depth
        self.w_domain, self.r_domain = w_domain, r_domain
        self.w_data = Signal(width)
        self.w_en = Signal()
        self.w_rdy = Signal()
        self.r_data = Signal(width)
        self.r_en = Signal()
        self.r_rdy = Signal()

    def elaborate(self, platform: object) -> Module:
        m = Module()
        bits = self.depth.bit_length()  # one more than the address: full and empty differ
        produce = Signal(bits)  # binary, write domain
        produce_gray = Signal(bits)
        consume = Signal(bits)  # binary, read domain
        consume_gray = Signal(bits)
        produce_gray_r = Signal(bits)
        consume_gray_w = Signal(bits)
        m.submodules.produce_cdc = FFSynchronizer(produce_gray, produce_gray_r,
                                                  o_domain=self.r_domain)
        m.submodules.consume_cdc = FFSynchronizer(consume_gray, consume_gray_w,
                                                  o_domain=self.w_domain)

        # Each side compares its own pointer as it is now with the other side's synchronised
        # Gray code; the Gray code it sends is registered from its pointer a cycle later
        # (the other side then sees a word or a free place one cycle late, which is safe),
        # so no path runs from a pointer's increment into the Gray-code register.
        here_w, here_r = _gray(produce), _gray(consume)
        full = Signal()
        m.d.comb += [
            # full: the write pointer is one lap ahead (Gray code: the top two bits differ)
            full.eq((here_w[-1] != consume_gray_w[-1])
                    & (here_w[-2] != consume_gray_w[-2])
                    & (here_w[:-2] == consume_gray_w[:-2])),
            self.w_rdy.eq(~full),
            self.r_rdy.eq(here_r != produce_gray_r),
        ]

        storage = Memory(shape=self.width, depth=self.depth, init=[])
        m.submodules.storage = storage
        write = storage.write_port(domain=self.w_domain)
        read = storage.read_port(domain="comb")
        do_write = self.w_en & self.w_rdy
        # truncated: the carry out of a wrapping pointer is no bit of it
        produce_next = (produce + do_write)[:bits]
        consume_next = (consume + (self.r_en & self.r_rdy))[:bits]
        m.d.comb += [
            write.addr.eq(produce[:-1]), write.data.eq(self.w_data), write.en.eq(do_write),
            read.addr.eq(consume[:-1]), self.r_data.eq(read.data),
        ]
        m.d[self.w_domain] += [produce.eq(produce_next), produce_gray.eq(here_w)]
        m.d[self.r_domain] += [consume.eq(consume_next), consume_gray.eq(here_r)]
        return m
