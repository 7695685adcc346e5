"""The cocotb test that runs one STF script on ``wirespeed_top``.

The script (JSON, path in ``WIRESPEED_SCRIPT``) is a list of steps computed by the host side
(``sim.fpga``): control-port writes, counter reads, and bursts of packets. The results go to
``WIRESPEED_RESULTS`` as JSON, one entry per step.
"""

from __future__ import annotations

import json
import os

import cocotb
from wirespeed.sim.cocotb.tb import TB, ProtocolError


@cocotb.test()
async def run_script(dut) -> None:
    script = json.loads(open(os.environ["WIRESPEED_SCRIPT"]).read())
    tb = TB(dut, seed=script.get("seed", 1), idle=script.get("idle", 0.0),
            backpressure=script.get("backpressure", 0.0))
    await tb.start()
    results: list = []
    error = None
    try:
        for step in script["steps"]:
            if "write" in step:
                for addr, data in step["write"]:
                    await tb.write(addr, data)
                results.append(None)
            elif "read" in step:
                results.append([await tb.read(addr) for addr in step["read"]])
            elif "packets" in step:
                packets = [(tag, port, bytes.fromhex(h)) for tag, port, h in step["packets"]]
                beats = sum(len(p[2]) // tb.lanes + 1 for p in packets)
                outputs, cycles = await tb.run_packets(packets, 2000 + 40 * beats)
                results.append({
                    "cycles": cycles,
                    "stats": tb.stats,
                    "outputs": {str(t): [[o.port, o.data.hex()] for o in outs]
                                for t, outs in outputs.items()},
                })
    except ProtocolError as e:
        error = str(e)
    with open(os.environ["WIRESPEED_RESULTS"], "w") as f:
        json.dump({"results": results, "error": error, "protocol_errors": tb.errors}, f)
