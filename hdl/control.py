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
from wirespeed.hdl.phv import ExprCompiler, Phv, UnsupportedOnFpga
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
                 descs: dict[str, TableDesc]) -> None:
        self.m = m
        self.program = program
        self.units = units
        self.descs = descs
        self.exprs = ExprCompiler(program)
        self.stages = 0
        self.applied: set[str] = set()
        self.registers: dict[str, RegisterPorts] = {}

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

    def register_read(self, s: ir.RegisterRead, phv: Phv, pred_key: str) -> None:
        """Read in this cycle, use the value in the next: the read port is transparent to the
        write port, and a write to the same register must come in that next stage too, so
        back-to-back packets always see each other's updates (no read-modify-write hazard)."""
        ports = self.register_port(s.register)
        if ports.read_stage is not None:
            raise UnsupportedOnFpga(f"{s.span}: register {s.register!r} is read more than "
                                    "once; the FPGA pipeline gives each register one read")
        index = self.exprs.ev(s.index, phv)
        phv[f"rin:{s.register}"] = index < ports.reg.size
        self.m.d.comb += ports.read.addr.eq(index)
        self.cut(phv)
        ports.read_stage = self.stages
        value = Mux(phv[f"rin:{s.register}"], ports.read.data, 0)
        self.exprs.write(phv, s.target, value, phv[pred_key] & phv["alive"])

    def register_write(self, s: ir.RegisterWrite, phv: Phv, pred: Value) -> None:
        ports = self.register_port(s.register)
        if ports.written:
            raise UnsupportedOnFpga(f"{s.span}: register {s.register!r} is written more than "
                                    "once; the FPGA pipeline gives each register one write")
        if ports.read_stage is not None and ports.read_stage != self.stages:
            raise UnsupportedOnFpga(
                f"{s.span}: a table lookup between reading and writing register "
                f"{s.register!r}; the FPGA pipeline needs the write in the stage after the read")
        ports.written = True
        index = self.exprs.ev(s.index, phv)
        value = self.exprs.ev(s.value, phv)
        self.m.d.comb += [
            ports.write.addr.eq(index),
            ports.write.data.eq(value),
            # only real packets the parser accepted write state
            ports.write.en.eq(pred & (index < ports.reg.size) & phv["valid"] & phv["accepted"]),
        ]

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
                    self.apply(table, phv, pred_key)
                case ir.ApplyHit(table, hit, miss):
                    self.apply(table, phv, pred_key)
                    hit_key = phv.new_pred(phv[pred_key] & phv[f"hit:{table}"])
                    miss_key = phv.new_pred(phv[pred_key] & ~phv[f"hit:{table}"])
                    self.walk(hit, phv, hit_key)
                    self.walk(miss, phv, miss_key)
                case ir.ApplySwitch(table, cases, default):
                    self.apply(table, phv, pred_key)
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

    def apply(self, table: str, phv: Phv, pred_key: str) -> None:
        if table in self.applied:
            raise UnsupportedOnFpga(f"table {table!r} is applied more than once; the FPGA "
                                    "pipeline gives each table one lookup stage")
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
        applied = phv[f"ap:{table}"]
        for index, name in enumerate(desc.actions):
            run = applied & (phv[f"act:{table}"] == index)
            args: dict[str, Value] = {}
            lsb = 0
            for p in action_params(self.program, name):
                args[p.name] = params[lsb:lsb + p.width]
                lsb += p.width
            self.run_action(name, phv, run, args)

    def run_action(self, name: str, phv: Phv, pred: Value, args: dict[str, Value]) -> None:
        try:
            body = self.program.action(name).body
        except KeyError:
            body = _builtin_body(name)
        for s in body:
            if not self.exprs.run_simple(s, phv, pred, args):
                raise UnsupportedOnFpga(f"{s!r} inside action {name!r}")


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
