"""``wirespeed build`` (a program onto a board) and ``wirespeed board ...`` (talk to one)."""

from __future__ import annotations

import os
import select
import termios
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click
from wirespeed.boards import protocol

if TYPE_CHECKING:
    from wirespeed.hdl.phv import UnsupportedOnFpga


def _fail(error: Exception) -> click.ClickException:
    return click.ClickException(str(error))


def _refused(error: UnsupportedOnFpga) -> Exception:
    """The FPGA backend's refusal of a program, at its place in the source (``located``)."""
    from wirespeed.compiler.cli import UserError

    return UserError(error.located())


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--board", "board_name", required=True, metavar="NAME",
              help="colorlight-5a-75b, versa-ecp5 or icebreaker.")
@click.option("-o", "--out", "out_dir", required=True, metavar="DIR",
              help="Where the bitstream and report.txt/report.json go.")
@click.option("--width", default=64, show_default=True, help="Pipeline data width in bits.")
def build(file: str, board_name: str, out_dir: str, width: int) -> None:
    """Synthesise, place and route FILE for a board; write the bitstream and a report."""
    from wirespeed.boards.board import BoardError
    from wirespeed.boards.build import BuildError
    from wirespeed.boards.build import build as run_build
    from wirespeed.hdl.phv import UnsupportedOnFpga

    if not Path(file).is_file():
        raise click.ClickException(f"{file}: no such file")
    out = Path(out_dir)
    try:
        report = run_build(Path(file), board_name, out, width,
                           progress=lambda message: click.echo(message, err=True))
    except UnsupportedOnFpga as error:
        raise _refused(error) from None
    except (BuildError, BoardError) as error:
        report_file = out / "report.txt"
        if report_file.exists():
            click.echo(report_file.read_text(), err=True)
        raise _fail(error) from None
    click.echo(report.to_text(), nl=False)


@click.group()
def board() -> None:
    """Talk to a board running a wirespeed NIC."""


class SerialLink:
    """A raw 8N1 serial port (termios; no extra dependency)."""

    def __init__(self, device: str, baud: int):
        speed = getattr(termios, f"B{baud}", None)
        if speed is None:
            raise click.ClickException(f"unsupported baud rate {baud}")
        self.fd = os.open(device, os.O_RDWR | os.O_NOCTTY)
        attrs = termios.tcgetattr(self.fd)
        attrs[0] = 0                                                     # iflag: raw
        attrs[1] = 0                                                     # oflag
        attrs[2] = termios.CS8 | termios.CREAD | termios.CLOCAL          # cflag: 8N1
        attrs[3] = 0                                                     # lflag
        attrs[4] = attrs[5] = speed
        termios.tcsetattr(self.fd, termios.TCSANOW, attrs)
        termios.tcflush(self.fd, termios.TCIOFLUSH)

    def exchange(self, request: bytes, answer_bytes: int, timeout_s: float = 1.0) -> bytes:
        os.write(self.fd, request)
        got = b""
        deadline = time.monotonic() + timeout_s
        while len(got) < answer_bytes:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                raise protocol.ProtocolError(
                    f"no answer from the board ({len(got)} of {answer_bytes} bytes)")
            got += os.read(self.fd, answer_bytes - len(got))
        return got

    def close(self) -> None:
        os.close(self.fd)


def run_records(link: SerialLink, records: list[protocol.Record]) -> list[protocol.Response]:
    responses = []
    for record in records:
        raw = link.exchange(protocol.uart_request(record), protocol.UART_RESPONSE_BYTES)
        responses.append(protocol.uart_response(raw))
    protocol.check_responses(records, responses)
    return responses


@board.command()
@click.argument("stf", type=click.Path(dir_okay=False))
@click.option("--port", "device", required=True, metavar="DEV", help="Serial port, /dev/ttyUSB0.")
@click.option("--program", metavar="FILE.wire",
              help="The program running on the board (default: the .wire beside the STF).")
@click.option("--board", "board_name", required=True, metavar="NAME",
              help="The board the bitstream was built for (its table capacities).")
@click.option("--baud", default=115200, show_default=True)
@click.option("--width", default=64, show_default=True,
              help="The data width the bitstream was built with.")
def entries(stf: str, device: str, program: str | None, board_name: str, baud: int,
            width: int) -> None:
    """Write the table entries and defaults of an STF file into a running board."""
    from wirespeed.boards.board import BoardError, find_board
    from wirespeed.boards.pipeline import control_plane
    from wirespeed.compiler.frontend import load_program
    from wirespeed.hdl.controlplane import ControlPlaneError
    from wirespeed.hdl.phv import UnsupportedOnFpga
    from wirespeed.sim.executor import AddEntry, SetDefault
    from wirespeed.sim.stf import load_stf

    program_path = Path(program) if program else Path(stf).with_suffix(".wire")
    for path in (Path(stf), program_path):
        if not path.is_file():
            raise click.ClickException(f"{path}: no such file")
    ir_program = load_program(str(program_path))
    test = load_stf(ir_program, stf)
    try:
        board = find_board(board_name)
    except BoardError as error:
        raise _fail(error) from None
    try:
        control = control_plane(ir_program, width, board.limits)
    except UnsupportedOnFpga as error:
        raise _refused(error) from None
    records: list[protocol.Record] = []
    try:
        for op in test.table_ops:
            if isinstance(op, AddEntry):
                writes = control.add_entry(op.table, op.entry)[1]
            elif isinstance(op, SetDefault):
                writes = control.set_default(op.table, op.call)
            records.extend(protocol.write(addr, data) for addr, data in writes)
    except ControlPlaneError as error:  # a table the board holds fewer entries of
        raise click.ClickException(f"{stf}: {error} on {board.name}") from None
    try:
        link = SerialLink(device, baud)
    except OSError as error:
        raise click.ClickException(f"{device}: {error.strerror}") from None
    try:
        [ident] = run_records(link, [protocol.read(protocol.NIC_ID_ADDR)])
        if ident.data != protocol.NIC_ID:
            raise click.ClickException(f"{device}: not a wirespeed NIC (id 0x{ident.data:08x})")
        run_records(link, records)
    except protocol.ProtocolError as error:
        raise _fail(error) from None
    finally:
        link.close()
    click.echo(f"{len(test.table_ops)} table operations written as {len(records)} control "
               f"words to {device}")
