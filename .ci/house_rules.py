#!/usr/bin/env python3
"""The house rules CI holds the source tree to, each a line of the developers' guide or issue 16.

- no import cycle between sibling modules of crates/ci3/src, at any depth (a module and its
  own ancestors are one unit: `super::` and a parent's `pub use` are how Rust modules nest);
- no `Result<_, String>` in the library: errors are `ci3::Error`, whose kind carries the exit code;
- no file in crates/*/src over 600 lines;
- no executable's main file (crates/ci3-tools/src/bin/*.rs) over 120 lines;
- every Rust file in crates/*/src opens with a `//!` line.

Prints one line per breach and exits 1 if there is any.
"""

import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
LIB = os.path.join(ROOT, "crates", "ci3", "src")
MAX_LINES = 600
MAX_MAIN_LINES = 120


def rust_files(top):
    for dirpath, _, names in os.walk(top):
        for name in sorted(names):
            if name.endswith(".rs"):
                yield os.path.join(dirpath, name)


def module_of(path):
    """crates/ci3/src/a/b.rs -> ('a', 'b'); a/mod.rs -> ('a',); lib.rs -> ()."""
    rel = os.path.relpath(path, LIB)[: -len(".rs")].split(os.sep)
    if rel[-1] in ("mod", "lib"):
        rel = rel[:-1]
    return tuple(rel)


def without_tests_and_comments(text):
    # Unit tests sit at the end of a file behind `#[cfg(test)]`; what they import is not the
    # module's design.
    cut = re.search(r"^#\[cfg\(test\)\]\s*\n\s*mod \w+\s*\{", text, re.M)
    if cut:
        text = text[: cut.start()]
    return re.sub(r"//.*", "", text)


def referenced_paths(text, here):
    """Absolute module paths (tuples) that `text`, the source of module `here`, refers to."""
    out = []
    for m in re.finditer(r"\b((?:crate|super|self)(?:::(?:super|\w+))*)::(\{[^{}]*\}|\w+)", text):
        head, tail = m.group(1).split("::"), m.group(2)
        if head[0] == "crate":
            base, rest = [], head[1:]
        elif head[0] == "self":
            base, rest = list(here), head[1:]
        else:
            base, rest = list(here), head
            while rest and rest[0] == "super":
                base, rest = base[:-1], rest[1:]
        items = [i.strip() for i in tail.strip("{}").split(",")] if tail.startswith("{") else [tail]
        for item in items:
            words = [w for w in re.split(r"::", item.split(" as ")[0].strip()) if w]
            if not words or words[0] in ("self", "*"):
                out.append(tuple(base + rest))
            else:
                out.append(tuple(base + rest + [words[0]]))
    return out


def resolve(path, modules):
    """The longest prefix of `path` that is a module of the library."""
    for n in range(len(path), -1, -1):
        if path[:n] in modules:
            return path[:n]
    return ()


def cycles(edges):
    """Strongly connected components of more than one node (Tarjan)."""
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]
    nodes = set(edges) | {b for bs in edges.values() for b in bs}

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
                found.append(sorted(comp))

    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return found


def import_cycles():
    files = {module_of(p): p for p in rust_files(LIB)}
    modules = set(files)
    # level (a parent module) -> child -> children it depends on
    levels = {}
    why = {}
    for here, path in files.items():
        with open(path, encoding="utf-8") as f:
            text = without_tests_and_comments(f.read())
        for ref in referenced_paths(text, here):
            there = resolve(ref, modules)
            n = 0
            while n < min(len(here), len(there)) and here[n] == there[n]:
                n += 1
            if n == len(here) or n == len(there):
                continue  # the same module, or an ancestor and its descendant
            parent, a, b = here[:n], here[n], there[n]
            levels.setdefault(parent, {}).setdefault(a, set()).add(b)
            why.setdefault((parent, a, b), "%s -> %s" % ("::".join(here), "::".join(there)))
    breaches = []
    for parent, edges in sorted(levels.items()):
        for comp in cycles(edges):
            inside = "::".join(("crate",) + parent)
            links = [why[(parent, a, b)] for a in comp for b in comp if (parent, a, b) in why]
            breaches.append(
                "import cycle in %s between %s (%s)" % (inside, ", ".join(comp), "; ".join(links))
            )
    return breaches


STRING_ERROR = re.compile(r"Result<(?:[^<>;{}]|<(?:[^<>]|<[^<>]*>)*>)*,\s*String\s*>")


def main():
    breaches = import_cycles()
    for path in rust_files(LIB):
        with open(path, encoding="utf-8") as f:
            text = re.sub(r"//.*", "", f.read())
        for m in STRING_ERROR.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            breaches.append("%s:%d: Result<_, String> in the library: return ci3::Error" % (os.path.relpath(path, ROOT), line))
    crates = os.path.join(ROOT, "crates")
    for krate in sorted(os.listdir(crates)):
        for path in rust_files(os.path.join(crates, krate, "src")):
            rel = os.path.relpath(path, ROOT)
            with open(path, encoding="utf-8") as f:
                lines = f.read().split("\n")
            count = len(lines) - (1 if lines and lines[-1] == "" else 0)
            is_main = os.path.basename(os.path.dirname(path)) == "bin"
            limit = MAX_MAIN_LINES if is_main else MAX_LINES
            if count > limit:
                what = "an executable's main file" if is_main else "a source file"
                breaches.append("%s: %d lines, over the %d of %s" % (rel, count, limit, what))
            if not lines or not lines[0].startswith("//!"):
                breaches.append("%s: does not open with a //! line saying what it owns" % rel)
    for b in breaches:
        print(b)
    if breaches:
        print("house_rules: %d breach(es)" % len(breaches), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
