"""The packet header vector (PHV) and the compilation of IR expressions and statements into it.

A ``Phv`` maps names to Amaranth values: ``f:hdr.field`` (header fields), ``v:hdr`` (validity),
``m:scope.name`` (metadata), ``p:N`` (control-flow predicates) and plumbing the pipeline
carries along (the header window, lengths, counter updates). Statements never branch in
hardware: every one is *predicated*. ``if c {A} else {B}`` runs A under ``pred & c`` and B
under ``pred & !c``, ``return`` clears ``alive``, and an action chosen by a table runs under
``pred & action == k``. Writing a value is a ``Mux`` on its predicate, so a whole segment of
the control between two table lookups is one block of combinational logic, and ``cut`` turns
the current PHV into pipeline registers.
"""

from __future__ import annotations

from pathlib import Path
from typing import assert_never

from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value
from amaranth.lib.memory import Memory
from wirespeed.compiler import ir
from wirespeed.hdl.crc import hardware_crc


class UnsupportedOnFpga(Exception):
    """The program uses something the FPGA backend does not build; the text says what, and
    ``span`` where in the source (the CLI shows that line with a caret)."""

    def __init__(self, message: str, span: ir.Span = ir.NO_SPAN) -> None:
        super().__init__(message)
        self.span = span

    def located(self) -> str:
        """``file:line:col: error: message`` and the source line with a caret, when known."""
        from wirespeed.compiler.diagnostics import source_excerpt

        if self.span.line < 1:
            return str(self)
        try:
            source = Path(self.span.file).read_text()
        except (OSError, UnicodeDecodeError):
            source = None
        return "\n".join([f"{self.span}: error: {self}", *source_excerpt(self.span, source)])


def width_of(t: ir.Type) -> int:
    match t:
        case ir.Bits(width):
            return width
        case ir.BoolType():
            return 1
        case _:
            assert_never(t)


def fit(value: Value, width: int) -> Value:
    """Truncate or zero-extend to exactly ``width`` bits."""
    value = Value.cast(value)
    if len(value) >= width:
        return value[:width]
    return Cat(value, Const(0, width - len(value)))


class Phv:
    def __init__(self, values: dict[str, Value] | None = None) -> None:
        self.values: dict[str, Value] = dict(values or {})
        self._next_pred = 0
        # name -> (the value when tracked, stages cut since, the value the PHV holds now while
        # no stage has changed it)
        self._tracked: dict[str, tuple[Value, int, Value]] = {}
        self._delays = 0
        self._clock: Signal | None = None

    def __getitem__(self, name: str) -> Value:
        return self.values[name]

    def __setitem__(self, name: str, value: Value) -> None:
        self.values[name] = value

    def __contains__(self, name: str) -> bool:
        return name in self.values

    def new_pred(self, value: Value) -> str:
        name = f"p:{self._next_pred}"
        self._next_pred += 1
        self.values[name] = value
        return name

    def cut(self, m: Module, stage: str) -> None:
        """Register every value: the next stage starts from flip-flops."""
        registered = {}
        for name, raw in self.values.items():
            value = Value.cast(raw)
            reg = Signal(len(value), name=f"{stage}_{_ident(name)}")
            m.d.sync += reg.eq(value)
            registered[name] = reg
            if name in self._tracked:
                source, stages, now = self._tracked.pop(name)
                if raw is now:
                    self._tracked[name] = (source, stages + 1, reg)
        self.values = registered

    def track(self, names: list[str]) -> None:
        """Follow these values down the pipeline: while no stage changes one, ``delayed`` can
        fetch it from a memory written when it was tracked instead of from a register per
        stage. The pipeline never stalls, so ``n`` stages later is ``n`` clocks later."""
        for name in names:
            self._tracked[name] = (self.values[name], 0, self.values[name])

    def delayed(self, m: Module, names: list[str]) -> None:
        """Replace those of ``names`` that no stage has changed since they were tracked (and
        that are two or more stages old) by the read port of one memory: a value no stage
        reads any more then leaves no flip-flops behind (synthesis removes the dead ones), where
        a wide header field carried to the deparser costs one register per stage."""
        groups: dict[int, list[str]] = {}
        for name in names:
            if name in self._tracked:
                source, stages, now = self._tracked[name]
                if self.values[name] is now and stages >= 2:
                    groups.setdefault(stages, []).append(name)
        for stages, group in groups.items():
            if self._clock is None:
                self._clock = Signal(8, name="delay_clock")
                m.d.sync += self._clock.eq(self._clock + 1)
            depth = 1 << (stages - 1).bit_length()  # holds ``stages`` clocks of writes
            bits = (depth - 1).bit_length()
            sources = [Value.cast(self._tracked.pop(name)[0]) for name in group]
            mem = Memory(shape=sum(len(v) for v in sources), depth=depth, init=[])
            m.submodules[f"delay{self._delays}"] = mem
            self._delays += 1
            write, read = mem.write_port(), mem.read_port()
            # written in the clock the values were tracked, read one clock before they are due
            m.d.comb += [write.addr.eq(self._clock[:bits]), write.data.eq(Cat(*sources)),
                         write.en.eq(1), read.addr.eq(self._clock[:bits] - (stages - 1))]
            lsb = 0
            for name, value in zip(group, sources, strict=True):
                self.values[name] = read.data[lsb:lsb + len(value)]
                lsb += len(value)


def _ident(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name)


class ExprCompiler:
    """IR expressions over a PHV (and the parameters of the action being run)."""

    def __init__(self, program: ir.Program, m: Module) -> None:
        self.program = program
        self.m = m
        self._named = 0

    def named(self, value: Value, what: str) -> Signal:
        """``value`` as a wire of its own. An expression used in many places (every tap of a
        CRC's XOR network) is otherwise written out again at each of them."""
        value = Value.cast(value)
        wire = Signal(len(value), name=f"{what}{self._named}")
        self._named += 1
        self.m.d.comb += wire.eq(value)
        return wire

    def ev(self, e: ir.Expr, phv: Phv, params: dict[str, Value] | None = None) -> Value:
        match e:
            case ir.Const(value, t):
                return Const(value & ((1 << width_of(t)) - 1), width_of(t))
            case ir.FieldRef(header, name, t):
                return Mux(phv[f"v:{header}"], phv[f"f:{header}.{name}"], 0)[:t.width]
            case ir.MetaRef(scope, name, t):
                if f"m:{scope}.{name}" not in phv:
                    raise AssertionError(f"{scope}.{name} is not in the PHV")
                return phv[f"m:{scope}.{name}"]
            case ir.ParamRef(name, t):
                assert params is not None, "a parameter outside an action"
                return params[name]
            case ir.IsValid(header):
                return phv[f"v:{header}"]
            case ir.BinOp(op, left, right, t):
                return self._binop(op, self.ev(left, phv, params), self.ev(right, phv, params),
                                   width_of(left.type), right)
            case ir.UnOp(op, operand, t):
                value = self.ev(operand, phv, params)
                match op:
                    case ir.UnOpKind.NOT:
                        return fit(~value, width_of(t))
                    case ir.UnOpKind.LNOT:
                        return ~value[0]
                    case _:
                        assert_never(op)
            case ir.Slice(value, hi, lo, t):
                return self.ev(value, phv, params)[lo:hi + 1]
            case ir.Concat(left, right, t):
                return Cat(self.ev(right, phv, params), self.ev(left, phv, params))
            case ir.Cast(value, t):
                return fit(self.ev(value, phv, params), t.width)
            case _:
                assert_never(e)

    def _binop(self, op: ir.BinOpKind, a: Value, b: Value, width: int, right: ir.Expr) -> Value:
        K = ir.BinOpKind
        match op:
            case K.ADD:
                return fit(a + b, width)
            case K.SUB:
                return fit(a - b, width)
            case K.AND:
                return a & b
            case K.OR:
                return a | b
            case K.XOR:
                return a ^ b
            case K.SHL | K.SHR:
                if isinstance(right, ir.Const):
                    n = right.value
                    if n >= width:
                        return Const(0, width)
                    return fit(a << n, width) if op == K.SHL else fit(a >> n, width)
                amount_bits = max(1, (width - 1).bit_length())
                small = b[:amount_bits]
                too_far = (b >= width) if len(b) > amount_bits or (1 << amount_bits) > width \
                    else Const(0, 1)
                shifted = fit(a << small, width) if op == K.SHL else fit(a >> small, width)
                return Mux(too_far, 0, shifted)
            case K.EQ:
                return a == b
            case K.NE:
                return a != b
            case K.LT:
                return a < b
            case K.LE:
                return a <= b
            case K.GT:
                return a > b
            case K.GE:
                return a >= b
            case K.LAND:
                return a[0] & b[0]
            case K.LOR:
                return a[0] | b[0]
            case _:
                assert_never(op)

    def write(self, phv: Phv, target: ir.LValue, value: Value, pred: Value) -> None:
        match target:
            case ir.FieldRef(header, name, t):
                key = f"f:{header}.{name}"
                phv[key] = Mux(pred & phv[f"v:{header}"], fit(value, t.width), phv[key])
            case ir.MetaRef(scope, name, t):
                key = f"m:{scope}.{name}"
                phv[key] = Mux(pred, fit(value, t.width), phv[key])
            case _:
                assert_never(target)

    def run_simple(self, s: ir.Stmt, phv: Phv, pred: Value,
                   params: dict[str, Value] | None = None) -> bool:
        """Run a statement that may appear in an action. False if ``s`` is a control form."""
        egress = ir.MetaRef("std", "egress_port", ir.Bits(ir.PORT_WIDTH))
        match s:
            case ir.Assign(target, value):
                self.write(phv, target, self.ev(value, phv, params), pred)
            case ir.SetValid(header):
                was = phv[f"v:{header}"]
                for f in self.program.header(header).type.fields:
                    key = f"f:{header}.{f.name}"
                    phv[key] = Mux(pred & ~was, 0, phv[key])
                phv[f"v:{header}"] = was | pred
            case ir.SetInvalid(header):
                phv[f"v:{header}"] = phv[f"v:{header}"] & ~pred
            case ir.Forward(port):
                self.write(phv, egress, self.ev(port, phv, params), pred)
            case ir.Drop():
                self.write(phv, egress, Const(ir.DROP_PORT, ir.PORT_WIDTH), pred)
            case ir.SendToHost():
                self.write(phv, egress, Const(ir.HOST_PORT, ir.PORT_WIDTH), pred)
            case ir.Hash(target, algo, fields):
                # fields concatenated MSB first: the first field ends up in the high bits
                value = Cat(*reversed([self.ev(f, phv, params) for f in fields]))
                self.write(phv, target, hardware_crc(algo, self.named(value, "crc_in")), pred)
            case ir.RegisterRead() | ir.RegisterWrite() | ir.MeterExecute():
                raise UnsupportedOnFpga(
                    "registers and meters are used from the control on the FPGA, not inside "
                    "an action a table runs (each one is a pipeline stage of its own)", s.span)
            case _:
                return False
        return True
