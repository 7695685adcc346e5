"""The IR's own helpers: printing and look-ups that every backend relies on."""

from wirespeed.compiler import ir


def _ipv4_type() -> ir.HeaderType:
    return ir.HeaderType(
        "ipv4",
        (ir.Field("version", 4), ir.Field("ihl", 4), ir.Field("rest", 152)),
        ir.VarLen("options", "ihl", 4, -20, 40),
    )


def test_sexpr_leaves_out_spans_and_empty_parts() -> None:
    stmt = ir.Assign(
        ir.MetaRef("meta", "x", ir.Bits(8)),
        ir.BinOp(ir.BinOpKind.ADD, ir.Const(1, ir.Bits(8)),
                 ir.FieldRef("ipv4", "ttl", ir.Bits(8)), ir.Bits(8)),
        span=ir.Span("a.wire", 3, 5),
    )
    assert ir.sexpr(stmt) == (
        "(Assign :target (MetaRef :scope meta :name x :type bit<8>) "
        ":value (BinOp :op + :left (Const :value 1 :type bit<8>) "
        ":right (FieldRef :header ipv4 :field ttl :type bit<8>) :type bit<8>))"
    )


def test_spans_do_not_take_part_in_equality() -> None:
    a = ir.Drop(span=ir.Span("a.wire", 1, 1))
    b = ir.Drop(span=ir.Span("b.wire", 9, 9))
    assert a == b


def test_header_offsets_are_msb_first() -> None:
    t = _ipv4_type()
    assert t.offset_bits("version") == 0
    assert t.offset_bits("ihl") == 4
    assert t.offset_bits("rest") == 8
    assert t.fixed_bytes == 20


def test_key_names_follow_the_source() -> None:
    k1 = ir.TableKey(ir.FieldRef("ipv4", "dst", ir.Bits(32)), ir.MatchKind.LPM)
    k2 = ir.TableKey(ir.MetaRef("meta", "vni", ir.Bits(24)), ir.MatchKind.EXACT)
    assert (k1.name, k1.width) == ("ipv4.dst", 32)
    assert (k2.name, k2.width) == ("meta.vni", 24)
    table = ir.Table("t", (k1, k2), ("drop",), ir.ActionCall("drop"), 16)
    assert not table.needs_priority
    ternary = ir.TableKey(ir.FieldRef("ipv4", "src", ir.Bits(32)), ir.MatchKind.TERNARY)
    assert ir.Table("u", (ternary,), ("drop",), ir.ActionCall("drop"), 16).needs_priority


def test_std_metadata_is_known_to_every_program() -> None:
    prog = ir.Program("p", (), (), (ir.MetaField("meta", "vni", 24),), (), (), (), (), (), ())
    assert prog.meta("std", "egress_port").width == ir.PORT_WIDTH
    assert prog.meta("meta", "vni").width == 24
