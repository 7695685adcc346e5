"""docs/language.md stays true: its grammar is the real one, every code is in its table, and
its whole-program example compiles without a warning."""

from __future__ import annotations

import os
import re
from pathlib import Path

from wirespeed.compiler.frontend import check_source
from wirespeed.compiler.messages import MESSAGES

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "language.md").read_text()


def test_grammar_copy_is_the_grammar() -> None:
    global DOC
    grammar = (ROOT / "compiler" / "grammar.lark").read_text()
    before, rest = DOC.split("```lark\n", 1)
    block, after = rest.split("```\n", 1)
    if os.environ.get("WIRESPEED_REGEN") == "1" and block != grammar:
        DOC = f"{before}```lark\n{grammar}```\n{after}"
        (ROOT / "docs" / "language.md").write_text(DOC)
        block = grammar
    assert block == grammar


TABLE_HEAD = "| code | kind | what it means |\n|---|---|---|\n"


def codes_table() -> str:
    return "".join(f"| `{code}` | {m.severity.value} | {m.summary} |\n"
                   for code, m in sorted(MESSAGES.items()))


def test_every_code_is_documented() -> None:
    global DOC
    if os.environ.get("WIRESPEED_REGEN") == "1":
        before, rest = DOC.split(TABLE_HEAD, 1)
        after = rest[rest.index("\n\n"):]
        DOC = before + TABLE_HEAD + codes_table().rstrip("\n") + after
        (ROOT / "docs" / "language.md").write_text(DOC)
    for code, message in MESSAGES.items():
        row = f"| `{code}` | {message.severity.value} | {message.summary} |"
        assert row in DOC, f"docs/language.md lacks the row for {code}"


def test_whole_program_example_compiles_cleanly() -> None:
    section = DOC.split("## A whole program", 1)[1]
    example = re.search(r"```\n(.*?)```", section, re.S)
    assert example is not None
    assert check_source(example.group(1), "doc.wire") == []
