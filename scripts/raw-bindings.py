#!/usr/bin/env python3
# Only `src/pg/` names PostgreSQL's raw bindings (`pg::sys`): code above it reads node trees
# through the typed views of `pg::node`, catalog OIDs through `pg::catalog`, and calls the safe
# functions of `pg/`. The front end is moving onto the views file by file; the files below still
# name `sys` and may not grow in number. Exits non-zero when a file outside `src/pg/` that is not
# listed names `sys::`, or when a listed file no longer does (then take it off the list).
# Usage: scripts/raw-bindings.py [src]
import os, re, sys

NOT_YET = {
    'src/frontend/expr.rs',
    'src/frontend/select.rs',
}

root = sys.argv[1] if len(sys.argv) > 1 else 'src'
naming = re.compile(r'\bsys::|\bpg::sys\b')
bad = []
seen = set()
for dirpath, _, files in os.walk(root):
    for name in sorted(files):
        if not name.endswith('.rs'):
            continue
        path = os.path.join(dirpath, name)
        rel = os.path.relpath(path, os.path.dirname(os.path.abspath(root)))
        if rel.startswith('src/pg/'):
            continue
        text = open(path).read()
        if naming.search(text):
            seen.add(rel)
            if rel not in NOT_YET:
                line = text[:naming.search(text).start()].count('\n') + 1
                bad.append(f'{rel}:{line}: names a raw binding outside src/pg (use pg::node, pg::catalog)')
for rel in sorted(NOT_YET - seen):
    bad.append(f'{rel}: no longer names a raw binding: take it off NOT_YET in {sys.argv[0]}')
for b in bad:
    print(b)
print(f'raw bindings: {len(seen)} file(s) outside src/pg still name them; {len(bad)} problem(s)')
sys.exit(1 if bad else 0)
