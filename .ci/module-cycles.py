#!/usr/bin/env python3
"""Import cycles between the modules of `src/`.

Two levels are checked in each crate of the workspace (the library's
`src/`, the demo's `demo/src/`): the top-level modules (`config`, `http`,
`logs`, `server`...), and the files of each module directory
(`http/layer.rs` against `http/body.rs`...). A module depends on another
when its code names it through `crate::other` (in a `use` or a path) or,
inside a directory, through `super::other` / `self::other`. Lines of test
modules and comments are ignored.

A cycle is a strongly connected component of more than one module.
`.ci/module-cycles.txt` lists the cycles allowed, one component a line; it
is empty since issue 12 broke the last ones, so any cycle fails the check.
(Should one ever have to be tolerated while a refactor lands in steps,
`--write` records today's cycles; modules may leave them, never join them.)

    python3 .ci/module-cycles.py            # check against the list
    python3 .ci/module-cycles.py --write    # record the cycles of today
    python3 .ci/module-cycles.py --show     # print every dependency edge
"""

import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
# The crates of the workspace: the library, and the demo.
CRATES = [ROOT / "src", ROOT / "demo" / "src"]
BASELINE = pathlib.Path(__file__).resolve().parent / "module-cycles.txt"

CRATE_PATH = re.compile(r"\bcrate::([A-Za-z_][A-Za-z0-9_]*)")
USE_GROUP = re.compile(r"\buse\s+crate::\{([^;]*)\}", re.S)
SIBLING_PATH = re.compile(r"\b(?:super|self)::([a-z_][a-z0-9_]*)")
SIBLING_GROUP = re.compile(r"\buse\s+(?:super|self)::\{([^;]*)\}", re.S)


def code_of(path):
    """The file's text without comments and `#[cfg(test)] mod ... { }` blocks."""
    text = path.read_text()
    text = re.sub(r"//[^\n]*", "", text)
    out = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.strip() == "#[cfg(test)]" and i + 1 < len(lines) and re.match(
            r"\s*(pub(\([a-z]+\))?\s+)?mod\s+\w+\s*\{", lines[i + 1]
        ):
            depth = 0
            i += 1
            while i < len(lines):
                depth += lines[i].count("{") - lines[i].count("}")
                i += 1
                if depth <= 0:
                    break
            continue
        out.append(line)
        i += 1
    return "\n".join(out)


def group_names(group):
    """First path segments in a `{a, b::c, d::{e, f}}` use group."""
    names, depth, current = [], 0, ""
    for ch in group:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == "," and depth == 0:
            names.append(current)
            current = ""
            continue
        current += ch if depth == 0 else ""
    names.append(current)
    return {n.strip().split("::")[0].strip() for n in names if n.strip()}


def top_modules(src):
    mods = {}
    for entry in sorted(src.iterdir()):
        if entry.name in ("lib.rs", "main.rs"):
            continue
        if entry.is_dir():
            mods[entry.name] = sorted(entry.rglob("*.rs"))
        elif entry.suffix == ".rs":
            mods[entry.stem] = [entry]
    return mods


def root_reexports(src):
    """Names `lib.rs` re-exports (`pub use telemetry::{Telemetry, ...}`),
    mapped to the module they come from: `crate::Telemetry` names
    `telemetry`."""
    names = {}
    text = (src / "lib.rs").read_text()
    for module, group in re.findall(r"pub use (\w+)::\{([^}]*)\}", text):
        for name in group.split(","):
            if name.strip():
                names[name.strip()] = module
    for module, name in re.findall(r"pub use (\w+)::(\w+);", text):
        names[name] = module
    return names


def crate_refs(code, reexports):
    refs = set(CRATE_PATH.findall(code))
    for group in USE_GROUP.findall(code):
        refs |= group_names(group)
    return {reexports.get(r, r) for r in refs}


def sibling_refs(code):
    refs = set(SIBLING_PATH.findall(code))
    for group in SIBLING_GROUP.findall(code):
        refs |= group_names(group)
    return refs


def components(graph):
    """Tarjan's strongly connected components with more than one member."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def graphs():
    """(level name, graph) for the top level of each crate and each of its
    module directories."""
    for src in CRATES:
        yield from crate_graphs(src)


def crate_graphs(src):
    name_of = str(src.relative_to(ROOT))
    mods = top_modules(src)
    reexports = root_reexports(src)
    top = {}
    for name, files in mods.items():
        refs = set()
        for f in files:
            code = code_of(f)
            refs |= crate_refs(code, reexports)
            # In a top-level file or a directory's `mod.rs`, `super::` is
            # the crate root.
            if f.parent == src or f.name == "mod.rs" and f.parent.parent == src:
                refs |= {reexports.get(r, r) for r in sibling_refs(code)}
        top[name] = {r for r in refs if r in mods and r != name}
    yield name_of, top
    for name in sorted(mods):
        directory = src / name
        if not directory.is_dir():
            continue
        files = {f.stem: f for f in directory.glob("*.rs") if f.stem != "mod"}
        inner = {}
        for stem, f in files.items():
            refs = sibling_refs(code_of(f))
            # `crate::this_module::sibling` names a sibling too.
            for m in re.findall(rf"\bcrate::{name}::([a-z_][a-z0-9_]*)", code_of(f)):
                refs.add(m)
            inner[stem] = {r for r in refs if r in files and r != stem}
        yield f"{name_of}/{name}", inner


def cycles():
    found = []
    for level, graph in graphs():
        for comp in components(graph):
            found.append(f"{level}: {' '.join(comp)}")
    return found


def main():
    args = sys.argv[1:]
    if "--show" in args:
        for level, graph in graphs():
            for v in sorted(graph):
                for w in sorted(graph[v]):
                    print(f"{level}: {v} -> {w}")
        return 0
    found = cycles()
    if "--write" in args:
        BASELINE.write_text(
            "# Import cycles that exist today (.ci/module-cycles.py --write).\n"
            "# Modules may leave these, never join them or form new ones.\n"
            + "".join(f"{c}\n" for c in found)
        )
        print(f"recorded {len(found)} cycle(s) in {BASELINE.name}")
        return 0
    allowed = []
    if BASELINE.exists():
        for line in BASELINE.read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                level, members = line.split(":", 1)
                allowed.append((level.strip(), set(members.split())))
    failed = False
    for c in found:
        level, members = c.split(":", 1)
        members = set(members.split())
        if not any(level == l and members <= a for l, a in allowed):
            print(f"error: new import cycle in {level}: {' '.join(sorted(members))}", file=sys.stderr)
            failed = True
    for level, a in allowed:
        if not any(
            c.split(":", 1)[0] == level and set(c.split(":", 1)[1].split()) == a for c in found
        ):
            print(f"note: a recorded cycle in {level} shrank or is gone; run --write to record it")
    if failed:
        print(
            "run `python3 .ci/module-cycles.py --show` for the edges; a module must not import one that imports it back",
            file=sys.stderr,
        )
        return 1
    print(f"no new import cycles ({len(found)} recorded one(s) remain, see .ci/module-cycles.txt)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
