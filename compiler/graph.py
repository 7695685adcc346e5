"""``wirespeed graph``: the parser graph and the ingress control flow as one picture.

The parser is a state machine (states list what they extract, edges carry the select arms);
the control is a flow chart in which every table shows its keys with their match kinds and
its actions, conditions are diamonds, and edges say which branch (hit/miss, the action run,
true/false) they take.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import assert_never

import graphviz
from wirespeed.compiler import ir

FONT = "Helvetica"


def expr_text(expr: ir.Expr) -> str:
    """A short source-like rendering of an expression for labels."""
    match expr:
        case ir.Const(value, ctype):
            if isinstance(ctype, ir.BoolType):
                return "true" if value else "false"
            return str(value) if value < 10 else hex(value)
        case ir.FieldRef(header, fname, _):
            return f"{header}.{fname}"
        case ir.MetaRef(scope, name, _):
            return f"{scope}.{name}"
        case ir.ParamRef(name, _):
            return name
        case ir.IsValid(header):
            return f"{header}.valid"
        case ir.BinOp(op, left, right, _):
            return f"{_operand(left)} {op.value} {_operand(right)}"
        case ir.UnOp(op, operand, _):
            return f"{op.value}{expr_text(operand)}"
        case ir.Slice(value, hi, lo, _):
            return f"{expr_text(value)}[{hi}:{lo}]"
        case ir.Concat(left, right, _):
            return f"{expr_text(left)} ++ {expr_text(right)}"
        case ir.Cast(value, ctype):
            return f"({ctype}) {expr_text(value)}"
        case _:
            assert_never(expr)


def _number(value: int, key: ir.Expr | None) -> str:
    """Ports and protocol numbers read best in decimal, ethertypes and addresses in hex."""
    hexy = key is None or "type" in expr_text(key) or (
        isinstance(key.type, ir.Bits) and key.type.width > 16)
    return hex(value) if hexy and value > 9 else str(value)


def _operand(expr: ir.Expr) -> str:
    """An operand of a binary operator, in parentheses when it is one itself."""
    text = expr_text(expr)
    return f"({text})" if isinstance(expr, ir.BinOp) else text


def match_text(match: ir.Match, key: ir.Expr | None = None) -> str:
    match match:
        case ir.Exact(value):
            return _number(value, key)
        case ir.Lpm(value, prefix_len):
            return f"{value:#x}/{prefix_len}"
        case ir.Ternary(value, mask):
            return f"{value:#x} &&& {mask:#x}"
        case ir.Range(lo, hi):
            return f"{_number(lo, key)}..{_number(hi, key)}"
        case ir.Wildcard():
            return "_"
        case _:
            assert_never(match)


def stmt_text(stmt: ir.Stmt) -> str:
    """One line for a simple statement (tables and branches get their own nodes)."""
    match stmt:
        case ir.Assign(target, value):
            return f"{expr_text(target)} = {expr_text(value)}"
        case ir.SetValid(header):
            return f"{header}.setValid()"
        case ir.SetInvalid(header):
            return f"{header}.setInvalid()"
        case ir.Forward(port):
            return f"forward({expr_text(port)})"
        case ir.Drop():
            return "drop()"
        case ir.SendToHost():
            return "send_to_host()"
        case ir.Hash(target, algo, fields_):
            return f"{expr_text(target)} = {algo.value}({', '.join(map(expr_text, fields_))})"
        case ir.RegisterRead(target, register, index):
            return f"{expr_text(target)} = {register}[{expr_text(index)}]"
        case ir.RegisterWrite(register, index, value):
            return f"{register}[{expr_text(index)}] = {expr_text(value)}"
        case ir.MeterExecute(target, meter, index):
            return f"{expr_text(target)} = {meter}.execute({expr_text(index)})"
        case ir.Return():
            return "return"
        case ir.Apply(table) | ir.ApplyHit(table) | ir.ApplySwitch(table):
            return f"{table}.apply()"
        case ir.If(cond):
            return f"if {expr_text(cond)}"
        case _:
            assert_never(stmt)


@dataclass
class _Flow:
    """Builds the control flow chart: each step returns the loose ends that continue."""

    graph: graphviz.Digraph
    program: ir.Program
    count: int = 0
    returns: list[tuple[str, str]] = field(default_factory=list)

    def node(self, **attrs: str) -> str:
        self.count += 1
        name = f"c{self.count}"
        self.graph.node(name, **attrs)
        return name

    def connect(self, ends: list[tuple[str, str]], target: str) -> None:
        for source, label in ends:
            self.graph.edge(source, target, label=label)

    def table_node(self, name: str) -> str:
        table = self.program.table(name)
        rows = [f'<tr><td colspan="2" bgcolor="#cfe2f3"><b>table {html.escape(name)}</b></td></tr>']
        for key in table.keys:
            rows.append(f'<tr><td align="left">{html.escape(key.name)}</td>'
                        f'<td align="left"><i>{key.kind.value}</i></td></tr>')
        default = table.default_action
        actions = ", ".join(
            f"<u>{html.escape(a)}</u>" if a == default.action else html.escape(a)
            for a in table.actions)
        rows.append(f'<tr><td colspan="2" align="left">actions: {actions}</td></tr>')
        extras = [f"size {table.size}"]
        if table.counters:
            extras.append("counters")
        if table.const_entries:
            extras.append(f"{len(table.const_entries)} const entries")
        rows.append(f'<tr><td colspan="2" align="left"><font point-size="9">'
                    f'{", ".join(extras)}</font></td></tr>')
        label = ('<<table border="0" cellborder="1" cellspacing="0" cellpadding="3">'
                 + "".join(rows) + "</table>>")
        return self.node(label=label, shape="plain")

    def block(self, stmts: tuple[ir.Stmt, ...], ends: list[tuple[str, str]]
              ) -> list[tuple[str, str]]:
        """Chain ``stmts`` after ``ends``; consecutive simple statements share one box."""
        pending: list[str] = []

        def flush() -> None:
            nonlocal ends
            if pending:
                box = self.node(label="\\l".join(pending) + "\\l", shape="box",
                                style="rounded")
                self.connect(ends, box)
                ends = [(box, "")]
                pending.clear()

        for stmt in stmts:
            match stmt:
                case ir.Apply(table):
                    flush()
                    node = self.table_node(table)
                    self.connect(ends, node)
                    ends = [(node, "")]
                case ir.ApplyHit(table, hit, miss):
                    flush()
                    node = self.table_node(table)
                    self.connect(ends, node)
                    ends = self.block(hit, [(node, "hit")]) + self.block(miss, [(node, "miss")])
                case ir.ApplySwitch(table, cases, default):
                    flush()
                    node = self.table_node(table)
                    self.connect(ends, node)
                    new_ends: list[tuple[str, str]] = []
                    for case in cases:
                        new_ends += self.block(case.body, [(node, ", ".join(case.actions))])
                    new_ends += self.block(default, [(node, "default")])
                    ends = new_ends
                case ir.If(cond, then, otherwise):
                    flush()
                    node = self.node(label=expr_text(cond), shape="diamond", style="filled",
                                     fillcolor="#fff2cc")
                    self.connect(ends, node)
                    ends = self.block(then, [(node, "true")]) + self.block(
                        otherwise, [(node, "false")])
                case ir.Return():
                    flush()
                    self.returns += ends
                    return []
                case _:
                    pending.append(stmt_text(stmt))
        flush()
        return ends


def build_graph(program: ir.Program) -> graphviz.Digraph:
    graph = graphviz.Digraph(program.name, graph_attr={
        "rankdir": "TB", "fontname": FONT, "label": f"{program.name}", "labelloc": "t",
        "fontsize": "18", "compound": "true", "nodesep": "0.3"})
    graph.attr("node", fontname=FONT, fontsize="11")
    graph.attr("edge", fontname=FONT, fontsize="10")

    with graph.subgraph(name="cluster_parser") as parser:
        parser.attr(label="parser", style="rounded", color="#999999")
        parser.node("p_accept", "accept", shape="doublecircle", style="filled",
                    fillcolor="#d9ead3")
        targets = {c.next_state for st in program.parser for c in st.cases} | {
            st.default for st in program.parser}
        if ir.REJECT in targets:
            parser.node("p_reject", "reject (drop)", shape="octagon", style="filled",
                        fillcolor="#f4cccc")
        for state in program.parser:
            extracts = "\\n".join(f"extract {h}" for h in state.extracts)
            label = f"{state.name}" + (f"\\n{extracts}" if extracts else "")
            parser.node(f"p_{state.name}", label, shape="box", style="rounded,filled",
                        fillcolor="#eeeeee")
        for state in program.parser:
            keys = ", ".join(expr_text(k) for k in state.select_keys)
            for case in state.cases:
                label = ", ".join(match_text(m, k)
                                  for m, k in zip(case.matches, state.select_keys, strict=True))
                parser.edge(f"p_{state.name}", f"p_{case.next_state}",
                            label=f"{keys} = {label}" if len(case.matches) == 1 else
                            f"({keys}) = ({label})")
            default_label = "_" if state.select_keys else ""
            parser.edge(f"p_{state.name}", f"p_{state.default}", label=default_label,
                        style="dashed" if state.select_keys else "solid")

    with graph.subgraph(name="cluster_ingress") as control:
        control.attr(label="control ingress", style="rounded", color="#999999")
        flow = _Flow(control, program)
        start = flow.node(label="start", shape="ellipse", style="filled",
                          fillcolor="#d9ead3", fontsize="9")
        ends = flow.block(program.ingress, [(start, "")])
        deparse = flow.node(label="deparse", shape="ellipse", peripheries="2",
                            style="filled", fillcolor="#d9ead3", fontsize="9")
        flow.connect(ends, deparse)
        flow.connect([(source, f"{label}: return" if label else "return")
                      for source, label in flow.returns], deparse)
    graph.edge("p_accept", start, style="dotted")
    return graph


def write_graph(program: ir.Program, out: str) -> None:
    """Render to ``out``; the format comes from its suffix (svg, png, pdf, dot)."""
    graph = build_graph(program)
    suffix = out.rsplit(".", 1)[-1].lower() if "." in out else "svg"
    if suffix in ("dot", "gv"):
        with open(out, "w") as f:
            f.write(graph.source)
        return
    data = graph.pipe(format=suffix)
    with open(out, "wb") as f:
        f.write(data)
