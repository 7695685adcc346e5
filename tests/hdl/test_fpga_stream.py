"""``ReadRegister``: a FIFO read through flip-flops gives every word, in order, once, at up to
one a clock, whatever the writer and the reader do (Amaranth simulator)."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable

import pytest
from amaranth.hdl import Module
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.sim import Simulator
from wirespeed.hdl.stream import ReadRegister


def _simulate(depth: int, bench: Callable[..., Awaitable[None]]) -> None:
    """Run ``bench(ctx, fifo, out)`` on a FIFO of ``depth`` 16-bit words read through a
    ``ReadRegister`` (``out``)."""
    m = Module()
    m.submodules.fifo = fifo = SyncFIFOBuffered(width=16, depth=depth)
    m.submodules.out = out = ReadRegister(fifo)

    async def testbench(ctx) -> None:
        await bench(ctx, fifo, out)

    sim = Simulator(m)
    sim.add_clock(1e-8)
    sim.add_testbench(testbench)
    sim.run()


@pytest.mark.parametrize("reader_busy", [0.0, 0.5])
def test_every_word_comes_out_in_order_once(reader_busy: float) -> None:
    rng = random.Random(int(reader_busy * 10))
    sent: list[int] = []
    received: list[int] = []

    async def bench(ctx, fifo, out) -> None:
        word = 0
        for _ in range(1200):
            write = word < 300 and rng.random() < 0.8
            # a reader takes a word only when one is there, as the output stage does
            read = rng.random() >= reader_busy and ctx.get(out.r_rdy)
            ctx.set(fifo.w_en, write)
            ctx.set(fifo.w_data, word)
            ctx.set(out.r_en, read)
            if write and ctx.get(fifo.w_rdy):
                sent.append(word)
                word += 1
            if read:
                received.append(ctx.get(out.r_data))
            await ctx.tick()

    _simulate(8, bench)
    assert sent == list(range(300))
    assert received == sent


def test_a_reader_that_takes_every_word_gets_one_every_clock() -> None:
    got: list[int] = []

    async def bench(ctx, fifo, out) -> None:
        ctx.set(fifo.w_en, 1)
        for n in range(40):
            ctx.set(fifo.w_data, n)
            ready = ctx.get(out.r_rdy)
            ctx.set(out.r_en, ready)
            if ready:
                got.append(ctx.get(out.r_data))
            await ctx.tick()

    _simulate(4, bench)
    assert got == list(range(len(got)))
    assert len(got) >= 40 - 4  # after the first words' way in, one a clock
