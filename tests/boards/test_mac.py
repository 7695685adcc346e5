"""The Ethernet MAC under Verilator: FCS, bad FCS, runts, back-to-back minimum frames."""

from pathlib import Path

from wirespeed.boards import simulate
from wirespeed.boards.loopback import MacLoopback

HERE = Path(__file__).parent


def test_mac_at_rgmii_pins(tmp_path_factory):
    work = tmp_path_factory.getbasetemp().parent / "wirespeed-boards-sim"
    tests, failures = simulate.run(MacLoopback(), "mac_loopback", "tb_mac", HERE, work)
    assert tests == 4
    assert failures == 0
