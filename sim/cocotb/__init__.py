"""cocotb test benches for the FPGA pipeline (run under Verilator by ``sim.fpga``)."""
