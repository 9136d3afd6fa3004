#!/usr/bin/env python3
# A PostgreSQL ERROR that `guard` caught must reach an entry point and be re-raised: PostgreSQL
# recovers from an ERROR (locks, buffer pins, memory contexts, LWLocks) only by its own abort.
# Prints every `guard(...)` whose result is dropped or turned into a value on the spot
# (`.unwrap_or(..)`, `.ok()`, `.is_ok()`, `.is_err()`, `.map_err(|_| ..)`, `let _ = guard`), and
# exits non-zero when there is one. Usage: scripts/caught-errors.py [src]
import os, re, sys

root = sys.argv[1] if len(sys.argv) > 1 else 'src'
dropping = re.compile(r'\s*\.(unwrap_or\w*|ok\(\)|is_ok\(\)|is_err\(\)|map_err\(\|_|unwrap\(\)|expect\()')
bad = []
for dirpath, _, files in os.walk(root):
    for name in files:
        if not name.endswith('.rs'):
            continue
        path = os.path.join(dirpath, name)
        src = open(path).read()
        for m in re.finditer(r'\bguard\(', src):
            if src[max(0, m.start() - 3):m.start()] == 'fn ':
                continue
            line = src.count('\n', 0, m.start()) + 1
            before = src[src.rfind('\n', 0, m.start()) + 1:m.start()]
            if re.search(r'let _\s*=\s*$', before):
                bad.append(f'{path}:{line}: result of guard(..) dropped')
                continue
            i, depth = m.end(), 1
            while depth and i < len(src):
                depth += {'(': 1, ')': -1}.get(src[i], 0)
                i += 1
            if dropping.match(src, i):
                bad.append(f'{path}:{line}: caught error turned into a value: {src[i:i + 30].split(chr(10))[0].strip()}')
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
