"""Where the generators' random decisions come from.

Every generator in this package takes a ``Choices``: ``RandomChoices`` (a seeded
``random.Random``: fast and reproducible from one integer, for bulk campaigns) or
``HypothesisChoices`` (each decision drawn from hypothesis, so a failing case shrinks by
hypothesis' own rules). Decisions are written so that the smallest draw is the simplest case:
``integer`` shrinks towards ``lo``, ``choice`` towards the first option, ``chance`` towards False.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


class Choices(Protocol):
    def integer(self, lo: int, hi: int) -> int:
        """An integer in ``lo..hi`` inclusive."""
        ...

    def choice(self, options: Sequence[T]) -> T:
        ...

    def chance(self, probability: float) -> bool:
        ...


class RandomChoices:
    def __init__(self, seed: int | str) -> None:
        self.rng = random.Random(seed)

    def integer(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)

    def choice(self, options: Sequence[T]) -> T:
        return options[self.rng.randrange(len(options))]

    def chance(self, probability: float) -> bool:
        return self.rng.random() < probability


class HypothesisChoices:
    """Decisions drawn through a hypothesis ``draw`` (inside ``st.composite`` or ``st.data``)."""

    def __init__(self, draw: Callable[[Any], Any]) -> None:
        from hypothesis import strategies as st

        self._draw = draw
        self._st = st

    def integer(self, lo: int, hi: int) -> int:
        return self._draw(self._st.integers(lo, hi))

    def choice(self, options: Sequence[T]) -> T:
        return options[self._draw(self._st.integers(0, len(options) - 1))]

    def chance(self, probability: float) -> bool:
        # 0 (where hypothesis shrinks to) means False
        return self._draw(self._st.integers(0, 999)) >= 1000 - int(probability * 1000)
