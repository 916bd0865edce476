#!/usr/bin/env python3
"""Fails when the top-level modules of a crate import each other in a cycle.

Usage: scripts/module-cycles.py <crate>/src [...]

Cargo keeps the crates' direction; this keeps the direction inside one: it reads every
`crate::<module>` path (in `use` groups too) of each top-level module, builds the graph of
which module names which, and prints every strongly connected component of more than one
module. `super::` paths stay inside a module and are not counted.
"""
import os
import re
import sys


def top_level_idents(text, brace):
    """The identifiers that start the entries of the `{...}` group opening at `brace`."""
    idents, depth, expecting, i = [], 0, True, brace
    while i < len(text):
        c = text[i]
        if c == "{":
            depth += 1
            if depth == 1:
                expecting = True
        elif c == "}":
            depth -= 1
            if depth == 0:
                break
        elif depth == 1 and c == ",":
            expecting = True
        elif depth == 1 and expecting and (c.isalpha() or c == "_"):
            name = re.match(r"[A-Za-z_][A-Za-z0-9_]*", text[i:]).group(0)
            idents.append(name)
            expecting = False
            i += len(name)
            continue
        elif depth == 1 and not c.isspace():
            expecting = False
        i += 1
    return idents


def graph_of(src):
    modules = {n[:-3] if n.endswith(".rs") else n for n in os.listdir(src)}
    modules -= {"lib", "main"}
    edges = {m: set() for m in modules}
    for folder, _, files in os.walk(src):
        for name in files:
            if not name.endswith(".rs"):
                continue
            path = os.path.join(folder, name)
            owner = os.path.relpath(path, src).split(os.sep)[0].removesuffix(".rs")
            if owner not in edges:
                continue
            text = open(path, encoding="utf-8").read()
            for m in re.finditer(r"crate::", text):
                rest = m.end()
                if text[rest:rest + 1] == "{":
                    names = top_level_idents(text, rest)
                else:
                    found = re.match(r"[A-Za-z_][A-Za-z0-9_]*", text[rest:])
                    names = [found.group(0)] if found else []
                edges[owner].update(n for n in names if n in modules and n != owner)
    return edges


def cycles(edges):
    """Tarjan's strongly connected components with more than one member."""
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def main(sources):
    failed = False
    for src in sources:
        edges = graph_of(src)
        found = cycles(edges)
        for component in found:
            failed = True
            print(f"{src}: these modules import each other in a cycle: {', '.join(component)}")
        if not found:
            print(f"{src}: {len(edges)} modules, no cycle")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
