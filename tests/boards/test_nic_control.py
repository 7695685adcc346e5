"""The NIC at its RGMII pins with a stand-in pipeline: in-band control frames write and read
the control space, frames are routed by what was written, NIC counters read back."""

from wirespeed.boards import protocol
from wirespeed.boards.nic import NicConfig
from wirespeed.boards.pipeline import RegisterForward
from wirespeed.boards.simexec import HOST_MAC, Step, run_nic
from wirespeed.hdl.pipeline import REGION_REGISTER, REGISTER_UNIT, control_address

CONFIG = NicConfig(width=64, ports=(0, 1), uart_divisor=8)
# the pipeline's first register, cell 0: a unit above 0x7F that is still the pipeline's
REGISTER_CELL = control_address(REGISTER_UNIT, REGION_REGISTER, 0)


def ip_frame(n: int, length: int = 80) -> bytes:
    head = bytes.fromhex("02000000000102000000000208004500")
    return head + bytes((n + i) & 0xFF for i in range(length - len(head)))


def bad_sum(request: bytes) -> bytes:
    return request[:-1] + bytes([request[-1] ^ 0x5A])


def control(records: list[protocol.Record], port: int = 0) -> Step:
    [frame] = protocol.control_frames(records, CONFIG.board_mac, HOST_MAC)
    return Step(port, frame, "control")


def test_inband_control_routes_frames_and_reads_counters():
    port0 = lambda name: protocol.nic_counter_addr(0, name)  # noqa: E731
    steps = [
        Step(0, ip_frame(1), "packet"),                       # 0: back out of port 0
        control([protocol.write(0, 0x8000_0001), protocol.read(0),
                 protocol.read(protocol.NIC_ID_ADDR),
                 protocol.read(REGISTER_CELL)]),              # 1: forward all to port 1
        Step(0, ip_frame(2, 200), "packet"),                  # 2: now out of port 1
        Step(1, ip_frame(3, 60), "packet"),                   # 3: also out of port 1
        control([protocol.read(port0("rx_frames")), protocol.read(port0("control_frames")),
                 protocol.read(protocol.nic_counter_addr(1, "tx_frames")),
                 protocol.Record(0x00, 0)], port=1),          # 4: counters, a bad op
        Step(0, protocol.uart_request(protocol.write(0, 0x8000_0000)), "uart"),  # 5: to port 0
        Step(0, bad_sum(protocol.uart_request(protocol.write(0, 0x8000_0001))), "uart"),  # 6
        Step(0, protocol.uart_request(protocol.read(protocol.nic_counter_addr(0, "rx_bad_fcs"))),
             "uart"),                                         # 7
        Step(1, ip_frame(4, 64), "packet"),                   # 8: port 0 now
    ]
    out = run_nic(CONFIG, lambda: RegisterForward(64), steps)

    assert [(r.port, r.data) for r in out[0]] == [(0, ip_frame(1))]

    [reply] = out[1]
    assert reply.port == 0
    assert reply.data[:6] == protocol.mac_bytes(HOST_MAC)
    assert reply.data[6:12] == protocol.mac_bytes(CONFIG.board_mac)
    responses = protocol.parse_reply(reply.data)
    assert [(r.status, r.data) for r in responses] == [
        (protocol.OP_WRITE, 0), (protocol.OP_READ, 0x8000_0001),
        (protocol.OP_READ, protocol.NIC_ID),
        # a register unit (bit 31 set) is the pipeline's: the stand-in answers register 0
        (protocol.OP_READ, 0x8000_0001)]

    assert [(r.port, r.data) for r in out[2]] == [(1, ip_frame(2, 200))]
    assert [(r.port, r.data) for r in out[3]] == [(1, ip_frame(3, 60))]

    [reply] = out[4]
    assert reply.port == 1  # the reply goes back where the request came from
    responses = protocol.parse_reply(reply.data)
    # port 0 received 3 good frames (two packets, one control); one control frame on port 0;
    # port 1 sent the two packets (the first reply left by port 0).
    assert [(r.status, r.data) for r in responses] == [
        (protocol.OP_READ, 3), (protocol.OP_READ, 1), (protocol.OP_READ, 2),
        (protocol.STATUS_BAD_OP, 0)]

    # The control UART: a write, a request with a bad sum (refused), a read.
    answers = [protocol.uart_response(out[n][0].data) for n in (5, 6, 7)]
    assert [(a.status, a.data) for a in answers] == [
        (protocol.OP_WRITE, 0), (protocol.STATUS_BAD_SUM, 0), (protocol.OP_READ, 0)]
    assert [(r.port, r.data) for r in out[8]] == [(0, ip_frame(4, 64))]
