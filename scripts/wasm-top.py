#!/usr/bin/env python3
"""Where a WASM file's code bytes go, by crate (a small `twiggy top`): reads the code section
and the `name` section of a module that kept its names (the raw cargo output, before
wasm-bindgen and wasm-opt strip them). Usage: scripts/wasm-top.py FILE.wasm [N]"""
import re, sys
from collections import Counter

def leb(b, i):
    r = s = 0
    while True:
        x = b[i]; i += 1
        r |= (x & 0x7F) << s; s += 7
        if x < 0x80:
            return r, i

def sections(b):
    i = 8
    while i < len(b):
        sid = b[i]; size, j = leb(b, i + 1)
        yield sid, b[j:j + size]
        i = j + size

def demangle(name):
    """Legacy Rust symbols (_ZN 3foo 3bar 17h<hash> E) as foo::bar; others unchanged."""
    if not name.startswith("_ZN"):
        return name
    i, parts = 3, []
    while i < len(name) and name[i].isdigit():
        j = i
        while name[j].isdigit(): j += 1
        n = int(name[i:j]); parts.append(name[j:j + n]); i = j + n
    if parts and re.fullmatch(r"h[0-9a-f]{16}", parts[-1]): parts.pop()
    out = "::".join(parts)
    for a, b in (("$LT$", "<"), ("$GT$", ">"), ("$u20$", " "), ("$RF$", "&"), ("$C$", ","), ("..", "::"), ("$u7b$", "{"), ("$u7d$", "}")):
        out = out.replace(a, b)
    return out

def main():
    data = open(sys.argv[1], "rb").read()
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 25
    imports = 0; bodies = []; names = {}; data_bytes = 0
    for sid, body in sections(data):
        if sid == 2:  # imports: count functions (they take the first indices)
            n, i = leb(body, 0)
            for _ in range(n):
                for _ in range(2):
                    l, i = leb(body, i); i += l
                kind = body[i]; i += 1
                if kind == 0: _, i = leb(body, i); imports += 1
                elif kind == 1: i += 1; fl, i = leb(body, i); _, i = leb(body, i); i = leb(body, i)[1] if fl & 1 else i
                elif kind == 2: fl, i = leb(body, i); _, i = leb(body, i); i = leb(body, i)[1] if fl & 1 else i
                elif kind == 3: i += 2
        elif sid == 10:
            n, i = leb(body, 0)
            for _ in range(n):
                size, i = leb(body, i); bodies.append(size); i += size
        elif sid == 11:
            data_bytes = len(body)
        elif sid == 0:
            l, i = leb(body, 0); name = body[i:i + l].decode(); i += l
            if name != "name": continue
            while i < len(body):
                sub = body[i]; size, j = leb(body, i + 1)
                if sub == 1:
                    n, k = leb(body, j)
                    for _ in range(n):
                        idx, k = leb(body, k); l, k = leb(body, k)
                        names[idx] = body[k:k + l].decode("utf8", "replace"); k += l
                i = j + size
    by_crate = Counter(); by_fn = Counter()
    for n, size in enumerate(bodies):
        name = demangle(names.get(imports + n, "?"))
        by_fn[name] += size
        m = re.findall(r"(?:^|[<\s&(])_?([a-z][a-z0-9_]*)::", name)
        by_crate[m[0] if m else name[:30]] += size
    total = sum(bodies)
    print(f"code {total} B in {len(bodies)} functions; data {data_bytes} B")
    print("by crate (first path segment):")
    for k, v in by_crate.most_common(top):
        print(f"  {v:9} {100 * v / total:5.1f}%  {k}")
    print("largest functions:")
    for k, v in by_fn.most_common(top):
        print(f"  {v:9}  {k[:140]}")

main()
