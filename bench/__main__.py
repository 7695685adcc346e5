"""`python -m bench [NAME...]`: run benchmarks; each prints its own figures.

With no name it runs the ones that take minutes on a 2-core machine. The builds that take
hours (every example on every board, Yosys/nextpnr resources at two widths) and the long
conformance campaign run only when named.
"""

import runpy
import sys

QUICK = ["xdp_bench", "fpga_throughput", "fpga_drivers", "mutate_sources"]
LONG = ["fpga_resources", "board_builds", "conformance_long"]


def main(names: list[str]) -> int:
    for name in names or QUICK:
        if name not in QUICK + LONG:
            print(f"error: unknown benchmark {name!r} (known: {', '.join(QUICK + LONG)})",
                  file=sys.stderr)
            return 2
    for name in names or QUICK:
        print(f"== bench.{name}", flush=True)
        sys.argv = [f"bench.{name}"]
        runpy.run_module(f"bench.{name}", run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
