"""`wirespeed build` and `wirespeed board entries`: user errors are messages, not tracebacks."""

import os
import pty
import threading
from pathlib import Path

from wirespeed.boards import protocol
from wirespeed.boards.board import BOARDS
from wirespeed.compiler.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_unknown_board_is_a_clear_error(tmp_path, capsys):
    code = main(["build", str(EXAMPLES / "acl.wire"), "--board", "nexys", "-o", str(tmp_path)])
    assert code == 1
    err = capsys.readouterr().err
    assert "error: unknown board 'nexys' (known: colorlight-5a-75b, versa-ecp5, icebreaker)" in err
    assert "Traceback" not in err


def test_missing_program_is_a_clear_error(tmp_path, capsys):
    code = main(["build", str(tmp_path / "none.wire"), "--board", "icebreaker",
                 "-o", str(tmp_path)])
    assert code == 1
    assert "none.wire: no such file" in capsys.readouterr().err


def test_entries_to_a_missing_serial_port(capsys):
    code = main(["board", "entries", "--port", "/dev/does-not-exist",
                 "--board", "colorlight-5a-75b", str(EXAMPLES / "acl.stf")])
    assert code == 1
    err = capsys.readouterr().err
    assert "error: /dev/does-not-exist: No such file or directory" in err


def test_entries_to_something_that_is_not_a_nic(capsys):
    """A serial device that answers garbage: the NIC check fails with a message."""
    controller, device = pty.openpty()

    def answer() -> None:
        request = os.read(controller, protocol.RECORD_BYTES + 2)
        assert request[0] == protocol.UART_REQUEST_SYNC
        os.write(controller, b"\x00" * protocol.UART_RESPONSE_BYTES)

    thread = threading.Thread(target=answer)
    thread.start()
    code = main(["board", "entries", "--port", os.ttyname(device), "--board", "versa-ecp5",
                 str(EXAMPLES / "acl.stf")])
    thread.join()
    os.close(controller)
    os.close(device)
    assert code == 1
    assert "error: malformed UART response 00000000000000" in capsys.readouterr().err


def test_entries_for_an_unknown_board(capsys):
    code = main(["board", "entries", "--port", "/dev/null", "--board", "no-such-board",
                 str(EXAMPLES / "acl.stf")])
    assert code == 1
    assert "unknown board 'no-such-board'" in capsys.readouterr().err


def _refused_entries(tmp_path, capsys, board_name: str, program: str, lines: list[str]) -> str:
    """``wirespeed board entries`` with these STF lines: refused before anything is sent (the
    port does not exist); returns the message."""
    stf = tmp_path / "many.stf"
    stf.write_text("\n".join(lines) + "\n")
    code = main(["board", "entries", "--port", "/dev/does-not-exist", "--board", board_name,
                 "--program", str(EXAMPLES / program), str(stf)])
    assert code == 1
    return capsys.readouterr().err


def test_entries_beyond_the_boards_tcam_is_a_clear_error(tmp_path, capsys):
    """A board holds ``limits.tcam_slots`` entries of each TCAM: one more is refused before
    anything is sent, naming the table and its capacity."""
    board = min(BOARDS.values(), key=lambda b: b.limits.tcam_slots)
    slots = board.limits.tcam_slots
    lines = [f"add acl {n} ipv4.src:0x0a00{n:04x}/32 ipv4.dst:0x00000000&&&0x00000000 "
             "ipv4.protocol:6 meta.l4_src:0..65535 meta.l4_dst:0..65535 permit()"
             for n in range(slots + 1)]
    err = _refused_entries(tmp_path, capsys, board.name, "acl.wire", lines)
    assert f"table 'acl' is full: the FPGA table holds {slots} run-time" in err
    assert board.name in err


def test_entries_beyond_the_boards_exact_tables_is_a_clear_error(tmp_path, capsys):
    """The Colorlight holds 512 entries of an exact table (block RAM): the gateway's maglev
    asks for 1,024; the 513th is refused before anything is sent."""
    board = BOARDS["colorlight-5a-75b"]
    cap = board.limits.exact_entries
    assert cap is not None
    lines = [f"add maglev meta.vip_id:{n >> 8} meta.bucket:{n & 0xff} "
             "to_backend(backend:0x0a010001)" for n in range(cap + 1)]
    err = _refused_entries(tmp_path, capsys, board.name, "gateway.wire", lines)
    assert f"table 'maglev' is full: the FPGA table holds {cap} run-time entries" in err


def test_a_program_the_fpga_backend_refuses_is_shown_at_its_source(tmp_path, capsys):
    # 65 registers: one more than the control port's register units
    source = tmp_path / "registers.wire"
    cells = "".join(f"register<bit<8>>[2] r{k};\n" for k in range(65))
    source.write_text("import std;\nheaders { ethernet: ethernet; }\n" + cells +
                      "parser { start { extract ethernet; next accept; } }\n"
                      "control ingress { forward(1); }\n")
    (tmp_path / "registers.stf").write_text("")
    for argv in (["build", str(source), "--board", "icebreaker", "-o", str(tmp_path / "out")],
                 ["board", "entries", "--port", "/dev/null", "--board", "icebreaker",
                  str(tmp_path / "registers.stf")]):
        code = main(argv)
        err = capsys.readouterr().err
        assert code == 1, err
        assert "registers.wire:67:1: error: the FPGA control port has room for 64 registers" in err
        assert "internal compiler error" not in err and "Traceback" not in err


def test_the_nic_and_the_pipeline_agree_on_the_nic_unit():
    from wirespeed.hdl.pipeline import BOARD_UNIT

    assert protocol.NIC_BASE >> 24 == BOARD_UNIT
