"""The whole packet pipeline of one program at line rate.

::

    i ─▶ framer ─┬─ header window ─▶ parser ─▶ control (2 stages per table) ─▶ deparser ─▶ result FIFO ─┐
                 └─ every beat of the packet ─────────────────▶ data FIFO ─────────────────────────────┤
                                                                                 output stage ◀───────┘ ─▶ o

The framer copies the first ``H`` bytes of each packet (``H`` the deepest parse path rounded up
to whole beats) into the header window and writes every beat into the data FIFO. The window's
parse goes through a fixed-latency pipeline that never stalls (the framer holds a credit per
result FIFO slot) and comes out as the new headers, segment by segment, and where the
packet's own bytes resume (``tail_start``: the end of the parsed headers, or before the last
headers when the program cannot change them); the window itself stops at the parser. The
output stage emits the segments present and then the packet's stored bytes from there on,
through a gearbox that realigns them by any number of bytes, one beat per clock. Dropped
packets are drained from the data FIFO without output. Direct counters are updated when a packet leaves the
output stage, with its original length.
"""

from __future__ import annotations

from dataclasses import dataclass

from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value
from amaranth.lib import data, wiring
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.wiring import In, Out
from wirespeed.compiler import ir
from wirespeed.compiler.uses import all_statements, needs_packet_length
from wirespeed.hdl.control import ControlBuilder
from wirespeed.hdl.deparser import DeparserHw, byte_mask
from wirespeed.hdl.meters import CONFIG_BITS
from wirespeed.hdl.parser import ParseGraph, ParserHw
from wirespeed.hdl.phv import UnsupportedOnFpga, fit
from wirespeed.hdl.stream import TAG_WIDTH, ReadRegister, packet_stream
from wirespeed.hdl.tables import (
    DEFAULT_LIMITS,
    CounterUnit,
    TableDesc,
    TableLimits,
    TableUnit,
    describe_table,
)

MAGIC = 0x57495245  # "WIRE"
MIN_FRAME_BYTES = 14
# Store-and-forward mode keeps a whole frame in the data FIFO; longer frames are refused.
MAX_STORED_FRAME_BYTES = 9216
DEFAULT_CLOCK_HZ = 125_000_000

# control-port address: unit[31:24] region[23:20] index[19:0], 32-bit words
REGION_STAGE = 0  # unit 0: staging words (write); info words (read)
REGION_COMMIT = 1  # write: staging -> slot ``index``
REGION_DEFAULT = 2  # write: staging's action/params -> the default action
REGION_PACKETS = 3  # read: packets counter ``index >> 1``, word ``index & 1``
REGION_BYTES = 4  # read: bytes counter
REGION_REGISTER = 5  # read: register cell ``index`` (32-bit word ``index & 3`` of up to 128 bits)
REGION_METER = 6  # write: staging (``meters.pack_config``) -> meter cell ``index``
REGISTER_UNIT = 0x80  # register ``k`` (program order) is unit 0x80 + k
METER_UNIT = 0xC0  # meter ``k`` (program order) is unit 0xC0 + k
BOARD_UNIT = 0xFF  # never the pipeline's: a board's NIC answers it (boards/protocol.py)


def control_address(unit: int, region: int, index: int) -> int:
    return unit << 24 | region << 20 | index


def control_port_signature() -> wiring.Signature:
    """A simple memory-mapped bus, seen from the host: one request at a time, each answered
    by one ``ack`` pulse (with ``rdata`` for reads)."""
    return wiring.Signature({
        "addr": Out(32), "wdata": Out(32), "write": Out(1), "read": Out(1),
        "rdata": In(32), "ack": In(1),
    })


def popcount(value: Value) -> Value:
    return sum(value[i] for i in range(len(value)))


def lane_mask(count: Value, lanes: int) -> Value:
    return Cat(*[count > i for i in range(lanes)])


def _piece(value: Value, index: Value, width: int) -> Value:
    """The ``index``-th ``width``-bit word of ``value`` (the last one zero-padded)."""
    words = -(-len(value) // width)
    padded = fit(value, words * width)
    return padded if words == 1 else padded.word_select(index, width)


def _lowest_bit(value: Value) -> Value:
    """``value`` with all but its lowest set bit cleared (a one-hot, or 0)."""
    return value & (~value + 1)[:len(value)]


def _one_hot_select(select: Value, values: list[Value]) -> Value:
    """The value whose bit of ``select`` is set (at most one is): an AND-OR, no priority."""
    width = max(len(Value.cast(v)) for v in values)
    result: Value = Const(0, width)
    for k, v in enumerate(values):
        result = result | (select[k].replicate(width) & fit(v, width))
    return result


@dataclass
class Plan:
    """What the program needs in hardware at one data width (the JSON map is built from it)."""

    program: ir.Program
    width: int
    graph: ParseGraph
    window_bytes: int
    tables: list[TableDesc]
    # The descriptor goes down the header pipeline when the header window is in (cut-through),
    # or, when the control needs std.packet_length, once the whole packet is (store-and-forward).
    store_and_forward: bool = False
    clock_hz: int = DEFAULT_CLOCK_HZ  # what meters count time in
    # Credits for packets between the framer and the output stage. The header pipeline holds
    # up to latency / (beats of the shortest frame) of them at once: 6 at W=64, 15 at W=256.
    # 17 is LUT-RAM's 16 words plus the FIFO's output register.
    result_depth: int = 17
    data_depth: int = 128
    latency: int = 0  # header pipeline stages, known after elaboration

    @classmethod
    def of(cls, program: ir.Program, width: int, clock_hz: int = DEFAULT_CLOCK_HZ,
           limits: TableLimits = DEFAULT_LIMITS) -> Plan:
        lanes = width // 8
        graph = ParseGraph.of(program)
        # A program that removes headers keeps 14 bytes more than it parses in the window:
        # a packet longer than the window then leaves with at least 14 bytes, and one that
        # fits is judged whole, so the "shorter than an Ethernet header: dropped" rule is
        # exact without looking into the data FIFO.
        removes = any(isinstance(s, ir.SetInvalid) for s in all_statements(program))
        need = graph.window_bytes + (MIN_FRAME_BYTES if removes else 0)
        window = max(lanes, -(-need // lanes) * lanes)
        _check_units(program)
        tables = [describe_table(program, t, unit, limits)
                  for unit, t in enumerate(program.tables, 1)]
        plan = cls(program, width, graph, window, tables, needs_packet_length(program), clock_hz)
        if lanes > 16:
            plan.result_depth = 33
        if plan.store_and_forward:
            # room for the longest frame while the one before it is still leaving: line rate
            plan.data_depth = 2 * -(-MAX_STORED_FRAME_BYTES // lanes) + 16
        return plan

    @property
    def lanes(self) -> int:
        return self.width // 8

    @property
    def staging_width(self) -> int:
        meters = [CONFIG_BITS] if self.program.meters else []
        return max([32, *meters, *(-(-t.staged_width // 32) * 32 for t in self.tables)])


def _check_units(program: ir.Program) -> None:
    """Tables, registers and meters each have a range of control-port units."""
    for kind, items, room in (("tables", program.tables, REGISTER_UNIT - 1),
                              ("registers", program.registers, METER_UNIT - REGISTER_UNIT),
                              ("meters", program.meters, BOARD_UNIT - METER_UNIT)):
        if len(items) > room:
            raise UnsupportedOnFpga(f"the FPGA control port has room for {room} {kind}, "
                                    f"the program has {len(items)}", items[room].span)


class Pipeline(wiring.Component):
    def __init__(self, program: ir.Program, width: int = 64,
                 init_slots: dict[str, dict[int, int]] | None = None,
                 clock_hz: int = DEFAULT_CLOCK_HZ, limits: TableLimits = DEFAULT_LIMITS) -> None:
        self.plan = Plan.of(program, width, clock_hz, limits)
        self.init_slots = init_slots or {}
        self.deparser = DeparserHw(program)
        super().__init__({
            "i": In(packet_stream(width)),
            "o": Out(packet_stream(width)),
            "ctl": In(control_port_signature()),
            "busy": Out(1),
        })

    def elaborate(self, platform) -> Module:
        m = Module()
        plan, program = self.plan, self.plan.program
        W, B, H = plan.width, plan.lanes, plan.window_bytes
        HB = H // B

        # ------------------------------------------------------------ control port
        req = Signal()
        req_write = Signal()
        req_addr = Signal(32)
        req_data = Signal(32)
        m.d.sync += [req.eq(self.ctl.write | self.ctl.read), req_write.eq(self.ctl.write),
                     req_addr.eq(self.ctl.addr), req_data.eq(self.ctl.wdata)]
        unit_no, region, index = req_addr[24:32], req_addr[20:24], req_addr[:20]
        staging = Signal(plan.staging_width)
        with m.If(req & req_write & (unit_no == 0) & (region == REGION_STAGE)):
            m.d.sync += staging.word_select(index[:max(1, (plan.staging_width // 32 - 1)
                                                        .bit_length())], 32).eq(req_data)

        units: dict[str, TableUnit] = {}
        counters: dict[str, CounterUnit] = {}
        for desc in plan.tables:
            unit = TableUnit(desc, self.init_slots.get(desc.name, {}), staging)
            m.submodules[f"table_{desc.name}"] = units[desc.name] = unit
            mine = req & req_write & (unit_no == desc.unit)
            m.d.comb += [
                unit.commit.eq(mine & (region == REGION_COMMIT)),
                unit.commit_slot.eq(index),
                unit.set_default.eq(mine & (region == REGION_DEFAULT)),
            ]
            if desc.counters:
                counter = CounterUnit(desc.counter_count)
                m.submodules[f"counters_{desc.name}"] = counters[desc.name] = counter

        # Reads answer two cycles after the request (memories read synchronously); a counter
        # read when its unit's read port is free of packet updates (``CounterUnit``).
        read_q = Signal()
        read_unit, read_region, read_index = Signal(8), Signal(4), Signal(20)
        m.d.sync += read_q.eq(req & ~req_write)
        with m.If(req):
            m.d.sync += [read_unit.eq(unit_no), read_region.eq(region), read_index.eq(index)]
        counter_read = Signal()  # a counter read is waiting for its unit
        counter_done = Signal()
        counting = [unit_no == desc.unit for desc in plan.tables if desc.counters]
        with m.If(req & ~req_write & ((region == REGION_PACKETS) | (region == REGION_BYTES)) &
                  (Cat(*counting).any() if counting else 0)):
            m.d.sync += counter_read.eq(1)
        with m.If(counter_done):
            m.d.sync += counter_read.eq(0)
        for desc in plan.tables:
            if desc.counters:
                counter = counters[desc.name]
                m.d.comb += [counter.read.eq(counter_read & (read_unit == desc.unit)),
                             counter.read_index.eq(read_index[1:])]
                with m.If(counter.read_done):
                    m.d.comb += counter_done.eq(1)
        # ------------------------------------------------------------ framer
        m.submodules.data_fifo = data_fifo = SyncFIFOBuffered(width=W + B + 1,
                                                              depth=plan.data_depth)
        m.submodules.data_out = data_out = ReadRegister(data_fifo)
        outstanding = Signal(range(plan.result_depth + 1))
        beat = Signal(range(HB + 1))
        window = Signal(8 * H)
        wlen = Signal(range(H + 1))
        desc_valid = Signal()
        more = Signal()
        port = Signal(ir.PORT_WIDTH)
        tag = Signal(TAG_WIDTH)
        issue = Signal()
        popped = Signal()
        frame_len = Signal(32)  # bytes of the packet so far
        oversize = Signal()  # store-and-forward: the frame outgrew the data FIFO
        issued = Signal()  # store-and-forward: this packet's descriptor went early (oversize)
        i = self.i.payload
        m.d.comb += self.i.ready.eq(data_fifo.w_rdy & (outstanding < plan.result_depth))
        position = Mux(i.first, 0, beat)
        count = popcount(i.keep)
        m.d.sync += desc_valid.eq(0)
        with m.If(self.i.valid & self.i.ready):
            length_now = Mux(position == 0, 0, frame_len) + count
            m.d.sync += frame_len.eq(length_now)
            if plan.store_and_forward:
                # an oversized frame goes early, marked to be dropped, so it never fills the FIFO
                too_long = length_now > MAX_STORED_FRAME_BYTES
                gone = Mux(position == 0, 0, issued)
                m.d.comb += issue.eq(~gone & (i.last | too_long))
                m.d.sync += [issued.eq(~i.last & (gone | too_long)), oversize.eq(too_long)]
            with m.If(position < HB):
                m.d.sync += window.word_select(position[:max(1, (HB - 1).bit_length())], W).eq(
                    i.data)
                m.d.sync += wlen.eq(Mux(position == 0, 0, wlen) + count)
                if not plan.store_and_forward:
                    m.d.comb += issue.eq((position == HB - 1) | i.last)
            # the whole packet waits in the data FIFO; the window is a copy for the parser
            m.d.comb += [data_fifo.w_en.eq(1), data_fifo.w_data.eq(Cat(i.data, i.keep, i.last))]
            with m.If(position == 0):
                m.d.sync += [port.eq(i.port), tag.eq(i.tag)]
            m.d.sync += [beat.eq(Mux(i.last, 0, Mux(position < HB, position + 1, HB))),
                         desc_valid.eq(issue), more.eq(~i.last | (position >= HB))]
        m.d.sync += outstanding.eq(outstanding + issue - popped)

        # ------------------------------------------------------------ header pipeline
        control = ControlBuilder(m, program, units, {t.name: t for t in plan.tables},
                                 plan.clock_hz)
        # the framer's values for this packet change when the next one comes in
        carried: dict[str, Value] = {"valid": desc_valid, "more": more, "tag": tag, "wlen": wlen}
        if plan.store_and_forward:
            carried |= {"m:std.packet_length": frame_len, "oversize": oversize}
        parser = ParserHw(program, plan.graph, H, B, self.deparser.tail_entry)
        phv = parser.parse(m, window, wlen, port, carried, control.cut)
        wlen, more = phv["wlen"], phv["more"]
        # After the new headers the output stage copies the packet's own bytes from
        # ``tail_start`` on, out of the data FIFO: beats before ``resume`` are skipped, the
        # first ``skip`` bytes of that beat too. A packet whose header size did not change
        # leaves as it came, a beat per clock.
        tail_start = phv["tail_start"]
        shift = (B - 1).bit_length()
        resume = tail_start >> shift
        phv["skip"] = tail_start[:shift] if shift else Const(0, 1)
        # nothing to copy: the packet ends where the copy would begin
        phv["ends_in_header"] = ~more & (wlen <= tail_start)
        # The output stage learns ``resume`` here, long before the packet's result (both FIFOs
        # pop together), so that it can skip the packet's beats before it while the control
        # still runs (a decap's copy begins several beats in).
        m.submodules.resume_fifo = resume_fifo = SyncFIFOBuffered(width=len(resume),
                                                                  depth=plan.result_depth)
        m.d.comb += [resume_fifo.w_en.eq(phv["valid"]), resume_fifo.w_data.eq(resume)]
        # the deparser takes the fields no stage changes from memories (``Phv.delayed``)
        phv.track([name for name in phv.values if name.startswith(("f:", "vb:", "dp:"))])
        if plan.store_and_forward:
            # an oversized frame is refused like a packet the parser rejects
            phv["accepted"] = phv["accepted"] & ~phv.values.pop("oversize")
        control.cut(phv)
        self.deparser.sum_options(m, phv)
        control.run(phv)
        control.cut(phv)
        segments, header_len = self.deparser.deparse(m, phv, lambda: control.cut(phv))
        egress = phv["m:std.egress_port"]
        specs = self.deparser.segments
        result = data.StructLayout({
            **{f"seg_{k}": 8 * spec.max_bytes for k, spec in enumerate(specs)},
            **{f"len_{k}": range(spec.max_bytes + 1) for k, spec in enumerate(specs)},
            "present": len(specs),  # the segments sent (length not 0)
            "drop": 1,
            "more": 1,
            "port": ir.PORT_WIDTH,
            "tag": TAG_WIDTH,
            "skip": range(B),
            "ends_in_header": 1,
            **{f"cnt_en_{t}": 1 for t in counters},
            **{f"cnt_idx_{t}": units[t].counter.shape() for t in counters},
        })
        m.submodules.result_fifo = result_fifo = SyncFIFOBuffered(width=result.size,
                                                                  depth=plan.result_depth)
        record = data.View(result, Signal(result.size))
        m.d.comb += [
            *[record[f"seg_{k}"].eq(contents) for k, (contents, _) in enumerate(segments)],
            *[record[f"len_{k}"].eq(length) for k, (_, length) in enumerate(segments)],
            record.present.eq(Cat(*[length != 0 for _, length in segments])),
            # a frame shorter than an Ethernet header is dropped (the reference model's rule);
            # one with bytes behind the window is longer than the parse plus 14 (``Plan.of``)
            record.drop.eq(~phv["accepted"] | (egress == ir.DROP_PORT) |
                           (((header_len + phv["wlen"]) < (phv["tail_start"] + MIN_FRAME_BYTES)) &
                            ~phv["more"])),
            record.more.eq(phv["more"]), record.port.eq(egress), record.tag.eq(phv["tag"]),
            record.skip.eq(phv["skip"]),
            record.ends_in_header.eq(phv["ends_in_header"]),
        ]
        for t in counters:
            # a packet the parser rejected never ran the control: it counts nowhere
            m.d.comb += [record[f"cnt_en_{t}"].eq(phv[f"cnt_en:{t}"] & phv["accepted"]
                                                  if f"cnt_en:{t}" in phv else 0),
                         record[f"cnt_idx_{t}"].eq(phv[f"cnt_idx:{t}"] if f"cnt_idx:{t}" in phv
                                                   else 0)]
        m.d.comb += [result_fifo.w_en.eq(phv["valid"]), result_fifo.w_data.eq(record.as_value())]
        plan.latency = control.stages + 1  # + the framer's descriptor register

        rdata = Signal(32)
        info = [MAGIC, W, plan.latency, len(plan.tables), H]
        with m.If(read_unit == 0):
            with m.Switch(read_index):
                for k, word in enumerate(info):
                    with m.Case(k):
                        m.d.comb += rdata.eq(word)
        for desc in plan.tables:
            if desc.counters:
                cells = counters[desc.name].read_data
                word = Mux(read_region == REGION_BYTES, cells[64:], cells[:64])
                with m.If((read_unit == desc.unit) &
                          ((read_region == REGION_PACKETS) | (read_region == REGION_BYTES))):
                    m.d.comb += rdata.eq(Mux(read_index[0], word[32:], word[:32]))
        for k, reg in enumerate(program.registers):
            ports = control.registers.get(reg.name)
            if ports is None:
                continue
            m.d.comb += ports.host.addr.eq(index[2:])
            with m.If((read_unit == REGISTER_UNIT + k) & (read_region == REGION_REGISTER)):
                m.d.comb += rdata.eq(fit(ports.host.data, 128).word_select(read_index[:2], 32))
        for k, meter in enumerate(program.meters):
            unit = control.meters.get(meter.name)
            if unit is None:
                continue  # never executed: nothing to configure
            m.d.comb += [
                unit.commit.eq(req & req_write & (unit_no == METER_UNIT + k) &
                               (region == REGION_METER)),
                unit.commit_index.eq(index),
                unit.config.eq(staging[:CONFIG_BITS]),
            ]
        m.d.sync += [self.ctl.ack.eq((read_q & ~counter_read) | counter_done | (req & req_write)),
                     self.ctl.rdata.eq(rdata)]


        # ------------------------------------------------------------ output stage
        # A packet leaves as its new header bytes (from the result) and then its own bytes
        # from ``tail_start`` on, out of the data FIFO, which holds all of it: the beats
        # before ``resume`` are skipped while the header goes out, and the first ``skip`` bytes
        # of that beat with it; the beats after it go whole. A dropped packet, or one that ends
        # before ``tail_start``, is drained from the FIFO without output.
        # The packet going out is the result FIFO's head, read in place (its output register)
        # and popped when the packet is done: a copy would cost a register as wide as the
        # new headers.
        cur = data.View(result, result_fifo.r_data)
        cur_valid = result_fifo.r_rdy
        cur_resume = resume_fifo.r_data  # the head packet's, whether its result is there or not
        in_data = Signal()
        draining = Signal()
        fifo_done = Signal()  # the packet's last beat has left the data FIFO
        skipped = Signal(range(HB + 1))  # beats of the packet skipped so far (to ``resume``)
        length_acc = Signal(32)
        done = Signal()
        done_len = Signal(32)
        head = data.View(data.StructLayout({"data": W, "keep": B, "last": 1}), data_out.r_data)
        head_count = popcount(head.keep)
        # the copy's first beat loses its first ``skip`` bytes (behind the register, so the
        # shifter adds nothing to the block RAM's late read data)
        copying = Signal()  # the copy's first beat has gone
        lead = Mux(copying, 0, cur.skip)
        run_data = Signal(W)
        run_count = Signal(range(B + 1))
        m.d.comb += [run_data.eq(head.data >> (lead * 8)), run_count.eq(head_count - lead)]

        chunk_valid = Signal()
        chunk = Signal(W)
        chunk_count = Signal(range(B + 1))
        chunk_last = Signal()
        chunk_taken = Signal()
        # a second chunk the gearbox may take in the same clock (the header's next piece)
        chunk2_valid = Signal()
        chunk2 = Signal(W)
        chunk2_count = Signal(range(B + 1))
        chunk2_last = Signal()
        chunk2_taken = Signal()

        # The header goes out a segment at a time, in pieces of up to B bytes. The segment due
        # is the first one present and not yet sent (the lowest set bit of ``remaining``).
        # When its piece ``a`` leaves the gearbox short of a beat (only a segment's last piece
        # can: the others are whole beats), the gearbox takes a second chunk in the same
        # clock: the following segment's first piece (``b``) or, after the header's last
        # piece, the packet's first beat sent whole. So a header stack that ends off a beat
        # boundary costs no clock.
        n_segs = len(specs)
        consumed = Signal(n_segs)
        most_pieces = max(-(-spec.max_bytes // B) for spec in specs)
        piece = Signal(range(max(2, most_pieces)))  # the piece due within its segment
        remaining, current, following, beyond = (Signal(n_segs, name=n) for n in
                                                 ("remaining", "current", "following", "beyond"))
        m.d.comb += [remaining.eq(cur.present & ~consumed),
                     current.eq(_lowest_bit(remaining)),
                     following.eq(_lowest_bit(remaining & ~current)),
                     beyond.eq(remaining & ~current & ~following)]
        lens = [cur[f"len_{k}"] for k in range(n_segs)]
        seg_bytes = [cur[f"seg_{k}"] for k in range(n_segs)]
        a_word, b_word = Signal(W, name="a_word"), Signal(W, name="b_word")
        a_left = Signal(range(max(spec.max_bytes for spec in specs) + 1), name="a_left")
        b_left = Signal.like(a_left, name="b_left")
        m.d.comb += [
            a_word.eq(_one_hot_select(current, [_piece(v, piece, W) for v in seg_bytes])),
            a_left.eq(_one_hot_select(current, lens) - piece * B),
            b_word.eq(_one_hot_select(following, [_piece(v, 0, W) for v in seg_bytes])),
            b_left.eq(_one_hot_select(following, lens)),
        ]
        a_last_piece = a_left <= B
        b_last_piece = b_left <= B
        a_final = a_last_piece & (following == 0)  # the header's last piece
        b_final = b_last_piece & (beyond == 0)
        with m.If(cur_valid):
            with m.If(cur.drop | draining):
                m.d.comb += data_out.r_en.eq(1)
                with m.If(data_out.r_rdy):
                    m.d.sync += length_acc.eq(length_acc + head_count)
                    with m.If(head.last):
                        m.d.comb += [done.eq(1), done_len.eq(length_acc + head_count)]
            with m.Elif(~in_data):
                m.d.comb += [
                    chunk_valid.eq(1),
                    chunk.eq(a_word),
                    chunk_count.eq(Mux(a_last_piece, a_left, B)),
                    chunk_last.eq(a_final & cur.ends_in_header),
                ]
                # After the header's last piece the second chunk is the first beat copied from
                # the packet, once the beats before it are skipped.
                payload_next = (a_final & ~cur.ends_in_header & (skipped == cur_resume) &
                                data_out.r_rdy)
                with m.If(a_final):
                    m.d.comb += [chunk2_valid.eq(payload_next), chunk2.eq(run_data),
                                 chunk2_count.eq(run_count), chunk2_last.eq(head.last)]
                with m.Else():
                    m.d.comb += [chunk2_valid.eq(a_last_piece), chunk2.eq(b_word),
                                 chunk2_count.eq(Mux(b_last_piece, b_left, B)),
                                 chunk2_last.eq(b_final & cur.ends_in_header)]
                # The skipped beats go while the header is sent (the FIFO is idle then); all of
                # them when the packet ends before its copy would begin.
                pop = Signal()
                m.d.comb += pop.eq(Mux(cur.ends_in_header, ~fifo_done, skipped != cur_resume) &
                                   data_out.r_rdy)
                with m.If(pop):
                    m.d.comb += data_out.r_en.eq(1)
                    m.d.sync += [skipped.eq(skipped + 1),
                                 length_acc.eq(length_acc + head_count)]
                    with m.If(head.last):
                        m.d.sync += fifo_done.eq(1)
                popped_last = pop & head.last
                header_done = a_final | (chunk2_taken & b_final)
                payload_taken = chunk2_taken & a_final
                with m.If(chunk_taken & ~chunk2_taken):
                    m.d.sync += piece.eq(piece + 1)
                    with m.If(a_last_piece):
                        m.d.sync += [piece.eq(0), consumed.eq(consumed | current)]
                with m.If(chunk2_taken):  # after ``a``, a segment's last piece
                    m.d.sync += [piece.eq(1), consumed.eq(consumed | current)]
                    with m.If(b_last_piece):
                        m.d.sync += [piece.eq(0), consumed.eq(consumed | current | following)]
                with m.If(chunk_taken):
                    with m.If(header_done):
                        with m.If(payload_taken):
                            m.d.comb += data_out.r_en.eq(1)
                            m.d.sync += copying.eq(1)
                            m.d.sync += length_acc.eq(length_acc + head_count)
                            with m.If(head.last):
                                m.d.comb += [done.eq(1), done_len.eq(length_acc + head_count)]
                            with m.Else():
                                m.d.sync += in_data.eq(1)
                        with m.Elif(~cur.ends_in_header):
                            m.d.sync += in_data.eq(1)
                        with m.Elif(fifo_done | popped_last):
                            m.d.comb += [done.eq(1), done_len.eq(
                                length_acc + Mux(popped_last, head_count, 0))]
                        with m.Else():
                            m.d.sync += draining.eq(1)
            with m.Elif(skipped != cur_resume):
                m.d.comb += data_out.r_en.eq(1)
                with m.If(data_out.r_rdy):
                    m.d.sync += [skipped.eq(skipped + 1),
                                 length_acc.eq(length_acc + head_count)]
            with m.Else():
                m.d.comb += [
                    chunk_valid.eq(data_out.r_rdy),
                    chunk.eq(run_data),
                    chunk_count.eq(run_count),
                    chunk_last.eq(head.last),
                    data_out.r_en.eq(chunk_taken),
                ]
                with m.If(chunk_taken):
                    m.d.sync += [length_acc.eq(length_acc + head_count), copying.eq(1)]
                    with m.If(head.last):
                        m.d.comb += [done.eq(1), done_len.eq(length_acc + head_count)]
        with m.Elif(resume_fifo.r_rdy & (skipped != cur_resume) & data_out.r_rdy &
                    ~head.last):
            # no result yet: skip ahead (never the last beat, which ``done`` needs)
            m.d.comb += data_out.r_en.eq(1)
            m.d.sync += [skipped.eq(skipped + 1), length_acc.eq(length_acc + head_count)]

        m.d.comb += [result_fifo.r_en.eq(done), resume_fifo.r_en.eq(done), popped.eq(done)]
        with m.If(done):
            m.d.sync += [piece.eq(0), consumed.eq(0), in_data.eq(0), draining.eq(0), fifo_done.eq(0),
                         length_acc.eq(0), skipped.eq(0), copying.eq(0)]

        for t, counter in counters.items():
            m.d.comb += [counter.update.eq(done & cur_valid & cur[f"cnt_en_{t}"]),
                         counter.index.eq(cur[f"cnt_idx_{t}"]), counter.length.eq(done_len)]

        # gearbox: buffered bytes + the incoming chunk, one beat out per clock
        o = self.o.payload
        held = Signal(W)
        held_count = Signal(range(B))
        flush = Signal()
        started = Signal()
        out_port = Signal(ir.PORT_WIDTH)
        out_tag = Signal(TAG_WIDTH)
        advance = ~self.o.valid | self.o.ready
        m.d.comb += chunk_taken.eq(advance & ~flush & chunk_valid)
        # the second chunk goes too when the first leaves the gearbox short of a beat; what
        # is held then stays under a beat
        with_first = Signal(range(2 * B))
        m.d.comb += [with_first.eq(held_count + chunk_count),
                     chunk2_taken.eq(chunk_taken & chunk2_valid & (with_first < B))]
        count2 = Mux(chunk2_taken, chunk2_count, 0)
        combined = Signal(2 * W)
        m.d.comb += combined.eq(
            held | ((chunk & byte_mask(m, chunk_count, B)) << (held_count * 8)) |
            ((chunk2 & byte_mask(m, count2, B)) << (with_first[:max(1, (B - 1).bit_length())] * 8)))
        total = Signal(range(2 * B + 1))
        m.d.comb += total.eq(with_first + count2)
        last = Mux(chunk2_taken, chunk2_last, chunk_last)
        with m.If(advance):
            m.d.sync += self.o.valid.eq(0)
            with m.If(flush):
                m.d.sync += [
                    self.o.valid.eq(1), o.data.eq(held), o.keep.eq(lane_mask(held_count, B)),
                    o.last.eq(1), o.first.eq(~started), o.port.eq(out_port), o.tag.eq(out_tag),
                    flush.eq(0), held.eq(0), held_count.eq(0), started.eq(0),
                ]
            with m.Elif(chunk_valid):
                m.d.sync += [out_port.eq(cur.port), out_tag.eq(cur.tag)]
                with m.If(total >= B):
                    m.d.sync += [
                        self.o.valid.eq(1), o.data.eq(combined[:W]), o.keep.eq(Const((1 << B) - 1, B)),
                        o.last.eq(last & (total == B)), o.first.eq(~started),
                        o.port.eq(cur.port), o.tag.eq(cur.tag),
                        held.eq(combined[W:]), held_count.eq(total - B),
                        flush.eq(last & (total > B)),
                        started.eq(~(last & (total == B))),
                    ]
                with m.Elif(last):
                    m.d.sync += [
                        self.o.valid.eq(1), o.data.eq(combined[:W]),
                        o.keep.eq(lane_mask(total, B)), o.last.eq(1), o.first.eq(~started),
                        o.port.eq(cur.port), o.tag.eq(cur.tag),
                        held.eq(0), held_count.eq(0), started.eq(0),
                    ]
                with m.Else():
                    m.d.sync += [held.eq(combined[:W]), held_count.eq(total)]

        m.d.comb += self.busy.eq((outstanding != 0) | data_fifo.r_rdy | data_out.r_rdy |
                                 cur_valid | flush | self.o.valid | (beat != 0) | desc_valid |
                                 (held_count != 0))
        return m

