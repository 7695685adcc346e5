"""The bad-input campaign: broken ``.wire`` sources, STF and entry files, command lines.

Every case runs the real command (``compiler.cli.main``, in this process with its output
captured, or as a subprocess with a timeout) and is judged by ``judge``: a non-zero exit, a
message that is a diagnostic (``file:line:col: error[...]``, ``file:line: error: ...``) or starts
with ``error``, no ``Traceback`` and no ``internal compiler error``, and no hang.

The mutations go past the front end's own token fuzzing (``bench/mutate_sources.py``): they
start from random *generated* programs (so every construct of the language is hit), and add
semantic breakage (huge, negative and zero widths and values, unknown and duplicated names,
cycles in the parser graph, deep nesting, long lines, NUL bytes, invalid UTF-8, binary noise).
"""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from wirespeed.sim.conformance.choices import Choices
from wirespeed.sim.conformance.limits import Hang, time_limit

TOKEN = re.compile(r"\s+|#[^\n]*|[A-Za-z_][A-Za-z0-9_]*|[0-9][0-9a-fA-FxX_:.]*|&&&|\.\.|\+\+|"
                   r"[^\sA-Za-z0-9_]")
NOISE = "abcxyz_019{}()[];:,.<>=!&|^~+-*/#@$\"'\\\t\n "
STRANGE_TOKENS = (
    "bit<0>", "bit<129>", "bit<100000>", "bit<-1>", "999999999999999999999999999999999999",
    "0x", "0b2", "0xfffffffffffffffffffffffffffffffffffffffff", "-1", "1.2.3.4.5", "::::",
    "ff:ff:ff:ff:ff:ff:ff", "\x00", "\u00e9", "\u202e", "start", "accept", "reject", "std",
    "meta", "ingress", "_", "wire_tmp1", "priority", "varbytes<40>(ihl * 4 - 20)", "((((",
    "}}}}", "select", "extract", "apply()", ".apply().hit", "return;", "default", "entries",
    "++", "&&&", "..", "/", "import std;", "header", "table", "control", "parser",
)
# `error: ...`, `FILE: error[E0009]: ...`, `FILE:LINE: error: ...`, `FILE:LINE:COL: error[E..]: ...`
DIAGNOSTIC = re.compile(r"^(.*?: )?error(\[[A-Z]\d+\])?: ", re.MULTILINE)


@dataclass
class Outcome:
    exit_code: int
    stdout: str
    stderr: str
    seconds_limit_hit: bool = False


def run_cli(argv: Sequence[str], seconds: float = 20.0) -> Outcome:
    """``wirespeed ARGV`` in this process; output captured, a hang reported as exit -1."""
    from wirespeed.compiler.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            with time_limit(seconds):
                code = main(list(argv))
        except Hang as e:
            return Outcome(-1, out.getvalue(), err.getvalue() + f"\nHANG: {e}", True)
    return Outcome(code, out.getvalue(), err.getvalue())


def judge(outcome: Outcome, *, may_succeed: bool = False) -> str | None:
    """Why this outcome is wrong for bad input, or None when it is fine."""
    text = outcome.stdout + outcome.stderr
    if outcome.seconds_limit_hit:
        return "hang"
    if "Traceback" in text:
        return "traceback"
    if "internal compiler error" in text or outcome.exit_code == 3:
        return "internal error"
    if outcome.exit_code == 0:
        return None if may_succeed else "exit 0 on bad input"
    if not DIAGNOSTIC.search(outcome.stderr):
        return "no error message"
    return None


# ----------------------------------------------------------------------------- sources


def mutate_source(text: str, c: Choices) -> str:
    """One to three random breakages of a valid program."""
    tokens = [m.group(0) for m in TOKEN.finditer(text)]
    if not tokens:
        return text
    for _ in range(c.integer(1, 3)):
        i = c.integer(0, len(tokens) - 1)
        kind = c.integer(0, 11)
        if kind == 0:
            del tokens[i]
        elif kind == 1:
            tokens.insert(i, tokens[i])
        elif kind == 2:
            j = c.integer(0, len(tokens) - 1)
            tokens[i], tokens[j] = tokens[j], tokens[i]
        elif kind == 3:
            tokens.insert(i, "".join(c.choice(NOISE) for _ in range(c.integer(1, 4))))
        elif kind == 4:
            tokens[i] = c.choice(STRANGE_TOKENS)
        elif kind == 5:  # a number becomes huge, zero or negative
            numbers = [k for k, t in enumerate(tokens) if t[:1].isdigit()]
            if numbers:
                tokens[c.choice(numbers)] = c.choice(("0", "129", "65536", "-3", "1" * 60))
        elif kind == 6:  # a name becomes another name of the program (cycles, duplicates)
            names = [k for k, t in enumerate(tokens) if t[:1].isalpha() or t[:1] == "_"]
            if names:
                tokens[c.choice(names)] = tokens[c.choice(names)]
        elif kind == 7:  # deep nesting
            depth = c.choice((50, 500, 5000))
            tokens.insert(i, "(" * depth + "1" + ")" * depth)
        elif kind == 8:  # a very long line
            tokens.insert(i, "x" * c.choice((1000, 100_000)))
        elif kind == 9:  # a whole block duplicated (names defined twice)
            tokens = tokens + tokens[i:i + c.integer(1, 200)]
        elif kind == 10:
            cut = c.integer(0, len(tokens))
            tokens = tokens[:cut]
        else:
            tokens[i] = "\x00" if c.chance(0.5) else "\ufffd\u200b"
        if not tokens:
            return ""
    return "".join(tokens)


SOUP = ("import", "std", ";", "header", "headers", "metadata", "parser", "start", "extract",
        "select", "next", "accept", "reject", "action", "table", "key", "actions", "default",
        "size", "counters", "entries", "control", "ingress", "if", "else", "switch", "return",
        "register", "meter", "const", "bit", "<", ">", "{", "}", "(", ")", "[", "]", ":", ",",
        ".", "=", "==", "+", "-", "&", "|", "^", "~", "!", "&&", "||", "<<", ">>", "++", "&&&",
        "..", "/", "_", "apply", "hit", "miss", "valid", "setValid", "setInvalid", "forward",
        "drop", "crc32", "ethernet", "ipv4", "meta", "x", "y", "0", "1", "8", "0xff", "10.0.0.1",
        "02:00:00:00:00:01", "::1", "\n")


def random_source(c: Choices) -> str:
    """Random text made of the language's own tokens (a "program" no mutation would reach)."""
    return " ".join(c.choice(SOUP) for _ in range(c.integer(0, 300)))


def corpus_sources(root: Path, generated: int = 20, seed: str = "badinput") -> list[str]:
    """Valid programs to break: the examples, the front end's tour and generated ones."""
    from wirespeed.sim.conformance.choices import RandomChoices
    from wirespeed.sim.conformance.programs import generate_program

    files = sorted((root / "examples").glob("*.wire")) + sorted(
        (root / "tests" / "frontend").glob("*.wire"))
    texts = [f.read_text() for f in files]
    texts += [generate_program(RandomChoices(f"{seed}:{i}")) for i in range(generated)]
    return texts


# ----------------------------------------------------------------------------- STF files

STF_BREAKAGE = (
    "add", "add nosuchtable 1 x:1 nop()", "setdefault", "setdefault nosuchtable nop()",
    "packet", "packet 0", "packet 0 0", "packet 0 zz", "packet -1 00", "packet 512 00",
    "packet 99999999999999999999 00", "expect", "expect x 00", "expect 0 0g$",
    "check_counter", "check_counter t(0) packets", "check_counter nosuch(0) packets == 1",
    "check_counter t(99) bytes == 1", "meter", "meter m[0] cir:1", "remove t 1",
    "no_packet extra", "bogus_command 1 2 3", "\x00\x01\x02", "add t 1 k:1 a(",
    "add t 1 k:1..0 a()", "add t 1 k:0x/33 a()", "add t -1 k:1 a()", "add t 1 k: a()",
    "add t 1 k:1&&& a()", "add t 1 :1 a()", "add t k:1 a(p:)", "add t k:1 a(p:1,p:2)",
    "packet 0 " + "0" * 70001, "packet 0 0" * 3, "expect 0 " + "*" * 41 + "$",
)


def mutate_stf(text: str, program_names: Sequence[str], c: Choices) -> str:
    """An STF with one to three broken lines (garbled values, names, numbers, commands)."""
    lines = text.splitlines() or [""]
    for _ in range(c.integer(1, 3)):
        i = c.integer(0, len(lines) - 1)
        line = lines[i]
        kind = c.integer(0, 6)
        if kind == 0:
            lines.insert(i, c.choice(STF_BREAKAGE))
        elif kind == 1 and line:  # garble a character
            j = c.integer(0, len(line) - 1)
            lines[i] = line[:j] + c.choice(NOISE + "xyzG-") + line[j + 1:]
        elif kind == 2:  # a number becomes absurd
            lines[i] = re.sub(r"\b\d+\b", lambda _m: c.choice(("-1", "9" * 40, "0x", "1..0")),
                              line, count=1)
        elif kind == 3 and program_names:  # a name of the wrong kind
            lines[i] = re.sub(r"[A-Za-z_][A-Za-z0-9_]*", lambda _m: c.choice(program_names),
                              line, count=c.integer(1, 3))
        elif kind == 4 and line:
            lines[i] = line[:c.integer(0, len(line) - 1)]  # truncated line
        elif kind == 5:
            lines[i] = line.replace("(", "[", 1).replace(":", "=", 1)
        else:
            lines.insert(i, c.choice(STF_BREAKAGE).replace("t(", f"{c.choice(program_names or ['t'])}("))
    return "\n".join(lines) + "\n"
