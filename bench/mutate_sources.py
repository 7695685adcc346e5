"""Mutation fuzzing of the front end: 10,000 broken variants of valid programs.

Each case deletes, duplicates or swaps tokens, inserts random characters, or truncates a valid
program, then compiles it. The front end must return a Program or raise CompileError; anything
else is a compiler bug, printed with the input that caused it. Prints counts and the time.

    .venv/bin/python bench/mutate_sources.py [CASES] [SEED]
"""

from __future__ import annotations

import random
import re
import sys
import time
from pathlib import Path

from wirespeed.compiler.frontend import CompileError, compile_source

ROOT = Path(__file__).resolve().parent.parent
TOKEN = re.compile(r"\s+|#[^\n]*|[A-Za-z_][A-Za-z0-9_]*|[0-9][0-9a-fA-FxX_:.]*|&&&|\.\.|[^\sA-Za-z0-9_]")
ALPHABET = "abcxyz_019{}()[];:,.<>=!&|^~+-*/#@$\"'\\\t\n "


def corpus() -> list[str]:
    """Valid programs: the front end's own tests and the examples."""
    files = sorted((ROOT / "tests" / "frontend").glob("*.wire"))
    files += sorted((ROOT / "examples").glob("**/*.wire"))
    return [f.read_text() for f in files]


def mutate(text: str, rng: random.Random) -> str:
    tokens = [m.group(0) for m in TOKEN.finditer(text)]
    if not tokens:
        return text
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(len(tokens))
        kind = rng.randrange(6)
        if kind == 0:
            del tokens[i]
        elif kind == 1:
            tokens.insert(i, tokens[i])
        elif kind == 2:
            j = rng.randrange(len(tokens))
            tokens[i], tokens[j] = tokens[j], tokens[i]
        elif kind == 3:
            tokens.insert(i, "".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 3))))
        elif kind == 4:
            tokens[i] = tokens[rng.randrange(len(tokens))]
        else:
            return "".join(tokens)[: rng.randrange(len(text) + 1)]
        if not tokens:
            return ""
    return "".join(tokens)


def run_case(source: str) -> str:
    """"ok", "error" or "crash"."""
    try:
        compile_source(source, "mutant.wire")
    except CompileError:
        return "error"
    except Exception:  # noqa: BLE001 - any other exception is exactly what we hunt
        return "crash"
    return "ok"


def main() -> int:
    cases = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
    sources = corpus()
    counts = {"ok": 0, "error": 0, "crash": 0}
    start, cpu_start = time.perf_counter(), time.process_time()
    for n in range(cases):
        source = mutate(rng.choice(sources), rng)
        outcome = run_case(source)
        counts[outcome] += 1
        if outcome == "crash":
            import traceback
            print(f"--- crash in case {n}:\n{source}\n", file=sys.stderr)
            try:
                compile_source(source, "mutant.wire")
            except Exception:  # noqa: BLE001
                traceback.print_exc()
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    print(f"{cases} mutants of {len(sources)} programs in {elapsed:.1f} s wall, {cpu:.1f} s CPU "
          f"({cpu / cases * 1e3:.2f} ms CPU each): {counts['ok']} compiled, "
          f"{counts['error']} rejected with diagnostics, {counts['crash']} compiler crashes")
    return 1 if counts["crash"] else 0


if __name__ == "__main__":
    sys.exit(main())
