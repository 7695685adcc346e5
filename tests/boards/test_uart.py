"""The UART-only NIC (iCEBreaker) under Verilator: records and packets over the UART."""

from pathlib import Path

from wirespeed.boards import simulate
from wirespeed.boards.board import UartNic
from wirespeed.boards.pipeline import RegisterForward
from wirespeed.boards.simexec import work_dir

HERE = Path(__file__).parent


def test_uart_nic():
    top = UartNic(RegisterForward(64), 64, divisor=8)
    tests, failures = simulate.run(top, "uart_nic", "tb_uart", HERE, work_dir())
    assert (tests, failures) == (2, 0)
