"""The error corpus: every case's full rendered diagnostics must equal its golden file.

Regenerate on purpose with ``WIRESPEED_REGEN=1 pytest tests/diagnostics`` and read every
changed ``.expected`` by eye before committing. Paths in the goldens are relative to this
folder (``cases/NNNN_name.wire``), so they do not depend on where the checkout lives.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from wirespeed.compiler.diagnostics import render_all, summary_line
from wirespeed.compiler.frontend import check_files
from wirespeed.compiler.messages import MESSAGES

HERE = Path(__file__).parent
CASES = sorted((HERE / "cases").glob("*.wire"))
REGEN = os.environ.get("WIRESPEED_REGEN") == "1"


def rendered(case: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(HERE)
    diagnostics = check_files([str(case.relative_to(HERE))])
    return f"{render_all(diagnostics)}\n{summary_line(diagnostics)}\n"


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_case(case: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    golden = case.with_suffix(".expected")
    text = rendered(case, monkeypatch)
    if REGEN:
        golden.write_text(text)
    assert golden.exists(), f"no golden for {case.name}: run with WIRESPEED_REGEN=1"
    assert text == golden.read_text()


def test_every_code_has_a_case() -> None:
    seen: set[str] = set()
    for golden in (HERE / "cases").glob("*.expected"):
        seen |= set(re.findall(r"(?:error|warning)\[([EW]\d{4})\]", golden.read_text()))
    missing = sorted(set(MESSAGES) - seen)
    assert not missing, f"diagnostic codes without a case in tests/diagnostics/cases: {missing}"


def test_corpus_is_big_enough() -> None:
    assert len(CASES) >= 40
