"""The STF tests reuse the hand-built IR programs of tests/model."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "model"))
