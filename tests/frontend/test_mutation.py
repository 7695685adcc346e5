"""Never a traceback: broken variants of valid programs either compile or give diagnostics.

Hypothesis deletes, duplicates and swaps tokens, inserts random characters and truncates the
programs below; ``compile_source`` must return a Program or raise CompileError, and the
diagnostics must render. ``bench/mutate_sources.py`` runs the same idea over 10,000 cases.
"""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wirespeed.compiler import ir
from wirespeed.compiler.diagnostics import render
from wirespeed.compiler.frontend import CompileError, compile_source

HERE = Path(__file__).parent
SOURCES = [p.read_text() for p in sorted(HERE.glob("*.wire"))]
TOKEN = re.compile(r"\s+|#[^\n]*|[A-Za-z_][A-Za-z0-9_]*|[0-9][0-9a-fA-FxX_:.]*|&&&|\.\.|\S")
TOKENS = [[m.group(0) for m in TOKEN.finditer(s)] for s in SOURCES]
NOISE = st.text(alphabet="abz_09{}()[];:,.<>=!&|^~+-*/#@\"'\\\t\n ", min_size=1, max_size=3)


@st.composite
def mutants(draw: st.DrawFn) -> str:
    tokens = list(draw(st.sampled_from(TOKENS)))
    for _ in range(draw(st.integers(1, 3))):
        if not tokens:
            break
        i = draw(st.integers(0, len(tokens) - 1))
        op = draw(st.sampled_from(["delete", "duplicate", "swap", "insert", "replace",
                                   "truncate"]))
        if op == "delete":
            del tokens[i]
        elif op == "duplicate":
            tokens.insert(i, tokens[i])
        elif op == "swap":
            j = draw(st.integers(0, len(tokens) - 1))
            tokens[i], tokens[j] = tokens[j], tokens[i]
        elif op == "insert":
            tokens.insert(i, draw(NOISE))
        elif op == "replace":
            tokens[i] = draw(st.sampled_from(tokens))
        else:
            tokens = tokens[:i]
    return "".join(tokens)


@settings(max_examples=200, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(mutants())
def test_mutants_never_crash(source: str) -> None:
    try:
        program = compile_source(source, "mutant.wire")
    except CompileError as err:
        assert any(d.is_error for d in err.diagnostics)
        for d in err.diagnostics:
            assert render(d).startswith("mutant.wire")
        return
    assert isinstance(program, ir.Program)
    ir.sexpr(program)


def test_corpus_compiles() -> None:
    for source in SOURCES:
        compile_source(source, "corpus.wire")
