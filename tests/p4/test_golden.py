"""The generated P4 of every example, compared with the reviewed copy in tests/p4/golden.

A difference fails the test; regenerate on purpose with ``WIRESPEED_REGEN=1`` and read the
diff as a reviewer would before committing it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from p4_helpers import EXAMPLE_NAMES, example
from wirespeed.p4.compile import p4_text

GOLDEN = Path(__file__).parent / "golden"


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_generated_p4_matches_golden(name: str) -> None:
    text = p4_text(example(name))
    path = GOLDEN / f"{name}.p4"
    if os.environ.get("WIRESPEED_REGEN") == "1":
        path.write_text(text)
    assert path.is_file(), f"{path} is missing: run with WIRESPEED_REGEN=1 and review it"
    assert text == path.read_text(), (
        f"the P4 for {name} changed: review `diff` against {path} and regenerate with "
        "WIRESPEED_REGEN=1 if the change is intended")
