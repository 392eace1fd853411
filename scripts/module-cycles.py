#!/usr/bin/env python3
"""Lists the import cycles between the top-level modules of each crate.

A module `a` depends on `b` when a file under `a` names `crate::b` (in a
`use` or a path) or `super::b` from a top-level file. Test modules
(`#[cfg(test)] mod tests` blocks) are ignored: a test may look anywhere.
Prints each strongly connected component with more than one module, and
exits 1 when there is one (the README says data flows one way).

    python3 scripts/module-cycles.py [crates/model-provisioner ...]
"""
import pathlib
import re
import sys

PATH = re.compile(r"\bcrate::([a-z_][a-z0-9_]*)")


def top_module(src: pathlib.Path, file: pathlib.Path) -> str:
    rel = file.relative_to(src)
    if len(rel.parts) == 1:
        return rel.stem
    return rel.parts[0]


def strip_tests(text: str) -> str:
    i = text.find("#[cfg(test)]\nmod tests")
    return text if i < 0 else text[:i]


def graph(src: pathlib.Path) -> dict:
    edges: dict = {}
    roots = {"lib", "main"}
    for file in sorted(src.rglob("*.rs")):
        module = top_module(src, file)
        if module in roots:
            continue
        text = strip_tests(file.read_text())
        # `//` comments and doc comments name modules without using them.
        text = "\n".join(line.split("//")[0] for line in text.splitlines())
        deps = edges.setdefault(module, set())
        for name in PATH.findall(text):
            if name != module and name not in roots:
                deps.add(name)
        # `use crate::{a, b::c}` groups.
        for group in re.findall(r"use crate::\{([^;]*)\};", text, re.S):
            for part in re.split(r",\s*", group):
                name = part.strip().split("::")[0].split(" ")[0]
                if name and name not in ("self", module) and name not in roots:
                    deps.add(name)
    known = set(edges)
    return {m: {d for d in ds if d in known} for m, ds in edges.items()}


def cycles(edges: dict) -> list:
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def main() -> int:
    dirs = sys.argv[1:] or sorted(
        str(p.parent.parent) for p in pathlib.Path(".").glob("crates/*/src/lib.rs")
    ) + ["."]
    found = 0
    for d in dirs:
        src = pathlib.Path(d) / "src"
        if d == ".":
            src = pathlib.Path("src/cli")
        edges = graph(src)
        for comp in cycles(edges):
            found += 1
            links = [f"{a}->{b}" for a in comp for b in sorted(edges[a]) if b in comp]
            print(f"{d}: cycle {{{', '.join(comp)}}}: {' '.join(links)}")
    if not found:
        print("no import cycle between top-level modules")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
