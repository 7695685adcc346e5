"""The gateway's STF on the whole NIC at its RGMII pins: the real pipeline from hdl/, every
table entry written through in-band control frames (EtherType 0x88B5), every packet sent
and received as Ethernet frames by cocotbext-eth's RGMII source and sink, every frame out
checked for its FCS (in tb_nic.py)."""

from pathlib import Path

from wirespeed.boards.board import BOARDS
from wirespeed.boards.simexec import RgmiiExecutor
from wirespeed.compiler.frontend import load_program
from wirespeed.sim.executor import SendPacket
from wirespeed.sim.stf import load_stf, run_stf

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_gateway_stf_at_rgmii_pins_with_entries_in_band():
    program = load_program(str(EXAMPLES / "gateway.wire"))
    test = load_stf(program, EXAMPLES / "gateway.stf")
    # One Ethernet port per port the test sends to or expects on (510, the host, included).
    ports = sorted({op.port for op in test.ops if isinstance(op, SendPacket)}
                   | {e.port for e in test.expects})
    # The tables as the Colorlight 5A-75B builds them (its TCAMs hold fewer entries).
    board = BOARDS["colorlight-5a-75b"]
    with RgmiiExecutor(program, ports=ports, limits=board.limits) as executor:
        result = run_stf(executor, test)
    failures = [f"line {c.line}: {c.kind} {c.message}" for c in result.failures]
    assert not failures, "\n".join(failures)
    assert sum(c.kind == "packet" for c in result.checks) == len(test.expects)
    assert any(c.kind == "counter" for c in result.checks)
