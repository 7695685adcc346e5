"""The ingress control as a pipeline: predicated statements, cut at every table lookup.

Each ``apply`` costs two pipeline stages: the PHV is registered, the key goes to the table
(memory address or TCAM compare), and one cycle later the PHV is registered again next to
the lookup result, from which the chosen action runs under its predicate. Everything between
two lookups is combinational. The latency is therefore fixed: two cycles per table applied.
"""

from __future__ import annotations

from dataclasses import dataclass

from amaranth.hdl import Cat, Const, Module, Mux, Value
from amaranth.lib.memory import Memory
from wirespeed.compiler import ir
from wirespeed.hdl.meters import TOKEN_BITS, MeterUnit
from wirespeed.hdl.phv import ExprCompiler, Phv, UnsupportedOnFpga, fit
from wirespeed.hdl.tables import TableDesc, TableUnit, action_params


@dataclass
class RegisterPorts:
    reg: ir.Register
    read: object
    write: object
    host: object
    read_stage: int | None = None
    written: bool = False


class ControlBuilder:
    def __init__(self, m: Module, program: ir.Program, units: dict[str, TableUnit],
                 descs: dict[str, TableDesc], clock_hz: int) -> None:
        self.m = m
        self.clock_hz = clock_hz
        self.program = program
        self.units = units
        self.descs = descs
        self.exprs = ExprCompiler(program, m)
        self.stages = 0
        self.applied: set[str] = set()
        self.registers: dict[str, RegisterPorts] = {}
        self.meters: dict[str, MeterUnit] = {}

    def cut(self, phv: Phv) -> None:
        phv.cut(self.m, f"s{self.stages}")
        self.stages += 1

    def register_port(self, name: str) -> RegisterPorts:
        if name not in self.registers:
            reg = self.program.register(name)
            mem = Memory(shape=reg.width, depth=reg.size, init=[])
            self.m.submodules[f"register_{name}"] = mem
            write = mem.write_port()
            read = mem.read_port(transparent_for=(write,))
            host = mem.read_port()
            self.registers[name] = RegisterPorts(reg, read, write, host)
        return self.registers[name]

    def register_read(self, s: ir.RegisterRead, phv: Phv, pred_key: str,
                      params: dict[str, Value] | None = None) -> None:
        """Read in this cycle, use the value in the next: the read port is transparent to the
        write port, and a write to the same register must come in that next stage too, so
        back-to-back packets always see each other's updates (no read-modify-write hazard)."""
        ports = self.register_port(s.register)
        if ports.read_stage is not None:
            raise UnsupportedOnFpga(f"register {s.register!r} is read more than once; the "
                                    "FPGA pipeline gives each register one read", s.span)
        index = self.exprs.ev(s.index, phv, params)
        phv[f"rin:{s.register}"] = index < ports.reg.size
        self.m.d.comb += ports.read.addr.eq(index)
        self.cut(phv)
        ports.read_stage = self.stages
        value = Mux(phv[f"rin:{s.register}"], ports.read.data, 0)
        self.exprs.write(phv, s.target, value, phv[pred_key] & phv["alive"])

    def register_write(self, s: ir.RegisterWrite, phv: Phv, pred: Value,
                       params: dict[str, Value] | None = None) -> None:
        ports = self.register_port(s.register)
        if ports.written:
            raise UnsupportedOnFpga(f"register {s.register!r} is written more than once; the "
                                    "FPGA pipeline gives each register one write", s.span)
        if ports.read_stage is not None and ports.read_stage != self.stages:
            raise UnsupportedOnFpga(
                f"a table lookup between reading and writing register {s.register!r}; the "
                "FPGA pipeline needs the write in the stage after the read", s.span)
        ports.written = True
        index = self.exprs.ev(s.index, phv, params)
        value = self.exprs.ev(s.value, phv, params)
        self.m.d.comb += [
            ports.write.addr.eq(index),
            ports.write.data.eq(value),
            # only real packets the parser accepted write state
            ports.write.en.eq(pred & (index < ports.reg.size) & phv["valid"] & phv["accepted"]),
        ]

    def meter_execute(self, s: ir.MeterExecute, phv: Phv, pred_key: str,
                      params: dict[str, Value] | None = None) -> None:
        """Like a register read-modify-write: the cell is read in this stage and coloured and
        written back in the next (``MeterUnit``), so each meter is executed once at most."""
        if s.meter in self.meters:
            raise UnsupportedOnFpga(f"meter {s.meter!r} is executed more than once; the FPGA "
                                    "pipeline gives each meter one execution", s.span)
        meter = self.program.meter(s.meter)
        unit = self.meters[s.meter] = MeterUnit(meter.size)
        self.m.submodules[f"meter_{s.meter}"] = unit
        index = self.exprs.ev(s.index, phv, params)
        amount = (phv["m:std.packet_length"] if meter.unit is ir.MeterUnit.BYTES else 1)
        phv[f"min:{s.meter}"] = index < meter.size
        phv[f"need:{s.meter}"] = fit(amount * self.clock_hz, TOKEN_BITS)
        self.m.d.comb += unit.addr.eq(index)
        self.cut(phv)
        pred = phv[pred_key] & phv["alive"]
        inside = phv[f"min:{s.meter}"]
        self.m.d.comb += [
            unit.need.eq(phv[f"need:{s.meter}"]),
            # only real packets the parser accepted spend tokens
            unit.enable.eq(pred & inside & phv["valid"] & phv["accepted"]),
        ]
        self.exprs.write(phv, s.target, Mux(inside, unit.colour, 0), pred)

    def run(self, phv: Phv) -> None:
        phv["alive"] = Const(1, 1)
        root = phv.new_pred(Const(1, 1))
        self.walk(self.program.ingress, phv, root)

    def walk(self, stmts: tuple[ir.Stmt, ...], phv: Phv, pred_key: str) -> None:
        for s in stmts:
            pred = phv[pred_key] & phv["alive"]
            match s:
                case ir.RegisterRead():
                    self.register_read(s, phv, pred_key)
                    continue
                case ir.RegisterWrite():
                    self.register_write(s, phv, pred)
                    continue
                case ir.MeterExecute():
                    self.meter_execute(s, phv, pred_key)
                    continue
                case _:
                    pass
            if self.exprs.run_simple(s, phv, pred):
                continue
            match s:
                case ir.If(cond, then, otherwise):
                    c = self.exprs.ev(cond, phv)[0]
                    then_key = phv.new_pred(phv[pred_key] & c)
                    else_key = phv.new_pred(phv[pred_key] & ~c)
                    self.walk(then, phv, then_key)
                    self.walk(otherwise, phv, else_key)
                case ir.Return():
                    phv["alive"] = phv["alive"] & ~pred
                case ir.Apply(table):
                    self.apply(s, phv, pred_key)
                case ir.ApplyHit(table, hit, miss):
                    self.apply(s, phv, pred_key)
                    hit_key = phv.new_pred(phv[pred_key] & phv[f"hit:{table}"])
                    miss_key = phv.new_pred(phv[pred_key] & ~phv[f"hit:{table}"])
                    self.walk(hit, phv, hit_key)
                    self.walk(miss, phv, miss_key)
                case ir.ApplySwitch(table, cases, default):
                    self.apply(s, phv, pred_key)
                    desc = self.descs[table]
                    ran = phv[f"act:{table}"]
                    keys, listed = [], []
                    for case in cases:
                        cond = Const(0, 1)
                        for name in case.actions:
                            cond = cond | (ran == desc.actions.index(name))
                        listed.append(cond)
                        keys.append(phv.new_pred(phv[pred_key] & cond))
                    other = Const(0, 1)
                    for cond in listed:
                        other = other | cond
                    default_key = phv.new_pred(phv[pred_key] & ~other)
                    for case, key in zip(cases, keys, strict=True):
                        self.walk(case.body, phv, key)
                    self.walk(default, phv, default_key)
                case _:
                    raise AssertionError(f"unexpected statement {s!r}")

    def apply(self, s: ir.Apply | ir.ApplyHit | ir.ApplySwitch, phv: Phv, pred_key: str) -> None:
        table = s.table
        if table in self.applied:
            raise UnsupportedOnFpga(f"table {table!r} is applied more than once; the FPGA "
                                    "pipeline gives each table one lookup stage", s.span)
        self.applied.add(table)
        unit, desc = self.units[table], self.descs[table]
        self.cut(phv)
        phv[f"ap:{table}"] = phv[pred_key] & phv["alive"]
        keys = [self.exprs.ev(k.expr, phv) for k in self.program.table(table).keys]
        if keys:
            self.m.d.comb += unit.key.eq(Cat(*keys))
        self.cut(phv)
        hit = unit.hit & phv[f"ap:{table}"]
        phv[f"hit:{table}"] = hit
        phv[f"act:{table}"] = Mux(unit.hit, unit.action, unit.default_action)
        params = Mux(unit.hit, unit.params, unit.default_params)
        if desc.counters:
            phv[f"cnt_en:{table}"] = phv[f"ap:{table}"]
            phv[f"cnt_idx:{table}"] = unit.counter
        # every action's predicate and arguments go into the PHV before any of them runs: an
        # action with a register or meter in it spans pipeline stages, and what the lookup
        # gave must cross those cuts with the actions after it
        runs: list[tuple[str, str, dict[str, str]]] = []
        for index, name in enumerate(desc.actions):
            run = phv.new_pred(phv[f"ap:{table}"] & (phv[f"act:{table}"] == index))
            arg_keys: dict[str, str] = {}
            lsb = 0
            for p in action_params(self.program, name):
                arg_keys[p.name] = f"arg:{table}.{name}.{p.name}"
                phv[arg_keys[p.name]] = params[lsb:lsb + p.width]
                lsb += p.width
            runs.append((name, run, arg_keys))
        for name, run, arg_keys in runs:
            self.run_action(name, phv, run, arg_keys)
        for _, _, arg_keys in runs:
            for key in arg_keys.values():
                del phv.values[key]  # no further stage needs them

    def run_action(self, name: str, phv: Phv, pred_key: str, arg_keys: dict[str, str]) -> None:
        try:
            body = self.program.action(name).body
        except KeyError:
            body = _builtin_body(name)
        for s in body:
            args = {p: phv[key] for p, key in arg_keys.items()}
            match s:
                case ir.RegisterRead():
                    self.register_read(s, phv, pred_key, args)
                case ir.RegisterWrite():
                    self.register_write(s, phv, phv[pred_key], args)
                case ir.MeterExecute():
                    self.meter_execute(s, phv, pred_key, args)
                case _:
                    if not self.exprs.run_simple(s, phv, phv[pred_key], args):
                        raise UnsupportedOnFpga(f"{type(s).__name__} inside action {name!r}",
                                                s.span)


def _builtin_body(name: str) -> tuple[ir.Stmt, ...]:
    match name:
        case "drop":
            return (ir.Drop(),)
        case "send_to_host":
            return (ir.SendToHost(),)
        case "nop":
            return ()
        case "forward":
            return (ir.Forward(ir.ParamRef("port", ir.Bits(ir.PORT_WIDTH))),)
        case _:
            raise UnsupportedOnFpga(f"unknown action {name!r}")
