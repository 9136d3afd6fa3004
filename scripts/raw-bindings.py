#!/usr/bin/env python3
# Only `src/pg/` names PostgreSQL's raw bindings (`pg::sys`): code above it reads node trees
# through the typed views of `pg::node`, catalog OIDs through `pg::catalog`, and calls the safe
# functions of `pg/`. Exits non-zero when a file outside `src/pg/` names `sys::`.
# Usage: scripts/raw-bindings.py [src]
import os, re, sys

root = sys.argv[1] if len(sys.argv) > 1 else 'src'
naming = re.compile(r'\bsys::|\bpg::sys\b')
bad = []
for dirpath, _, files in os.walk(root):
    for name in sorted(files):
        if not name.endswith('.rs'):
            continue
        path = os.path.join(dirpath, name)
        rel = os.path.relpath(path, os.path.dirname(os.path.abspath(root)))
        if rel.startswith('src/pg/'):
            continue
        text = open(path).read()
        m = naming.search(text)
        if m:
            line = text[:m.start()].count('\n') + 1
            bad.append(f'{rel}:{line}: names a raw binding outside src/pg (use pg::node, pg::catalog)')
for b in bad:
    print(b)
print(f'raw bindings: {len(bad)} file(s) outside src/pg name them')
sys.exit(1 if bad else 0)
