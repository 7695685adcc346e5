"""The CLI on a hand-built IR program (the front end is replaced by a stub loader), so the
commands, their output and their exit codes are tested on their own."""

from pathlib import Path

import pytest
from hand_ir import f, forward_all, table
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from scapy.utils import rdpcap, wrpcap
from wirespeed.compiler import cli, ir


def program() -> ir.Program:
    routes = table("routes", [(f("ipv4", "dst", 32), "lpm")], ("to_port", "drop"),
                   counters=True)
    prog = forward_all(1, tables=(routes,))
    return ir.Program(**{**prog.__dict__, "ingress": (ir.Apply("routes"),)})


@pytest.fixture
def wire(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A .wire path whose loading gives the hand-built program."""
    path = tmp_path / "prog.wire"
    path.write_text("# compiled by the stub loader\n")
    monkeypatch.setattr(cli, "load", lambda p: program())
    return path


def pkt(dst: str = "10.0.0.2") -> bytes:
    return bytes(Ether() / IP(src="10.0.0.1", dst=dst) / UDP(sport=1, dport=2) / b"x")


def write_stf(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "t.stf"
    path.write_text(text)
    return path


def test_test_passes_with_exit_0(wire: Path, tmp_path: Path, capsys) -> None:
    stf = write_stf(tmp_path, f"add routes ipv4.dst:10.0.0.0/8 to_port(port:3)\n"
                              f"packet 0 {pkt().hex()}\nexpect 3 {pkt().hex()}$\n"
                              "check_counter routes(0) packets == 1\n")
    assert cli.main(["test", str(wire), "--stf", str(stf)]) == 0
    out = capsys.readouterr().out
    assert "reference: 1 packet checks, 1 counter/register checks: PASS" in out


def test_a_failing_test_exits_1_with_a_byte_diff(wire: Path, tmp_path: Path, capsys) -> None:
    wrong = bytearray(pkt())
    wrong[20] ^= 0xFF
    stf = write_stf(tmp_path, f"add routes ipv4.dst:10.0.0.0/8 to_port(port:3)\n"
                              f"packet 0 {pkt().hex()}\nexpect 3 {wrong.hex()}\n")
    assert cli.main(["test", str(wire), "--stf", str(stf)]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "differs at byte 20" in out
    assert f"0010 expected {wrong[16:32].hex(' ')}" in out
    assert f"0010 received {pkt()[16:32].hex(' ')}" in out


def test_a_bad_stf_is_a_user_error_with_its_line(wire: Path, tmp_path: Path, capsys) -> None:
    stf = write_stf(tmp_path, "# header\nadd routes ipv4.dst:10.0.0.0/8 fly()\n")
    assert cli.main(["test", str(wire), "--stf", str(stf)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"{stf}:2: error: table 'routes' has no action 'fly'")
    assert "Traceback" not in err


def test_unknown_target(wire: Path, tmp_path: Path, capsys) -> None:
    stf = write_stf(tmp_path, "")
    assert cli.main(["test", str(wire), "--stf", str(stf), "--target", "fpga9000"]) == 1
    assert "error: unknown target 'fpga9000' (targets: reference" in capsys.readouterr().err


def test_internal_errors_exit_3_without_a_traceback(tmp_path: Path, monkeypatch, capsys) -> None:
    path = tmp_path / "p.wire"
    path.write_text("")

    def broken(p: str) -> ir.Program:
        raise RuntimeError("the sky fell")

    monkeypatch.setattr(cli, "load", broken)
    monkeypatch.delenv("WIRESPEED_TRACEBACK", raising=False)
    assert cli.main(["graph", str(path), "-o", str(tmp_path / "g.svg")]) == 3
    err = capsys.readouterr().err
    assert err.startswith("internal compiler error: RuntimeError: the sky fell")
    assert "Traceback" not in err
    monkeypatch.setenv("WIRESPEED_TRACEBACK", "1")
    assert cli.main(["graph", str(path), "-o", str(tmp_path / "g.svg")]) == 3
    assert "Traceback" in capsys.readouterr().err


def test_run_writes_every_packet_that_left(wire: Path, tmp_path: Path, capsys) -> None:
    inputs = [Ether(pkt("10.0.0.2")), Ether(pkt("11.0.0.2")), Ether(pkt("10.0.0.3"))]
    for i, p in enumerate(inputs):
        p.time = 1000 + i
    wrpcap(str(tmp_path / "in.pcap"), inputs)
    entries = write_stf(tmp_path, "add routes ipv4.dst:10.0.0.0/8 to_port(port:3)\n")
    out = tmp_path / "out.pcap"
    code = cli.main(["run", str(wire), "--pcap", str(tmp_path / "in.pcap"), "--out", str(out),
                     "--entries", str(entries), "--per-port"])
    assert code == 0
    got = rdpcap(str(out))
    assert [bytes(p) for p in got] == [pkt("10.0.0.2"), pkt("10.0.0.3")]
    assert [float(p.time) for p in got] == [1000.0, 1002.0]
    assert [bytes(p) for p in rdpcap(str(tmp_path / "out.port3.pcap"))] == [
        pkt("10.0.0.2"), pkt("10.0.0.3")]
    printed = capsys.readouterr().out
    assert "3 packets in on port 0, 2 out" in printed


def test_run_with_a_missing_pcap(wire: Path, tmp_path: Path, capsys) -> None:
    code = cli.main(["run", str(wire), "--pcap", str(tmp_path / "nope.pcap"), "--out",
                     str(tmp_path / "o.pcap")])
    assert code == 1
    assert capsys.readouterr().err.startswith(f"error: {tmp_path / 'nope.pcap'}: no such file")


def test_graph_writes_an_svg(wire: Path, tmp_path: Path) -> None:
    out = tmp_path / "g.svg"
    assert cli.main(["graph", str(wire), "-o", str(out)]) == 0
    svg = out.read_text()
    assert "<svg" in svg and "table routes" in svg and "extract ipv4" in svg


def test_compile_to_ir(wire: Path, tmp_path: Path) -> None:
    assert cli.main(["compile", str(wire), "--target", "ir", "-o", str(tmp_path / "o")]) == 0
    text = (tmp_path / "o" / "hand.ir").read_text()
    assert text.startswith("(Program :name hand")


def test_compile_to_an_unknown_backend(wire: Path, tmp_path: Path, capsys) -> None:
    assert cli.main(["compile", str(wire), "--target", "vhdl", "-o", str(tmp_path)]) == 1
    assert "error: unknown backend 'vhdl' (backends: ir" in capsys.readouterr().err


def test_demo_runs_every_available_target(wire: Path, tmp_path: Path, monkeypatch,
                                          capsys) -> None:
    from wirespeed.sim import targets

    # the backends are tested on their own; here only the demo's own logic
    monkeypatch.setattr(targets, "TARGETS", {"reference": targets.TARGETS["reference"]})
    (tmp_path / "prog.stf").write_text(f"add routes ipv4.dst:10.0.0.0/8 to_port(port:3)\n"
                                       f"packet 0 {pkt().hex()}\nexpect 3 {pkt().hex()}\n")
    assert cli.main(["demo", str(wire)]) == 0
    out = capsys.readouterr().out
    assert "reference" in out and "pass" in out and "1/1" in out


def test_usage_errors_exit_2(capsys) -> None:
    assert cli.main(["bogus"]) == 2
    assert "error: No such command 'bogus'" in capsys.readouterr().err
    assert cli.main(["test"]) == 2
    assert "error: Missing argument 'FILE'" in capsys.readouterr().err


def test_missing_program_file(tmp_path: Path, capsys) -> None:
    stf = write_stf(tmp_path, "")
    assert cli.main(["test", str(tmp_path / "none.wire"), "--stf", str(stf)]) == 1
    assert capsys.readouterr().err.startswith(f"error: {tmp_path / 'none.wire'}: no such file")


class _Unavailable:
    """A target whose tool is missing here."""

    @staticmethod
    def unavailable_reason() -> str:
        return "frob-sim not found on PATH"


class _Broken(_Unavailable):
    """A target whose executor has a bug."""

    @staticmethod
    def unavailable_reason() -> None:
        return None

    def __init__(self, program: ir.Program) -> None:
        raise RuntimeError("executor bug")


def test_demo_lists_skipped_targets_and_survives_a_broken_one(
        wire: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    import sys
    import types

    from wirespeed.sim import targets

    module = types.ModuleType("fake_targets")
    module.Unavailable, module.Broken = _Unavailable, _Broken
    monkeypatch.setitem(sys.modules, "fake_targets", module)
    monkeypatch.setattr(targets, "TARGETS", {"reference": targets.TARGETS["reference"],
                                             "frob": "fake_targets:Unavailable",
                                             "buggy": "fake_targets:Broken"})
    (tmp_path / "prog.stf").write_text(f"add routes ipv4.dst:10.0.0.0/8 to_port(port:3)\n"
                                       f"packet 0 {pkt().hex()}\nexpect 3 {pkt().hex()}\n")
    from rich.console import Console

    monkeypatch.setattr(cli, "console", Console(width=200, highlight=False))
    assert cli.main(["demo", str(wire)]) == 3
    out = capsys.readouterr().out
    rows = {line.split("│")[1].strip(): line for line in out.splitlines() if "│" in line}
    assert "pass" in rows["reference"]
    assert "skipped" in rows["frob"] and "frob-sim not found on PATH" in rows["frob"]
    assert "ERROR" in rows["buggy"] and "executor bug" in rows["buggy"]


def test_an_unavailable_target_says_why(wire: Path, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    import sys
    import types

    from wirespeed.sim import targets

    module = types.ModuleType("fake_targets2")
    module.Unavailable = _Unavailable
    monkeypatch.setitem(sys.modules, "fake_targets2", module)
    monkeypatch.setattr(targets, "TARGETS", {**targets.TARGETS,
                                             "frob": "fake_targets2:Unavailable"})
    stf = write_stf(tmp_path, "")
    assert cli.main(["test", str(wire), "--stf", str(stf), "--target", "frob"]) == 1
    assert capsys.readouterr().err.startswith(
        "error: target 'frob' is not available here: frob-sim not found on PATH")


class _OffByOne:
    """A target with a bug: packets longer than 60 bytes leave with their last byte changed.
    Built on the reference executor so only the bug differs."""

    def __new__(cls, program: ir.Program):
        from wirespeed.sim.executor import Output
        from wirespeed.sim.reference import ReferenceExecutor

        class Buggy(ReferenceExecutor):
            target = "buggy"

            def send(self, port: int, data: bytes) -> list[Output]:
                outs = super().send(port, data)
                return [Output(o.port, o.data[:-1] + bytes([o.data[-1] ^ 1]))
                        if len(o.data) > 60 else o for o in outs]

        return Buggy(program)

    @staticmethod
    def unavailable_reason() -> None:
        return None


def test_diff_finds_a_target_that_differs_and_prints_a_reproducer(
        wire: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    import sys
    import types

    from rich.console import Console
    from wirespeed.sim import targets

    module = types.ModuleType("fake_targets3")
    module.OffByOne = _OffByOne
    monkeypatch.setitem(sys.modules, "fake_targets3", module)
    monkeypatch.setattr(targets, "TARGETS", {"reference": targets.TARGETS["reference"],
                                             "buggy": "fake_targets3:OffByOne"})
    monkeypatch.setattr(cli, "console", Console(width=200, highlight=False))
    long = bytes(Ether() / IP(src="10.0.0.1", dst="10.0.0.2") / UDP() / bytes(40))
    stf = write_stf(tmp_path, "add routes ipv4.dst:10.0.0.0/8 to_port(port:3)\n"
                              f"packet 0 {pkt().hex()}\npacket 0 {long.hex()}\n")
    assert cli.main(["diff", str(wire), "--stf", str(stf), "--count", "20"]) == 1
    out = capsys.readouterr().out
    assert "buggy: packet 1 differs" in out
    assert "add routes ipv4.dst:0xa000000/8 to_port(port:0x3)\n" \
           f"packet 0 {long.hex()}\nexpect 3 {long.hex()}$\n" in out
    assert "DIFFERENT" in out


def test_diff_with_the_same_target_is_clean(wire: Path, tmp_path: Path, monkeypatch,
                                            capsys) -> None:
    from wirespeed.sim import targets

    monkeypatch.setattr(targets, "TARGETS", {"reference": targets.TARGETS["reference"]})
    stf = write_stf(tmp_path, f"add routes ipv4.dst:10.0.0.0/8 to_port(port:3)\n"
                              f"packet 0 {pkt().hex()}\n")
    assert cli.main(["diff", str(wire), "--stf", str(stf), "--target", "reference",
                     "--count", "50"]) == 0
    assert "same" in capsys.readouterr().out


def test_mutations_are_deterministic_and_varied() -> None:
    originals = [(0, pkt()), (1, pkt("10.9.9.9"))]
    first = cli.mutated_packets(originals, 100, seed=5)
    assert first == cli.mutated_packets(originals, 100, seed=5)
    assert first != cli.mutated_packets(originals, 100, seed=6)
    lengths = {len(d) for _, d in first}
    assert min(lengths) < len(pkt()) < max(lengths)
    assert {p for p, _ in first} == {0, 1}


def test_test_trace_prints_the_reference_models_steps(wire: Path, tmp_path: Path,
                                                      capsys) -> None:
    stf = write_stf(tmp_path, f"add routes ipv4.dst:10.0.0.0/8 to_port(port:3)\n"
                              f"packet 0 {pkt().hex()}\nexpect 3 {pkt().hex()}\n")
    assert cli.main(["test", str(wire), "--stf", str(stf), "--trace"]) == 0
    out = capsys.readouterr().out
    assert f"{stf}:2 (reference model)" in out
    assert "table routes (ipv4.dst=0xa000002): hit entry 0 -> to_port(0x3)" in out


def test_compile_hands_entries_to_the_backend(wire: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import sys
    import types

    from wirespeed.compiler import backends
    from wirespeed.sim.executor import AddEntry
    from wirespeed.sim.stf import StfTest

    seen: dict[str, object] = {}

    def ops_backend(program, outdir, entries):
        seen["ops"] = entries
        return []

    def test_backend(program, outdir, entries):
        seen["test"] = entries
        return []

    test_backend.takes_stf_test = True
    module = types.ModuleType("fake_backends")
    module.ops_backend, module.test_backend = ops_backend, test_backend
    monkeypatch.setitem(sys.modules, "fake_backends", module)
    monkeypatch.setattr(backends, "BACKENDS", {"a": "fake_backends:ops_backend",
                                               "b": "fake_backends:test_backend"})
    stf = write_stf(tmp_path, f"add routes ipv4.dst:10.0.0.0/8 to_port(port:3)\n"
                              f"packet 0 {pkt().hex()}\nexpect 3 {pkt().hex()}\n")
    for target in ("a", "b"):
        assert cli.main(["compile", str(wire), "--target", target, "-o", str(tmp_path / "o"),
                         "--entries", str(stf)]) == 0
    assert [type(op) for op in seen["ops"]] == [AddEntry]
    assert isinstance(seen["test"], StfTest) and len(seen["test"].expects) == 1


def test_run_feeds_pcap_timestamps_to_the_meters(tmp_path: Path, monkeypatch, capsys) -> None:
    from hand_ir import c, meta

    colour = meta("colour", 2)
    ingress = (ir.Forward(c(1, 9)), ir.MeterExecute(colour, "police", c(0, 1)),
               ir.If(ir.BinOp(ir.BinOpKind.EQ, colour, c(2, 2), ir.BOOL), (ir.Drop(),), ()))
    prog = forward_all(1, ingress=ingress, metadata=(ir.MetaField("meta", "colour", 2),),
                       meters=(ir.Meter("police", ir.MeterUnit.PACKETS, 1),))
    wire = tmp_path / "m.wire"
    wire.write_text("")
    monkeypatch.setattr(cli, "load", lambda p: prog)
    inputs = []
    for t in (100.0, 100.5, 101.5, 101.6):  # one packet per second is allowed
        p = Ether(pkt())
        p.time = t
        inputs.append(p)
    wrpcap(str(tmp_path / "in.pcap"), inputs)
    entries = write_stf(tmp_path, "meter police[0] cir:1 cburst:1 pir:1 pburst:1\n")
    out = tmp_path / "out.pcap"
    assert cli.main(["run", str(wire), "--pcap", str(tmp_path / "in.pcap"), "--out", str(out),
                     "--entries", str(entries)]) == 0
    assert [float(p.time) for p in rdpcap(str(out))] == [100.0, 101.5]
