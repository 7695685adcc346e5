"""Random valid ``.wire`` programs.

``generate_program(choices)`` writes the text of a program that the checker accepts and that
uses the whole language: standard and user headers, an acyclic parser graph whose selects use
values, masks, ranges, tuples and defaults (accept and reject), metadata, registers, meters,
actions with parameters and arithmetic (``+ - & | ^ ~ << >>``, slices, concatenation, casts),
hashes, push and pop (``setValid``/``setInvalid``), forward/drop/send_to_host, tables with
``exact``, ``lpm``, ``ternary`` and ``range`` keys, constant entries, counters, default actions
with arguments, and a control with ``if``/``else if``/``else``, hit/miss, ``switch`` on the
action run, direct action calls and ``return``.

The text is laid out one statement per line with blocks closed on their own line, so the
line-based shrinker in ``runner`` can delete statements and whole blocks.

``programs()`` is the same generator as a hypothesis strategy.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from wirespeed.compiler import ir
from wirespeed.sim.conformance.choices import Choices, HypothesisChoices

# Standard header types the generator may use, with one select field each that makes sense to
# branch on (any field would do; these give the packets a familiar look).
STD_HEADERS = ("ethernet", "vlan", "ipv4", "ipv6", "udp", "tcp", "icmp", "vxlan", "gre")
SELECT_FIELDS = {
    "ethernet": ("ethertype", "dst"), "vlan": ("ethertype", "vid", "pcp"),
    "ipv4": ("protocol", "ttl", "dscp", "flags"), "ipv6": ("next_header", "hop_limit"),
    "udp": ("dst_port", "src_port"), "tcp": ("dst_port", "flags"), "icmp": ("type", "code"),
    "vxlan": ("flags", "vni"), "gre": ("protocol", "version"),
}
CMP_OPS = ("==", "!=", "<", "<=", ">", ">=")
ARITH_OPS = ("+", "-", "&", "|", "^")
PORT_WIDTH = ir.PORT_WIDTH


def std_types() -> dict[str, ir.HeaderType]:
    from wirespeed.compiler.frontend import std_header_types

    return std_header_types()


@dataclass
class Ref:
    """Something an expression can read: its text and width."""

    text: str
    width: int


@dataclass
class Scope:
    reads: list[Ref]
    writes: list[Ref]
    params: list[Ref] = field(default_factory=list)


@dataclass
class ActionInfo:
    name: str
    params: list[int]  # widths


@dataclass
class TableInfo:
    name: str
    actions: list[str]


class ProgramWriter:
    """Builds one program; every decision goes through ``self.c``."""

    def __init__(self, choices: Choices) -> None:
        self.c = choices
        self.lines: list[str] = []
        self.types: dict[str, list[tuple[str, int]]] = {}  # header type -> fields
        self.instances: list[tuple[str, str]] = []  # (instance, type) in deparse order
        self.meta: list[Ref] = []
        self.registers: list[tuple[str, int, int]] = []  # name, width, size
        self.meters: list[str] = []
        self.actions: list[ActionInfo] = []
        self.tables: list[TableInfo] = []
        self.counter = 0

    # ------------------------------------------------------------------------- helpers

    def fresh(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def literal(self, width: int, typed: bool = False) -> str:
        """A constant that fits ``bit<width>``, often an edge value. ``typed`` writes it as
        ``(bit<W>) V``: constant-only operations fold without wrapping, and a literal inside a
        concatenation or an index has no width of its own."""
        top = (1 << width) - 1
        kind = self.c.integer(0, 5)
        value = (0, 1, top, self.c.integer(0, min(top, 255)), self.c.integer(0, top),
                 1 << self.c.integer(0, width - 1))[kind]
        text = hex(value) if self.c.chance(0.5) else str(value)
        return f"((bit<{width}>) {text})" if typed else text

    def header_fields(self, instance: str) -> list[Ref]:
        type_name = dict(self.instances)[instance]
        return [Ref(f"{instance}.{name}", width) for name, width in self.types[type_name]]

    def all_reads(self) -> list[Ref]:
        refs = [r for inst, _ in self.instances for r in self.header_fields(inst)]
        refs += self.meta
        refs += [Ref("std.ingress_port", PORT_WIDTH), Ref("std.packet_length", 32),
                 Ref("std.egress_port", PORT_WIDTH)]
        return refs

    def all_writes(self) -> list[Ref]:
        refs = [r for inst, _ in self.instances for r in self.header_fields(inst)]
        return refs + self.meta + [Ref("std.egress_port", PORT_WIDTH)]

    # ------------------------------------------------------------------------- expressions

    def fit(self, ref: Ref, width: int) -> str:
        """``ref`` made exactly ``width`` bits wide: a slice, a cast or a concatenation."""
        if ref.width == width:
            return ref.text
        if ref.width > width:
            if self.c.chance(0.5):
                lo = self.c.integer(0, ref.width - width)
                return f"{ref.text}[{lo + width - 1}:{lo}]"
            return f"(bit<{width}>) {ref.text}"
        if self.c.chance(0.3):
            rest = width - ref.width
            return f"({ref.text} ++ {self.literal(rest, True)})" if self.c.chance(0.5) else \
                f"({self.literal(rest, True)} ++ {ref.text})"
        return f"(bit<{width}>) {ref.text}"

    def expr(self, width: int, scope: Scope, depth: int = 2, top: bool = True) -> str:
        """A ``bit<width>`` expression; below the top its literals carry their width."""
        leaf = depth <= 0 or self.c.chance(0.4)
        if leaf:
            pool = scope.reads + scope.params
            if self.c.chance(0.25) or not pool:
                return self.literal(width, typed=not top)
            return self.fit(self.c.choice(pool), width)
        form = self.c.integer(0, 4)
        if form == 0:
            op = self.c.choice(ARITH_OPS)
            return f"({self.expr(width, scope, depth - 1, False)} {op} {self.expr(width, scope, depth - 1, False)})"
        if form == 1:
            return f"(~{self.expr(width, scope, depth - 1, False)})"
        if form == 2:
            op = self.c.choice(("<<", ">>"))
            amount = self.c.integer(0, width + 1)  # past the width gives 0
            return f"({self.expr(width, scope, depth - 1, False)} {op} {amount})"
        if form == 3 and width >= 2:
            high = self.c.integer(1, width - 1)
            return f"({self.expr(high, scope, depth - 1, False)} ++ {self.expr(width - high, scope, depth - 1, False)})"
        wider = min(128, width + self.c.integer(1, 16))
        lo = self.c.integer(0, wider - width)
        return f"({self.expr(wider, scope, depth - 1, False)})[{lo + width - 1}:{lo}]"

    def condition(self, scope: Scope, depth: int = 1) -> str:
        form = self.c.integer(0, 4 if depth > 0 else 1)
        if form == 0 and self.instances:
            negate = "!" if self.c.chance(0.3) else ""
            return f"{negate}{self.c.choice(self.instances)[0]}.valid"
        if form <= 2:
            ref = self.c.choice(scope.reads)
            op = self.c.choice(CMP_OPS)
            other = self.literal(ref.width) if self.c.chance(0.6) else \
                self.expr(ref.width, scope, 1)
            return f"{ref.text} {op} {other}"
        if form == 3:
            op = self.c.choice(("&&", "||"))
            return f"({self.condition(scope, depth - 1)} {op} {self.condition(scope, depth - 1)})"
        return f"!({self.condition(scope, depth - 1)})"

    # ------------------------------------------------------------------------- statements

    def hash_fields(self, scope: Scope) -> list[str]:
        """Fields whose widths add up to whole bytes."""
        byte_fields = [r for r in scope.reads if r.width % 8 == 0]
        chosen = [self.c.choice(byte_fields).text for _ in range(self.c.integer(1, 3))]
        if self.c.chance(0.3):
            odd = self.c.choice(scope.reads)
            pad = (-odd.width) % 8
            chosen.append(odd.text)
            if pad:
                chosen.append(self.literal(pad, True))
        return chosen

    def simple_statement(self, scope: Scope) -> list[str]:
        """One straight-line statement (allowed in actions and in the control)."""
        kind = self.c.integer(0, 11)
        if kind <= 3:
            target = self.c.choice(scope.writes)
            return [f"{target.text} = {self.expr(target.width, scope)};"]
        if kind == 4:
            target = self.c.choice(scope.writes)
            op = self.c.choice(("+=", "-=", "&=", "|=", "^="))
            return [f"{target.text} {op} {self.expr(target.width, scope, 1)};"]
        if kind == 5 and self.instances:
            instance = self.c.choice(self.instances)[0]
            verb = "setValid" if self.c.chance(0.5) else "setInvalid"
            return [f"{instance}.{verb}();"]
        if kind == 6:
            port = self.c.choice((self.literal(PORT_WIDTH), str(self.c.integer(0, 7)),
                                  self.expr(PORT_WIDTH, scope, 1)))
            return [f"forward({port});"]
        if kind == 7:
            return ["drop();" if self.c.chance(0.3) else "send_to_host();"]
        if kind == 8:
            target = self.c.choice(self.meta)
            algo = self.c.choice(("crc16", "crc32"))
            return [f"{target.text} = {algo}({', '.join(self.hash_fields(scope))});"]
        if kind in (9, 10) and self.registers:
            name, width, size = self.c.choice(self.registers)
            index = self.expr(self.c.integer(1, 10), scope, 1, False) if self.c.chance(0.7) else \
                str(self.c.integer(0, size + 2))
            form = self.c.integer(0, 2)
            if form == 0:
                return [f"meta.r_{name} = {name}[{index}];"]
            if form == 1:
                return [f"{name}[{index}] = {self.expr(width, scope, 1)};"]
            return [f"{name}[{index}] += {self.expr(width, scope, 1)};"]
        if kind == 11 and self.meters:
            name = self.c.choice(self.meters)
            return [f"meta.color = {name}.execute({self.expr(6, scope, 1, False)});"]
        target = self.c.choice(self.meta)
        return [f"{target.text} = {self.literal(target.width)};"]

    # ------------------------------------------------------------------------- declarations

    def user_header(self) -> None:
        name = self.fresh("user_h")
        fields: list[tuple[str, int]] = []
        total = 0
        for i in range(self.c.integer(1, 5)):
            width = self.c.choice((1, 3, 4, 8, 8, 12, 16, 16, 24, 32, 48, 64))
            fields.append((f"f{i}", width))
            total += width
        if total % 8:
            fields.append(("pad", 8 - total % 8))
        self.types[name] = fields
        self.lines.append(f"header {name} {{")
        self.lines += [f"  {n}: bit<{w}>;" for n, w in fields]
        self.lines.append("}")

    def parser(self, parsed: list[str]) -> None:
        """States 0..n-1, state i extracts ``parsed[i]``; a tree (each state reached from an
        earlier one) plus extra edges forward, so the graph stays acyclic."""
        n = len(parsed)
        names = ["start"] + [f"s_{parsed[i]}" for i in range(1, n)]
        children: dict[int, list[int]] = {i: [] for i in range(n)}
        for i in range(1, n):
            children[self.c.integer(0, i - 1)].append(i)
        self.lines.append("parser {")
        for i in range(n):
            body = [f"extract {parsed[i]};"]
            targets = [names[j] for j in children[i]]
            later = [names[j] for j in range(i + 1, n)]
            if later and self.c.chance(0.3):
                targets.append(self.c.choice(later))
            sinks = ("accept", "accept", "accept", "accept", "reject")
            if not targets or self.c.chance(0.5):
                targets.append(self.c.choice(sinks))
            if len(targets) == 1 and self.c.chance(0.5):
                body.append(f"next {targets[0]};")
            else:
                body += self.select(parsed[i], targets)
            self.lines.append(f"  {names[i]} {{")
            self.lines += [f"    {line}" for line in body]
            self.lines.append("  }")
        self.lines.append("}")

    def select(self, instance: str, targets: list[str]) -> list[str]:
        type_name = dict(self.instances)[instance]
        widths = dict(self.types[type_name])
        preferred = [f for f in SELECT_FIELDS.get(type_name, ()) if f in widths]
        candidates = preferred or list(widths)
        keys = [self.c.choice(candidates)]
        others = [f for f in widths if f != keys[0]]
        if others and self.c.chance(0.25):
            keys.append(self.c.choice(others))
        lines = []
        head = f"{instance}.{keys[0]}" if len(keys) == 1 else \
            "(" + ", ".join(f"{instance}.{k}" for k in keys) + ")"
        lines.append(f"select {head} {{")
        default = None
        arms = list(targets)
        if self.c.chance(0.7):
            default = arms.pop() if len(arms) > 1 else self.c.choice(("accept", "reject"))
        for target in arms:
            patterns = [self.pattern(widths[k], len(keys) > 1) for k in keys]
            text = patterns[0] if len(patterns) == 1 else "(" + ", ".join(patterns) + ")"
            lines.append(f"  {text}: {target};")
        if default is not None:
            lines.append(f"  {'_' if len(keys) == 1 else '(' + ', '.join('_' for _ in keys) + ')'}: {default};")
        lines.append("}")
        return lines

    def pattern(self, width: int, in_tuple: bool) -> str:
        """One select pattern; ``_`` only inside a tuple (alone it would hide later arms)."""
        kind = self.c.integer(0, 4)
        top = (1 << width) - 1
        value = self.c.integer(0, top)
        if kind <= 1:
            return hex(value)
        if kind == 2:
            return f"{hex(value)} &&& {hex(self.c.integer(0, top))}"
        if kind == 3:
            hi = self.c.integer(value, min(top, value + 1000))
            return f"{value}..{hi}"
        return "_" if in_tuple and self.c.chance(0.5) else hex(value)

    def action(self) -> None:
        name = self.fresh("act")
        widths = [self.c.choice((1, 4, 8, 9, 16, 32, 48)) for _ in range(self.c.integer(0, 3))]
        params = [Ref(f"p{i}", w) for i, w in enumerate(widths)]
        scope = Scope(self.all_reads(), self.all_writes(), params)
        self.lines.append(f"action {name}({', '.join(f'{p.text}: bit<{p.width}>' for p in params)}) {{")
        for _ in range(self.c.integer(0, 4)):
            self.lines += [f"  {s}" for s in self.simple_statement(scope)]
        if params and self.c.chance(0.5):
            port = params[0].text if params[0].width == PORT_WIDTH else self.fit(params[0], PORT_WIDTH)
            self.lines.append(f"  forward({port});")
        self.lines.append("}")
        self.actions.append(ActionInfo(name, widths))

    def call_text(self, name: str) -> str:
        builtin = {"drop": [], "send_to_host": [], "nop": [], "forward": [PORT_WIDTH]}
        widths = builtin[name] if name in builtin else \
            next(a.params for a in self.actions if a.name == name)
        if not widths:
            return name if self.c.chance(0.5) else f"{name}()"
        args = [str(self.c.integer(0, 7)) if w == PORT_WIDTH else self.literal(w) for w in widths]
        return f"{name}({', '.join(args)})"

    def table(self, key_pool: list[Ref]) -> None:
        name = self.fresh("tbl")
        keys: list[tuple[Ref, str]] = []
        used: set[str] = set()
        has_lpm = False
        for _ in range(self.c.integer(1, 3)):
            ref = self.c.choice(key_pool)
            if ref.text in used:
                continue
            used.add(ref.text)
            kinds = ["exact", "ternary", "range"] + ([] if has_lpm else ["lpm"])
            kind = self.c.choice(kinds)
            has_lpm |= kind == "lpm"
            keys.append((ref, kind))
        user = [a.name for a in self.actions]
        choices = user + ["drop", "send_to_host", "forward", "nop"]
        actions: list[str] = []
        for _ in range(self.c.integer(1, 4)):
            a = self.c.choice(choices)
            if a not in actions:
                actions.append(a)
        size = self.c.choice((4, 16, 64, 256))
        priority = any(k in ("ternary", "range") for _, k in keys)
        self.lines.append(f"table {name} {{")
        self.lines.append("  key {")
        self.lines += [f"    {ref.text}: {kind};" for ref, kind in keys]
        self.lines.append("  }")
        self.lines.append("  actions {")
        self.lines += [f"    {a};" for a in actions]
        self.lines.append("  }")
        if self.c.chance(0.8):
            self.lines.append(f"  default {self.call_text(self.c.choice(actions))};")
        self.lines.append(f"  size {size};")
        if self.c.chance(0.4):
            self.lines.append("  counters;")
        if self.c.chance(0.3):
            self.lines.append("  entries {")
            seen: set[tuple[tuple[int, ...], ...]] = set()
            for i in range(self.c.integer(1, 3)):
                drawn = [self.entry_pattern(ref.width, kind) for ref, kind in keys]
                normal = tuple(n for _, n in drawn)
                if normal in seen and not priority:
                    continue  # the same match twice: the checker refuses it
                seen.add(normal)
                text = "(" + ", ".join(t for t, _ in drawn) + ")"
                prio = f" priority {self.c.integer(0, 9) * 10 + i}" if priority else ""
                self.lines.append(f"    {text}: {self.call_text(self.c.choice(actions))}{prio};")
            self.lines.append("  }")
        self.lines.append("}")
        self.tables.append(TableInfo(name, actions))

    def entry_pattern(self, width: int, kind: str) -> tuple[str, tuple[int, ...]]:
        """A constant entry's pattern for one key, and what it matches (to spot duplicates)."""
        top = (1 << width) - 1
        value = self.c.integer(0, min(top, 15)) if self.c.chance(0.5) else self.c.integer(0, top)
        if kind == "exact":
            return hex(value), (value,)
        if self.c.chance(0.15):  # `_`: what it matches, as the model normalises it
            return "_", {"lpm": (0, 0), "ternary": (0, 0), "range": (0, top)}[kind]
        if kind == "lpm":
            prefix = self.c.integer(0, width)
            keep = top ^ ((1 << (width - prefix)) - 1)
            return f"{hex(value)}/{prefix}", (value & keep, prefix)
        if kind == "ternary":
            m = self.c.integer(0, top)
            return f"{hex(value)} &&& {hex(m)}", (value & m, m)
        hi = self.c.integer(value, top)
        return f"{value}..{hi}", (value, hi)

    # ------------------------------------------------------------------------- control

    def block(self, scope: Scope, depth: int, applied: set[str], indent: str) -> list[str]:
        out: list[str] = []
        for _ in range(self.c.integer(0 if depth else 1, 3 if depth else 6)):
            out += [indent + line for line in self.control_statement(scope, depth, applied)]
        if depth and self.c.chance(0.1):
            out.append(indent + "return;")
        return out

    def control_statement(self, scope: Scope, depth: int, applied: set[str]) -> list[str]:
        unapplied = [t for t in self.tables if t.name not in applied]
        kind = self.c.integer(0, 9)
        if kind <= 3 and unapplied:
            table = self.c.choice(unapplied)
            applied.add(table.name)
            form = self.c.integer(0, 2) if depth < 2 else 0
            if form == 0:
                return [f"{table.name}.apply();"]
            if form == 1:
                which = self.c.choice(("hit", "miss"))
                lines = [f"if {table.name}.apply().{which} {{"]
                lines += self.block(scope, depth + 1, applied, "  ")
                if self.c.chance(0.5):
                    lines.append("} else {")
                    lines += self.block(scope, depth + 1, applied, "  ")
                return lines + ["}"]
            lines = [f"switch {table.name}.apply() {{"]
            actions = list(table.actions)
            while actions and self.c.chance(0.7):
                group = [actions.pop(self.c.integer(0, len(actions) - 1))]
                if actions and self.c.chance(0.3):
                    group.append(actions.pop(0))
                lines.append(f"  {', '.join(group)}: {{")
                lines += self.block(scope, depth + 1, applied, "    ")
                lines.append("  }")
            if self.c.chance(0.5):
                lines.append("  default: {")
                lines += self.block(scope, depth + 1, applied, "    ")
                lines.append("  }")
            return lines + ["}"]
        if kind <= 5 and depth < 2:
            lines = [f"if {self.condition(scope)} {{"]
            lines += self.block(scope, depth + 1, applied, "  ")
            if self.c.chance(0.3):
                lines.append(f"}} else if {self.condition(scope)} {{")
                lines += self.block(scope, depth + 1, applied, "  ")
            if self.c.chance(0.5):
                lines.append("} else {")
                lines += self.block(scope, depth + 1, applied, "  ")
            return lines + ["}"]
        if kind == 6 and self.actions:
            text = self.call_text(self.c.choice(self.actions).name)
            return [text + ";" if "(" in text else f"{text}();"]
        return self.simple_statement(scope)

    # ------------------------------------------------------------------------- the program

    def write(self) -> str:
        std = std_types()
        for name, header_type in std.items():
            self.types[name] = [(f.name, f.width) for f in header_type.fields]
        self.lines.append("import std;")
        for _ in range(self.c.integer(0, 2)):
            self.user_header()
        user_types = [t for t in self.types if t not in std]
        # the parsed headers: ethernet first most of the time, then a few distinct others
        pool = [t for t in STD_HEADERS if t != "ethernet"] + user_types
        first = "ethernet" if self.c.chance(0.85) or not user_types else self.c.choice(user_types)
        parsed_types = [first]
        for _ in range(self.c.integer(0, 5)):
            parsed_types.append(self.c.choice(pool))
        instances: list[tuple[str, str]] = []
        seen: dict[str, int] = {}
        for type_name in parsed_types:
            seen[type_name] = seen.get(type_name, 0) + 1
            name = type_name if seen[type_name] == 1 else f"{type_name}_{seen[type_name]}"
            instances.append((name, type_name))
        parsed = [name for name, _ in instances]
        # headers only ever pushed by the program (never parsed), anywhere in deparse order
        for _ in range(self.c.integer(0, 2) if self.c.chance(0.4) else 0):
            type_name = self.c.choice(list(STD_HEADERS) + user_types)
            name = self.fresh(f"push_{type_name}_")
            instances.insert(self.c.integer(0, len(instances)), (name, type_name))
        self.instances = instances
        self.lines.append("headers {")
        self.lines += [f"  {name}: {type_name};" for name, type_name in instances]
        self.lines.append("}")
        meta_widths = [self.c.choice((1, 2, 8, 9, 16, 32, 48, 64, 128))
                       for _ in range(self.c.integer(1, 4))]
        self.meta = [Ref(f"meta.m{i}", w) for i, w in enumerate(meta_widths)]
        for _ in range(self.c.integer(0, 2)):
            name = self.fresh("reg")
            self.registers.append((name, self.c.choice((8, 16, 32, 64)), self.c.choice((1, 4, 16, 64))))
        if self.c.chance(0.2):
            self.meters.append(self.fresh("meter"))
            self.meta.append(Ref("meta.color", 2))
        self.meta += [Ref(f"meta.r_{name}", width) for name, width, _ in self.registers]
        self.lines.append("metadata {")
        self.lines += [f"  {m.text.split('.')[1]}: bit<{m.width}>;" for m in self.meta]
        self.lines.append("}")
        for name, width, size in self.registers:
            self.lines.append(f"register<bit<{width}>>[{size}] {name};")
        for name in self.meters:
            unit = self.c.choice(("packets", "bytes"))
            self.lines.append(f"meter<{unit}>[{self.c.choice((4, 64))}] {name};")
        self.parser(parsed)
        for _ in range(self.c.integer(0, 4)):
            self.action()
        key_pool = [r for inst in parsed for r in self.header_fields(inst)] + self.meta + \
            [Ref("std.ingress_port", PORT_WIDTH)]
        for _ in range(self.c.integer(1, 4)):
            self.table(key_pool)
        scope = Scope(self.all_reads(), self.all_writes())
        applied: set[str] = set()
        self.lines.append("control ingress {")
        if self.c.chance(0.85):
            self.lines.append("  forward(std.ingress_port ^ 1);")  # so most packets leave
        self.lines += self.block(scope, 0, applied, "  ")
        for table in self.tables:
            if table.name not in applied and self.c.chance(0.7):
                self.lines.append(f"  {table.name}.apply();")
                applied.add(table.name)
        self.lines.append("}")
        return "\n".join(self.lines) + "\n"


def generate_program(choices: Choices) -> str:
    """The text of one random valid program."""
    return ProgramWriter(choices).write()


def programs():
    """A hypothesis strategy of program texts."""
    from hypothesis import strategies as st

    @st.composite
    def _programs(draw) -> str:
        return generate_program(HypothesisChoices(draw))

    return _programs()
