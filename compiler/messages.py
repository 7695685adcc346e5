"""Every message the front end can print, with its stable code.

Codes never change meaning once released: tests, docs (``docs/language.md``) and users refer
to them. ``E00xx`` syntax and files, ``E01xx`` names, ``E02xx`` types and values, ``E03xx`` the
parser graph, ``E04xx`` tables, ``E05xx`` actions and the control; ``W`` codes are warnings.
A message is a ``str.format`` template; names in it are quoted with backticks.
"""

from __future__ import annotations

from dataclasses import dataclass

from wirespeed.compiler.diagnostics import Reporter, Severity
from wirespeed.compiler.ir import Span


@dataclass(frozen=True)
class Message:
    code: str
    template: str
    #: one line for the codes table in docs/language.md
    summary: str

    @property
    def severity(self) -> Severity:
        return Severity.WARNING if self.code.startswith("W") else Severity.ERROR

    def text(self, **args: object) -> str:
        return self.template.format(**args)

    def emit(self, reporter: Reporter, span: Span, *,
             notes: tuple[tuple[str, Span | None], ...] = (), **args: object) -> None:
        reporter.report(reporter.make(self.severity, self.code, self.text(**args), span, notes))


MESSAGES: dict[str, Message] = {}


def _m(code: str, template: str, summary: str) -> Message:
    assert code not in MESSAGES, code
    message = Message(code, template, summary)
    MESSAGES[code] = message
    return message


# ---- E00xx: syntax, files ------------------------------------------------------------------
SYNTAX = _m("E0001", "syntax error: unexpected {found}; expected {expected}",
            "the text does not follow the grammar")
BAD_CHARACTER = _m("E0002", "unexpected character `{char}`", "a character no token starts with")
UNEXPECTED_EOF = _m("E0003", "unexpected end of file; expected {expected}",
                    "the file ends in the middle of a declaration (often a missing `}`)")
MISSING_SEMICOLON = _m("E0004", "missing `;`",
                       "a statement or declaration without its `;`")
ASSIGN_IN_CONDITION = _m("E0005", "`=` assigns; use `==` to compare",
                         "a single `=` where a comparison was meant")
STATEMENT_AT_TOP_LEVEL = _m("E0006", "statements belong in an `action` or in `control ingress`",
                            "a statement outside any block")
MISSING_TRANSITION = _m("E0007",
                        "a parser state ends with `next STATE;` or `select ... {{ ... }}`",
                        "a parser state without its transition")
BAD_LITERAL = _m("E0008", "invalid {kind} literal `{text}`",
                 "an IPv4 address, MAC or IPv6 address that is not well formed")
CANNOT_READ = _m("E0009", "cannot read `{path}`: {reason}", "the source file cannot be read")
TOO_DEEP = _m("E0011", "expressions or blocks nest too deeply for the compiler (hundreds of "
               "levels); split them up", "an absurdly deep expression or nesting")
MISSING_BRACE = _m("E0012", "missing `}}`: a new declaration starts inside an unclosed block",
                   "a block left open before the next top-level declaration")
UNCLOSED_COMMENT = _m("E0013", "this `/*` comment is never closed", "a block comment without `*/`")
UNKNOWN_MODULE = _m("E0010", "unknown module `{name}`; the only module is `std`",
                    "`import` of something other than `std`")

# ---- E01xx: names --------------------------------------------------------------------------
DUPLICATE = _m("E0101", "{what} `{name}` is defined twice", "a name declared twice")
UNKNOWN_HEADER_TYPE = _m("E0102", "unknown header type `{name}`",
                         "`headers` names a header type that does not exist")
UNKNOWN_HEADER = _m("E0103", "unknown header `{name}`",
                    "extract, setValid, `.valid` of something that is not a header instance")
UNKNOWN_FIELD = _m("E0104", "header `{header}` (type `{type}`) has no field `{name}`",
                   "a field name that the header type does not have")
UNKNOWN_META = _m("E0105", "unknown field `{scope}.{name}`",
                  "a `meta.` or `std.` field that is not declared")
UNKNOWN_NAME = _m("E0106", "unknown name `{name}`", "a name that is declared nowhere")
UNKNOWN_ACTION = _m("E0107", "unknown action `{name}`", "a call or table naming no action")
UNKNOWN_TABLE = _m("E0108", "unknown table `{name}`", "`.apply()` on something not a table")
UNKNOWN_STATE = _m("E0109", "unknown parser state `{name}`",
                   "a transition to a state that does not exist")
RESERVED = _m("E0110", "`{name}` is reserved ({why})",
              "a declaration that takes a built-in name")
NOT_A_VALUE = _m("E0111", "{what} `{name}` is not a value{hint}",
                 "a table, action... used as a value")

# ---- E02xx: types and values ---------------------------------------------------------------
WIDTH_MISMATCH = _m("E0201",
                    "operands of `{op}` have different widths: bit<{left}> and bit<{right}>",
                    "both sides of a binary operator must have the same width")
DOES_NOT_FIT = _m("E0202", "value {value} does not fit in bit<{width}>",
                  "a literal or constant too large for its place")
EXPECTED_BOOL = _m("E0203", "expected a condition (bool), found {found}",
                   "`if`, `&&`, `||`, `!` need conditions")
EXPECTED_BITS = _m("E0204", "expected a bit<N> value, found {found}",
                   "a condition where a number is needed")
UNKNOWN_WIDTH = _m("E0205", "cannot tell the width of `{text}` here; write `(bit<N>) {text}`",
                   "a literal with no context to take its width from")
BAD_WIDTH = _m("E0206", "width {width} is out of range (1 to {max})", "bit<0> or too wide")
BAD_SLICE = _m("E0207", "slice [{hi}:{lo}] is out of range for bit<{width}>",
               "slice bounds outside the value or hi < lo")
NOT_CONSTANT = _m("E0208", "{what} must be a constant", "a run-time value where a constant is needed")
NARROWING = _m("E0209", "bit<{value}> does not fit in bit<{target}> without a cast; "
               "write `(bit<{target}>) ...` to keep the low bits",
               "an assignment that would drop high bits silently")
NOT_ASSIGNABLE = _m("E0210", "cannot assign to this; only header fields and metadata can be assigned",
                    "the left side of `=` is not a field")
READ_ONLY = _m("E0211", "`std.{name}` is read-only", "writing std.ingress_port or std.packet_length")
NEGATIVE = _m("E0212", "the constant value {value} is negative; values are unsigned",
              "a constant expression below zero")
ARITY = _m("E0213", "`{name}` takes {expected} argument{s}, {found} given",
           "wrong number of arguments")
NOT_HERE = _m("E0214", "{what} must be a whole statement (`target = {example};`)",
              "a register read, hash or meter inside a larger expression")
HEADER_NOT_BYTES = _m("E0215", "header `{name}` is {bits} bits long, not a whole number of bytes",
                      "a header whose fixed fields do not add up to whole bytes")
BAD_VARBYTES = _m("E0216", "{why}", "a varbytes field that is not last or whose length is not "
                  "`field * scale + offset`")
EMPTY_RANGE = _m("E0217", "range {lo}..{hi} is empty (lo > hi)", "a range pattern with lo > hi")
BAD_PREFIX = _m("E0218", "prefix length {length} is longer than the key's {width} bits",
                "an lpm prefix longer than the key")
BAD_SIZE = _m("E0219", "{what} must be between 1 and {max}", "a size of zero or too large")
NO_MULTIPLY = _m("E0221", "`*` is only allowed in the length of a varbytes field",
                  "multiplication in an expression")
CONST_CYCLE = _m("E0222", "constant `{name}` is defined in terms of itself",
                  "constants that refer to each other in a circle")
BAD_CAST = _m("E0220", "cannot cast {found} to bit<{width}>", "a cast the language does not have")

# ---- E03xx: the parser graph ---------------------------------------------------------------
NO_PARSER = _m("E0301", "the program has no parser states; add `parser {{ start {{ ... }} }}`",
               "a program without a parser")
PARSER_LOOP = _m("E0302", "the parser loops: state `{name}` can be reached again from itself",
                 "a cycle in the parser graph")
NOT_EXTRACTED = _m("E0303", "header `{header}` is not extracted on every path to state "
                   "`{state}`", "select reads a header that may not have been extracted")
EXTRACTED_TWICE = _m("E0304", "header `{header}` may be extracted twice on one path",
                     "the same header extracted twice along a path")
PATTERN_COUNT = _m("E0305", "this arm has {found} pattern{s} but there {are} {expected} key{ks}",
                   "a select arm or entry with the wrong number of patterns")
PARSER_TWICE = _m("E0306", "the program has two parsers", "more than one `parser` block")
NEVER_VALID = _m("W0303", "header `{name}` is never extracted nor made valid, so it is always "
                 "invalid", "a header instance nothing can make valid")
UNREACHABLE_STATE = _m("W0301", "parser state `{name}` is never reached (it is removed)",
                       "a state no transition leads to")
DEAD_ARM = _m("W0302", "this arm is never taken: an earlier `_` arm matches everything",
              "a select arm after a catch-all arm")

# ---- E04xx: tables -------------------------------------------------------------------------
BAD_KEY = _m("E0401", "a table key must be a header field or a metadata field",
             "a key that is an expression")
BAD_MATCH_KIND = _m("E0402", "unknown match kind `{name}`; use exact, lpm, ternary or range",
                    "a key with an unknown match kind")
TWO_LPM = _m("E0403", "a table has at most one `lpm` key", "two lpm keys")
NO_ACTIONS = _m("E0404", "table `{name}` has no `actions {{ ... }}`", "a table with no actions")
DEFAULT_NOT_LISTED = _m("E0405", "default action `{name}` is not in the actions of table `{table}`",
                        "a default that is neither listed nor built-in")
NEEDS_PRIORITY = _m("E0406", "this entry needs `priority N`: table `{table}` has ternary or "
                    "range keys", "a missing priority")
NO_PRIORITY = _m("E0407", "table `{table}` has only exact and lpm keys; entries take no priority",
                 "a priority where none is used")
PATTERN_KIND = _m("E0408", "a {pattern} pattern cannot match {kind} key `{key}`",
                  "a pattern that does not suit the key's match kind")
ACTION_NOT_LISTED = _m("E0409", "action `{name}` is not in the actions of table `{table}`",
                       "an entry or switch case naming an action the table cannot run")
PROPERTY_TWICE = _m("E0410", "table `{table}` has `{prop}` twice", "a table property repeated")
APPLIED_TWICE = _m("E0411", "table `{name}` is applied more than once",
                   "a table applied in two places")
DUPLICATE_CASE = _m("E0412", "action `{name}` has two cases in this switch",
                    "the same label twice in a switch")
TOO_MANY_ENTRIES = _m("E0413", "table `{table}` has {count} entries but size {size}",
                      "more constant entries than the table's size")
DUPLICATE_ENTRY = _m("E0414", "this entry of table `{table}` matches exactly what an earlier "
                     "entry matches", "two constant entries with the same match (and priority)")
UNUSED_TABLE = _m("W0401", "table `{name}` is never applied", "a table the control never applies")

# ---- E05xx: actions and the control --------------------------------------------------------
NOT_IN_ACTION = _m("E0501", "{what} is not allowed in an action (actions are straight-line)",
                   "if, switch, apply or return inside an action")
RECURSION = _m("E0502", "action `{name}` calls itself{via}",
               "an action that calls itself, directly or through others")
NO_CONTROL = _m("E0503", "the program has no `control ingress {{ ... }}`", "no control block")
CONTROL_NAME = _m("E0504", "the control is called `ingress`, not `{name}`",
                  "a control with another name, or two controls")
NOT_A_STATEMENT = _m("E0505", "this expression does nothing as a statement",
                     "an expression statement that is not a call")
HASH_WIDTH = _m("E0506", "the fields of `{algo}` add up to {bits} bits, not a whole number of "
                "bytes", "hash input not a multiple of 8 bits")
REGISTER_WIDTH = _m("E0507", "register `{name}` holds bit<{width}> but the other side is "
                    "bit<{found}>", "a register read into, or written from, another width")
METER_TARGET = _m("E0508", "a meter colour needs at least bit<2>, found bit<{width}>",
                  "a meter result stored in a 1-bit field")
UNKNOWN_METHOD = _m("E0509", "{what} has no `{name}`", "`.foo()` that does not exist")
HIT_OUTSIDE_IF = _m("E0510", "`.{name}` of `apply()` is only allowed as the whole condition of "
                    "an `if`", "`t.apply().hit` inside a larger expression")
SWITCH_NOT_APPLY = _m("E0511", "`switch` takes `TABLE.apply()`", "switch on something else")
BAD_METER_UNIT = _m("E0512", "unknown meter unit `{name}`; use packets or bytes",
                    "a meter of something other than packets or bytes")
APPLY_NOT_HERE = _m("E0513", "`{name}.apply()` is not allowed inside an expression",
                    "apply used as a value")
INDEX_OUT_OF_RANGE = _m("W0503", "index {index} is past the end of {what} `{name}` (size {size}): "
                        "it reads 0 and writes nothing", "a constant index out of range")
DEAD_CODE = _m("W0501", "this code is never run: it follows `return`", "statements after return")
UNUSED_ACTION = _m("W0502", "action `{name}` is never used", "an action no table or control uses")
