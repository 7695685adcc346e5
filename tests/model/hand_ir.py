"""Small IR programs built by hand, for model, STF and CLI tests that must not depend on the
front end. Header layouts follow compiler/std.wire."""

from __future__ import annotations

from wirespeed.compiler import ir

B = ir.Bits


def header_type(name: str, fields: list[tuple[str, int]],
                varlen: ir.VarLen | None = None) -> ir.HeaderType:
    return ir.HeaderType(name, tuple(ir.Field(n, w) for n, w in fields), varlen)


ETHERNET = header_type("ethernet", [("dst", 48), ("src", 48), ("ethertype", 16)])
VLAN = header_type("vlan", [("pcp", 3), ("dei", 1), ("vid", 12), ("ethertype", 16)])
IPV4 = header_type("ipv4", [
    ("version", 4), ("ihl", 4), ("dscp", 6), ("ecn", 2), ("total_len", 16),
    ("identification", 16), ("flags", 3), ("frag_offset", 13), ("ttl", 8), ("protocol", 8),
    ("checksum", 16), ("src", 32), ("dst", 32)],
    ir.VarLen("options", "ihl", 4, -20, 40))
UDP = header_type("udp", [("src_port", 16), ("dst_port", 16), ("length", 16),
                          ("checksum", 16)])
TCP = header_type("tcp", [
    ("src_port", 16), ("dst_port", 16), ("seq", 32), ("ack", 32), ("data_offset", 4),
    ("reserved", 4), ("flags", 8), ("window", 16), ("checksum", 16), ("urgent", 16)])
VXLAN = header_type("vxlan", [("flags", 8), ("reserved", 24), ("vni", 24), ("reserved2", 8)])


def f(header: str, name: str, width: int) -> ir.FieldRef:
    return ir.FieldRef(header, name, B(width))


def meta(name: str, width: int) -> ir.MetaRef:
    return ir.MetaRef("meta", name, B(width))


def c(value: int, width: int) -> ir.Const:
    return ir.Const(value, B(width))


def binop(op: str, left: ir.Expr, right: ir.Expr) -> ir.BinOp:
    kind = ir.BinOpKind(op)
    rtype: ir.Type = ir.BOOL if kind in ir.COMPARISONS | ir.LOGICAL else left.type
    return ir.BinOp(kind, left, right, rtype)


def state(name: str, extracts: tuple[str, ...], keys: tuple[ir.Expr, ...] = (),
          cases: tuple[tuple[tuple[ir.Match, ...], str], ...] = (),
          default: str = ir.ACCEPT) -> ir.ParserState:
    return ir.ParserState(name, extracts, keys,
                          tuple(ir.SelectCase(m, n) for m, n in cases), default)


STD_PARSER = (
    state("start", ("ethernet",), (f("ethernet", "ethertype", 16),),
          (((ir.Exact(0x0800),), "v4"),)),
    state("v4", ("ipv4",), (f("ipv4", "protocol", 8),),
          (((ir.Exact(17),), "l4udp"), ((ir.Exact(6),), "l4tcp"))),
    state("l4udp", ("udp",), (f("udp", "dst_port", 16),),
          (((ir.Exact(4789),), "vx"),)),
    state("l4tcp", ("tcp",)),
    state("vx", ("vxlan", "inner_ethernet")),
)

STD_HEADERS = (
    ir.HeaderInstance("ethernet", ETHERNET),
    ir.HeaderInstance("ipv4", IPV4),
    ir.HeaderInstance("udp", UDP),
    ir.HeaderInstance("tcp", TCP),
    ir.HeaderInstance("vxlan", VXLAN),
    ir.HeaderInstance("inner_ethernet", ETHERNET),
)

DROP_CALL = ir.ActionCall("drop")

FORWARD = ir.Action("to_port", (ir.Param("port", 9),),
                    (ir.Forward(ir.ParamRef("port", B(9))),))


def program(*, tables: tuple[ir.Table, ...] = (), actions: tuple[ir.Action, ...] = (),
            ingress: tuple[ir.Stmt, ...] = (), metadata: tuple[ir.MetaField, ...] = (),
            parser: tuple[ir.ParserState, ...] = STD_PARSER,
            headers: tuple[ir.HeaderInstance, ...] = STD_HEADERS,
            registers: tuple[ir.Register, ...] = (), meters: tuple[ir.Meter, ...] = (),
            checksums: tuple[str, ...] = ("ipv4",)) -> ir.Program:
    types = tuple({h.type.name: h.type for h in headers}.values())
    return ir.Program("hand", types, headers, metadata, parser, (FORWARD, *actions), tables,
                      registers, meters, ingress, checksums)


def forward_all(port: int = 1, **kwargs) -> ir.Program:
    """Every parsed packet leaves on ``port``; extra statements run after the forward."""
    extra = kwargs.pop("ingress", ())
    return program(ingress=(ir.Forward(c(port, 9)), *extra), **kwargs)


def table(name: str, keys: list[tuple[ir.FieldRef | ir.MetaRef, str]], actions: tuple[str, ...],
          default: ir.ActionCall = DROP_CALL, size: int = 64,
          counters: bool = False, const_entries: tuple[ir.Entry, ...] = ()) -> ir.Table:
    return ir.Table(name, tuple(ir.TableKey(e, ir.MatchKind(k)) for e, k in keys), actions,
                    default, size, counters, const_entries)
