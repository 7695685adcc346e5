"""Meters in hardware: RFC 2698 two-rate three-colour cells, colour-blind, as the reference model.

Tokens are kept in units of 1/F of a token, F the pipeline clock in Hz: a bucket then gains
exactly ``rate`` units per clock cycle, so refilling is one multiplication by the cycles since
the cell was last used, with no division and no rounding. The host scales the bursts by F when
it configures a cell (``ControlPlane.set_meter``); a packet needs ``amount * F`` units.

Each cell has a configuration word (written by the host) and a state word (written by packets),
in two memories so the two writers never meet. A host commit flips the configuration's
``epoch`` bit; a state word whose epoch differs is stale, so the next packet starts from full
buckets, as the model does when a cell is (re)configured. A packet reads both words in cycle
t (``addr``) and writes the state back in t+1; the state read port is transparent to that
write, so back-to-back packets on the same cell see each other's tokens.

Idle time longer than 2**32 cycles (34 s at 125 MHz) counts as 2**32 cycles.
"""

from __future__ import annotations

from amaranth.hdl import Elaboratable, Module, Mux, Signal
from amaranth.lib import data
from amaranth.lib.memory import Memory
from amaranth.utils import bits_for

GREEN, YELLOW, RED = 0, 1, 2
TOKEN_BITS = 64
CYCLE_BITS = 48
ELAPSED_BITS = 32

# the configuration as the host stages it: 32-bit words, least significant first
CONFIG_FIELDS = (("cir", 32), ("pir", 32), ("cburst", TOKEN_BITS), ("pburst", TOKEN_BITS))
CONFIG_BITS = sum(w for _, w in CONFIG_FIELDS)

config_layout = data.StructLayout({
    **dict(CONFIG_FIELDS), "configured": 1, "epoch": 1,
})
state_layout = data.StructLayout({
    "committed": TOKEN_BITS, "peak": TOKEN_BITS, "last": CYCLE_BITS, "has_last": 1, "epoch": 1,
})


def pack_config(cir: int, cburst_units: int, pir: int, pburst_units: int) -> int:
    """The staged configuration of one cell (bursts already scaled to 1/F units)."""
    values = {"cir": cir, "pir": pir, "cburst": cburst_units, "pburst": pburst_units}
    bits, lsb = 0, 0
    for name, width in CONFIG_FIELDS:
        bits |= (values[name] & ((1 << width) - 1)) << lsb
        lsb += width
    return bits


class MeterUnit(Elaboratable):
    """The cells of one meter. Packet side: ``addr`` in cycle t; ``need`` (tokens in 1/F units)
    and ``enable`` (this packet really executes the meter) in t+1, when ``colour`` is valid.
    Host side: ``commit`` with ``commit_index`` and ``config`` (``pack_config``) for one cycle."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.addr = Signal(bits_for(size - 1))
        self.need = Signal(TOKEN_BITS)
        self.enable = Signal()
        self.colour = Signal(2)
        self.commit = Signal()
        self.commit_index = Signal(20)
        self.config = Signal(CONFIG_BITS)

    def elaborate(self, platform) -> Module:
        m = Module()
        m.submodules.config = config_mem = Memory(shape=config_layout, depth=self.size, init=[])
        m.submodules.state = state_mem = Memory(shape=state_layout, depth=self.size, init=[])
        config_write = config_mem.write_port()
        config_read = config_mem.read_port(transparent_for=(config_write,))
        config_old = config_mem.read_port()
        state_write = state_mem.write_port()
        state_read = state_mem.read_port(transparent_for=(state_write,))

        now = Signal(CYCLE_BITS)
        m.d.sync += now.eq(now + 1)

        # host: read the old epoch in the commit cycle, write the flipped one in the next
        pending = Signal()
        pending_index = Signal(20)
        pending_config = Signal(CONFIG_BITS)
        m.d.sync += [pending.eq(self.commit), pending_index.eq(self.commit_index),
                     pending_config.eq(self.config)]
        new_config = data.View(config_layout, Signal(config_layout.size))
        m.d.comb += [
            config_old.addr.eq(self.commit_index),
            new_config.as_value()[:CONFIG_BITS].eq(pending_config),
            new_config.configured.eq(1),
            new_config.epoch.eq(~config_old.data.epoch),
            config_write.addr.eq(pending_index),
            config_write.data.eq(new_config),
            config_write.en.eq(pending & (pending_index < self.size)),
        ]

        # packets: read in t, colour and write back in t+1
        addr_q = Signal.like(self.addr)
        m.d.sync += addr_q.eq(self.addr)
        m.d.comb += [config_read.addr.eq(self.addr), state_read.addr.eq(self.addr)]
        cfg, st = config_read.data, state_read.data
        fresh = st.epoch != cfg.epoch
        elapsed = Signal(CYCLE_BITS)
        cycles = Signal(ELAPSED_BITS)
        m.d.comb += [
            elapsed.eq(now - st.last),
            cycles.eq(Mux(fresh | ~st.has_last, 0,
                          Mux(elapsed[ELAPSED_BITS:].any(), (1 << ELAPSED_BITS) - 1,
                              elapsed[:ELAPSED_BITS]))),
        ]
        committed = _refill(m, "committed", Mux(fresh, cfg.cburst, st.committed), cfg.cburst,
                            cfg.cir, cycles)
        peak = _refill(m, "peak", Mux(fresh, cfg.pburst, st.peak), cfg.pburst, cfg.pir, cycles)
        red = peak < self.need
        yellow = ~red & (committed < self.need)
        after = data.View(state_layout, Signal(state_layout.size))
        m.d.comb += [
            after.committed.eq(Mux(red | yellow, committed, committed - self.need)),
            after.peak.eq(Mux(red, peak, peak - self.need)),
            after.last.eq(now),
            after.has_last.eq(1),
            after.epoch.eq(cfg.epoch),
            state_write.addr.eq(addr_q),
            state_write.data.eq(after),
            state_write.en.eq(self.enable & cfg.configured),
            # a cell nobody configured lets everything through (as bmv2 and the model)
            self.colour.eq(Mux(~cfg.configured, GREEN, Mux(red, RED, Mux(yellow, YELLOW, GREEN)))),
        ]
        return m


def _refill(m: Module, name: str, tokens, burst, rate, cycles) -> Signal:
    """min(burst, tokens + rate * cycles), in 1/F units."""
    filled = Signal(TOKEN_BITS + 1, name=f"{name}_filled")
    out = Signal(TOKEN_BITS, name=f"{name}_tokens")
    m.d.comb += [filled.eq(tokens + (rate * cycles)[:TOKEN_BITS]),
                 out.eq(Mux(filled >= burst, burst, filled))]
    return out

