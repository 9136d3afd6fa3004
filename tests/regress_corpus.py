#!/usr/bin/env python3
"""Differential run of PostgreSQL's own regression-suite SQL with pg_fusion off and on.

    tests/regress_corpus.py --sqldir DIR --srcdir DIR --psql PSQL --host H --port P --dbname D \
        [--timeout SECS] [--known FILE] [--verbose] TEST...

Each TEST (a name from PostgreSQL's schedule: `select`, `join`, ...) is DIR/TEST.sql. Its file is
split into units the way psql reads it (statements ending with `;` or a `\\g`-family command,
meta-command lines, COPY data, whole `\\if ... \\endif` blocks) and the units are fed, in order,
to ONE psql session per file, so that every statement sees the state the file's earlier
statements built (temporary tables, settings, prepared statements), as under pg_regress.

Every unit runs once with pg_fusion off, except a query (a statement starting with SELECT, WITH,
TABLE, VALUES or a parenthesis). A query is first explained (EXPLAIN (COSTS OFF)) with pg_fusion
off and then on (`pg_fusion.on_unsupported = error`, set for the session by the caller):

  postgres   the off plan reads no relation, or pg_fusion passes the query to PostgreSQL by
             design (catalogs only, FOR UPDATE, ...: listed as `native` when it reads a
             relation); run once (off)
  refused    the on EXPLAIN fails with pg_fusion's 0A000; run once (off); the reason is counted
  fusion     the on plan has the PgFusionScan node: run off, then on, and compared:
    match        the same output; without ORDER BY in the statement the same rows in any order;
                 with ORDER BY the same rows and the same sort-key sequence, rows of equal keys
                 in any order (ties are not mismatches)
    unverified   ORDER BY whose keys could not be mapped to output columns, the same rows in
                 another order (listed; not a mismatch, not a match)
    unspecified  different rows from a statement whose result PostgreSQL leaves unspecified,
                 listed with the reason in --known (listed; not a mismatch)
    error-same   both fail with the same SQLSTATE
    refused-at-run  the on run fails with pg_fusion's 0A000, or its 54000 for a value larger
                 than a page (refused while running; counted with the refusals)
    mismatch     anything else (the outputs differ, or one run fails) — with a short diff
  crash        a run lost its connection (the runner waits for the server and goes on)

Coverage is fusion / every query whose off plan scans a relation (fusion, refused, native,
mismatch, crash). The last line is
`regress-corpus: F fusion of T reading tables (P%), M mismatch, C crash, U unverified`; the exit
status is 1 when M > 0 or C > 0.
"""

import argparse
import collections
import os
import re
import selectors
import subprocess
import sys
import time

# --------------------------------------------------------------------------------------------
# Splitting a file into units, as psql's lexer does (enough of it for PostgreSQL's own tests).
# --------------------------------------------------------------------------------------------

G_COMMANDS = re.compile(r"^\\(g|gx|gset|gexec|gdesc|crosstabview|watch)\b")
DOLLAR_TAG = re.compile(r"\$([A-Za-z_][A-Za-z_0-9]*)?\$")


class Unit:
    __slots__ = ("text", "line", "kind")

    def __init__(self, text, line, kind):
        self.text = text
        self.line = line
        self.kind = kind  # "sql" (ends with ';'), "meta", "block", "gcmd" (ends with \g...)


def scan_sql(text, state):
    """Advance the lexer over one line; returns the index just past a top-level ';' or -1.

    state: dict with quote (None, "'", "E'", '"', '$tag$', '/*'), depth (parentheses),
    comment_depth, atomic (inside BEGIN ATOMIC)."""
    i = 0
    n = len(text)
    while i < n:
        q = state["quote"]
        c = text[i]
        if q is None:
            if c == "-" and text.startswith("--", i):
                return -1
            if c == "/" and text.startswith("/*", i):
                state["quote"] = "/*"
                state["comment_depth"] = 1
                i += 2
                continue
            if c == "'":
                prev = text[i - 1] if i > 0 else " "
                state["quote"] = "E'" if prev in "eE" and (i < 2 or not (text[i - 2].isalnum() or text[i - 2] == "_")) else "'"
                i += 1
                continue
            if c == '"':
                state["quote"] = '"'
                i += 1
                continue
            if c == "$":
                m = DOLLAR_TAG.match(text, i)
                if m and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
                    state["quote"] = m.group(0)
                    i = m.end()
                    continue
            if c == "\\" and text.startswith("\\;", i):
                # psql's `\;`: a semicolon that does not end the statement.
                i += 2
                continue
            if c == "\\":
                # A meta-command starts here (psql reads backslashes outside quotes so).
                return -2 - i
            if c == "(":
                state["depth"] += 1
            elif c == ")":
                state["depth"] = max(0, state["depth"] - 1)
            elif c == ";" and state["depth"] == 0 and not state["atomic"]:
                return i + 1
            elif c.isalpha():
                m = re.match(r"[A-Za-z_][A-Za-z_0-9]*", text[i:])
                word = m.group(0).upper()
                if word == "ATOMIC" and state.get("last_word") == "BEGIN":
                    state["atomic"] = 1
                elif state["atomic"] and word in ("BEGIN", "CASE"):
                    state["atomic"] += 1
                elif state["atomic"] and word == "END":
                    state["atomic"] -= 1
                state["last_word"] = word
                i += len(word)
                continue
            i += 1
            continue
        if q == "/*":
            if text.startswith("*/", i):
                state["comment_depth"] -= 1
                i += 2
                if state["comment_depth"] == 0:
                    state["quote"] = None
                continue
            if text.startswith("/*", i):
                state["comment_depth"] += 1
                i += 2
                continue
            i += 1
            continue
        if q in ("'", "E'"):
            # '' is a quote inside the string; E'...' also escapes with a backslash.
            if q == "E'" and c == "\\":
                i += 2
                continue
            if c == "'":
                if text.startswith("''", i):
                    i += 2
                    continue
                state["quote"] = None
            i += 1
            continue
        if q == '"':
            if c == '"':
                state["quote"] = None
            i += 1
            continue
        # dollar quote
        if text.startswith(q, i):
            state["quote"] = None
            i += len(q)
            continue
        i += 1
    return -1


def copy_data(lines, i):
    """COPY data from line i up to a line "\\.": the text (each line after a newline) and the
    index of the line after it."""
    text = ""
    while i < len(lines):
        text += "\n" + lines[i]
        i += 1
        if lines[i - 1].strip() == "\\.":
            break
    return text, i


def split_units(source):
    units = []
    lines = source.split("\n")
    buf = []
    buf_line = 0
    state = {"quote": None, "depth": 0, "comment_depth": 0, "atomic": 0, "last_word": None}
    i = 0
    while i < len(lines):
        line = lines[i]
        lineno = i + 1
        stripped = line.strip()
        empty_buf = not any(b.strip() and not b.strip().startswith("--") for b in buf)
        if state["quote"] is None and stripped.startswith("\\"):
            if empty_buf:
                if re.match(r"^\\if\b", stripped):
                    # The whole conditional block is one unit: psql skips what is inside an
                    # inactive branch, markers included.
                    depth = 0
                    block = []
                    start = lineno
                    while i < len(lines):
                        s = lines[i].strip()
                        if re.match(r"^\\if\b", s):
                            depth += 1
                        elif re.match(r"^\\endif\b", s):
                            depth -= 1
                        block.append(lines[i])
                        i += 1
                        if depth == 0:
                            break
                    units.append(Unit("\n".join(block), start, "block"))
                    buf = []
                    continue
                text = line
                i += 1
                if re.match(r"(?i)^\\copy\b.*\bfrom\s+(stdin|pstdin)\b", stripped):
                    data, i = copy_data(lines, i)
                    text += data
                units.append(Unit(text, lineno, "meta"))
                buf = []
                continue
        if not buf:
            buf_line = lineno
        end = scan_sql(line, state)
        if end <= -2:
            at = -2 - end
            if G_COMMANDS.match(line[at:].strip()):
                buf.append(line)
                units.append(Unit("\n".join(buf), buf_line, "gcmd"))
                buf = []
                state = {"quote": None, "depth": 0, "comment_depth": 0, "atomic": 0, "last_word": None}
                i += 1
                continue
            end = -1
        if end < 0:
            buf.append(line)
            i += 1
            continue
        # A statement ends on this line (text after the ';' on the same line is rare in the
        # suite; it starts the next statement).
        buf.append(line[:end])
        text = "\n".join(buf)
        i += 1
        # COPY ... FROM stdin (several in one line joined by `\;`): each one's data follows, up to
        # a line "\.".
        for _ in re.findall(r"(?is)\bcopy\s+[^(\s][^;]*?\bfrom\s+stdin\b", strip_comments(text)):
            data, i = copy_data(lines, i)
            text += data
        units.append(Unit(text, buf_line, "sql"))
        rest = line[end:]
        buf = []
        state = {"quote": None, "depth": 0, "comment_depth": 0, "atomic": 0, "last_word": None}
        if rest.strip() and not rest.strip().startswith("--") and not text.endswith("\\."):
            # The next statement starts on the same line.
            i -= 1
            lines[i] = rest
    if any(b.strip() and not b.strip().startswith("--") for b in buf):
        units.append(Unit("\n".join(buf), buf_line, "sql"))
    return units


def strip_comments(text):
    out = []
    for line in text.split("\n"):
        s = line.strip()
        if s.startswith("--"):
            continue
        out.append(line)
    return "\n".join(out).strip()


QUERY_START = re.compile(r"(?is)^\(*\s*(select|with|table|values)\b")
# A top-level SELECT ... INTO creates a table: not a query to run twice.
SELECT_INTO = re.compile(r"(?is)^\s*select\b[^;]*?\binto\b\s+(?!strict\b)")


def is_query(unit):
    if unit.kind != "sql":
        return False
    body = strip_comments(unit.text)
    if not QUERY_START.match(body):
        return False
    if SELECT_INTO.match(body) and not re.search(r"(?is)\binsert\s+into\b", body):
        # INSERT INTO inside a WITH is a data-modifying CTE; plain SELECT INTO is DDL.
        head = re.split(r"(?is)\bfrom\b", body, maxsplit=1)[0]
        if re.search(r"(?is)\binto\b", head):
            return False
    return True


# --------------------------------------------------------------------------------------------
# One psql session fed unit by unit.
# --------------------------------------------------------------------------------------------

CRASH = re.compile(r"server closed the connection unexpectedly|connection to server was lost|"
                   r"no connection to the server|terminating connection because of crash")
SQLSTATE = re.compile(r"^(?:psql:[^\n]*?)?ERROR:\s+([0-9A-Z]{5}):", re.M)


class Session:
    def __init__(self, args, env):
        self.args = args
        self.env = env
        self.n = 0
        self.proc = None
        self.start()

    def start(self):
        a = self.args
        cmd = [a.psql, "-X", "-q", "-A", "-h", a.host, "-p", str(a.port), "-U", a.user, "-d", a.dbname,
               "-v", "ON_ERROR_STOP=0", "-v", "ON_ERROR_ROLLBACK=on", "-v", "VERBOSITY=verbose",
               "-v", "abs_srcdir=" + a.srcdir, "-v", "abs_builddir=" + a.builddir,
               "-v", "libdir=" + a.libdir, "-v", "dlsuffix=.so"]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=self.env, bufsize=0)
        self.sel = selectors.DefaultSelector()
        os.set_blocking(self.proc.stdout.fileno(), False)
        os.set_blocking(self.proc.stderr.fileno(), False)
        self.sel.register(self.proc.stdout, selectors.EVENT_READ, "out")
        self.sel.register(self.proc.stderr, selectors.EVENT_READ, "err")

    def close(self):
        if self.proc is None:
            return
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.sel.close()
        self.proc = None

    def run(self, text, timeout):
        """Sends text and waits for both streams' end markers. Returns (out, err, status) with
        status "ok", "exited" (psql ended: \\q or a lost connection it could not reset) or
        "timeout" (the session is restarted)."""
        self.n += 1
        tok = "@@pgf-unit-%d@@" % self.n
        # Echoed input would differ between the off and on runs (their SET lines).
        payload = "\\set ECHO none\n" + text + "\n\\echo " + tok + "\n\\warn " + tok + "\n"
        try:
            self.proc.stdin.write(payload.encode())
        except (BrokenPipeError, OSError):
            self.close()
            self.start()
            return "", "", "exited"
        bufs = {"out": b"", "err": b""}
        done = {"out": False, "err": False}
        marker = (tok + "\n").encode()
        deadline = time.monotonic() + timeout
        while not (done["out"] and done["err"]):
            left = deadline - time.monotonic()
            if left <= 0:
                self.proc.kill()
                self.close()
                self.start()
                return bufs["out"].decode(errors="replace"), bufs["err"].decode(errors="replace"), "timeout"
            events = self.sel.select(timeout=min(left, 1.0))
            if not events and self.proc.poll() is not None:
                out, err = bufs["out"].decode(errors="replace"), bufs["err"].decode(errors="replace")
                self.close()
                self.start()
                return out, err, "exited"
            for key, _ in events:
                chunk = key.fileobj.read()
                if chunk is None:
                    continue
                if chunk == b"":
                    done[key.data] = True
                    continue
                bufs[key.data] += chunk
                if bufs[key.data].endswith(marker):
                    done[key.data] = True
            if all(done.values()) and self.proc.poll() is not None and not (
                    bufs["out"].endswith(marker) and bufs["err"].endswith(marker)):
                out, err = bufs["out"].decode(errors="replace"), bufs["err"].decode(errors="replace")
                self.close()
                self.start()
                return out, err, "exited"
        out = bufs["out"][:-len(marker)].decode(errors="replace")
        err = bufs["err"][:-len(marker)].decode(errors="replace")
        return out, err, "ok"


# --------------------------------------------------------------------------------------------
# Comparing two outputs.
# --------------------------------------------------------------------------------------------

READS_RELATION = re.compile(
    r"(Seq Scan|Index Scan|Index Only Scan|Bitmap Heap Scan|Tid Scan|Tid Range Scan|Sample Scan|"
    r"Foreign Scan|Custom Scan \(PgFusionScan\))( Backward)?( using \S+)? on |PgFusionScan")


def sqlstate(err):
    m = SQLSTATE.search(err)
    return m.group(1) if m else None


def pg_fusion_refusal(err):
    """pg_fusion's refusal (0A000), or its documented limit of a value that does not fit a page
    (54000, raised while running), in err."""
    for line in err.split("\n"):
        if re.search(r"ERROR:\s+(0A000|54000):\s+pg_fusion", line):
            reason = re.sub(r"^.*?ERROR:\s+[0-9A-Z]{5}:\s+", "", line).strip()
            # One reason for every size.
            return re.sub(r"a value of \d+ bytes", "a value of N bytes", reason)
    return None


def has_order_by(text):
    return re.search(r"(?is)\border\s+by\b", text) is not None


def top_level_order_keys(text):
    """The expressions of the statement's last top-level ORDER BY, or None."""
    body = strip_comments(text).rstrip().rstrip(";")
    depth = 0
    last = None
    i = 0
    low = body.lower()
    while i < len(body):
        c = body[i]
        if c == "'":
            j = body.find("'", i + 1)
            i = len(body) if j < 0 else j + 1
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif depth == 0 and low.startswith("order", i) and re.match(r"order\s+by\b", low[i:]):
            last = i
        i += 1
    if last is None:
        return None
    tail = body[last:]
    tail = re.sub(r"(?is)^order\s+by\s+", "", tail)
    tail = re.split(r"(?is)\b(limit|offset|fetch|for\s+update|for\s+share|for\s+no|for\s+key)\b", tail)[0]
    keys = []
    depth = 0
    cur = ""
    for c in tail:
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        if c == "," and depth == 0:
            keys.append(cur)
            cur = ""
        else:
            cur += c
    keys.append(cur)
    out = []
    for k in keys:
        k = re.sub(r"(?is)\s+(asc|desc|nulls\s+first|nulls\s+last|using\s+\S+)\b.*$", "", k.strip())
        out.append(k.strip())
    return out


def split_output(out):
    lines = out.split("\n")
    if lines and lines[-1] == "":
        lines = lines[:-1]
    return lines


def compare(text, off, on):
    """Returns "match", "unverified" or "mismatch" for two successful outputs."""
    if off == on:
        return "match"
    a, b = split_output(off), split_output(on)
    if collections.Counter(a) != collections.Counter(b):
        return "mismatch"
    if not has_order_by(text):
        return "match"
    keys = top_level_order_keys(text)
    if keys is None:
        # ORDER BY only inside: the statement's own output order is unspecified.
        return "match"
    return _peer_check(a, b, keys)


def _peer_check(a, b, keys):
    # Unaligned output: a header line, the rows, a "(N rows)" footer. Rows must split into as
    # many fields as the header has (values holding '|' or newlines make it unverifiable).
    if len(a) < 2 or not re.match(r"^\(\d+ rows?\)$", a[-1]):
        return "unverified"
    header = a[0].split("|")
    cols = []
    for k in keys:
        if re.fullmatch(r"\d+", k):
            idx = int(k) - 1
        else:
            name = k.split(".")[-1].strip('"')
            idx = header.index(name) if name in header and header.count(name) == 1 else -1
            if idx < 0 and k.lower() in [h.lower() for h in header]:
                idx = [h.lower() for h in header].index(k.lower())
        if idx < 0 or idx >= len(header):
            return "unverified"
        cols.append(idx)
    rows_a = [r.split("|") for r in a[1:-1]]
    rows_b = [r.split("|") for r in b[1:-1]]
    if any(len(r) != len(header) for r in rows_a + rows_b):
        return "unverified"
    if a[0] != b[0] or a[-1] != b[-1]:
        return "mismatch"
    ka = [tuple(r[c] for c in cols) for r in rows_a]
    kb = [tuple(r[c] for c in cols) for r in rows_b]
    if ka != kb:
        return "mismatch"
    # Within each run of equal keys, the same rows.
    i = 0
    while i < len(ka):
        j = i
        while j < len(ka) and ka[j] == ka[i]:
            j += 1
        if collections.Counter(map(tuple, rows_a[i:j])) != collections.Counter(map(tuple, rows_b[i:j])):
            return "mismatch"
        i = j
    return "match"


def short_diff(off, on, limit=12):
    import difflib
    d = list(difflib.unified_diff(off.split("\n"), on.split("\n"), "off", "on", lineterm="", n=1))
    return "\n".join("      " + x for x in d[:limit])


# --------------------------------------------------------------------------------------------


def normalized(text):
    # Trailing `--` comments dropped too (a rough cut: enough to compare statements).
    return " ".join(re.sub(r"--[^\n]*", "", strip_comments(text)).split())


def load_known(path):
    """Statements whose result PostgreSQL itself leaves unspecified (a window function over
    peers in no particular order, say): `test<TAB>statement start<TAB>why` lines."""
    known = []
    if not path or not os.path.exists(path):
        return known
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            parts = line.rstrip("\n").split("\t")
            if len(parts) >= 3:
                known.append((parts[0], " ".join(parts[1].split())))
    return known


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--sqldir", required=True)
    p.add_argument("--srcdir", required=True, help="PostgreSQL's src/test/regress (data files)")
    p.add_argument("--builddir", default="/tmp")
    p.add_argument("--libdir", default="/nonexistent")
    p.add_argument("--psql", required=True)
    p.add_argument("--host", required=True)
    p.add_argument("--port", required=True)
    p.add_argument("--dbname", required=True)
    p.add_argument("--user", default="postgres")
    p.add_argument("--timeout", type=int, default=120)
    p.add_argument("--verbose", action="store_true", help="one line per query")
    p.add_argument("--known", help="file of statements whose result is unspecified (see load_known)")
    p.add_argument("tests", nargs="+")
    args = p.parse_args()

    env = dict(os.environ)
    env["PG_ABS_SRCDIR"] = args.srcdir
    env["PG_ABS_BUILDDIR"] = args.builddir
    env["PG_LIBDIR"] = args.libdir
    env["PG_DLSUFFIX"] = ".so"

    known = load_known(args.known)
    counts = collections.Counter()
    reasons = collections.Counter()
    reason_example = {}
    problems = []
    native = []
    per_test = []

    for test in args.tests:
        path = os.path.join(args.sqldir, test + ".sql")
        with open(path, encoding="utf-8", errors="replace") as f:
            units = split_units(f.read())
        sess = Session(args, env)
        tc = collections.Counter()
        quit_file = False
        for u in units:
            if quit_file:
                break
            where = "%s:%d" % (test, u.line)
            first = " ".join(strip_comments(u.text).split())[:100]
            if u.kind == "meta" and re.match(r"^\\(q|quit|!|o|w|i|ir|lo_)", u.text.strip()):
                if re.match(r"^\\(q|quit)\b", u.text.strip()):
                    break
                continue
            if not is_query(u):
                out, err, st = sess.run("SET pg_fusion.enable = off;\n" + u.text, args.timeout)
                if CRASH.search(err):
                    counts["crash"] += 1
                    problems.append("crash %s %s\n%s" % (where, first, err[-400:]))
                if st == "exited" and re.search(r"\\(q|quit)\b", u.text):
                    quit_file = True
                continue
            # A query: explain it off and on.
            body = u.text.rstrip().rstrip(";")
            out_off, err_off, st = sess.run(
                "SET pg_fusion.enable = off;\nEXPLAIN (COSTS OFF)\n" + body + ";", args.timeout)
            reads = bool(READS_RELATION.search(out_off)) and sqlstate(err_off) is None
            if sqlstate(err_off) is not None or st != "ok":
                out, err, st = sess.run("SET pg_fusion.enable = off;\n" + u.text, args.timeout)
                continue
            out_on, err_on, st = sess.run(
                "SET pg_fusion.enable = on;\nEXPLAIN (COSTS OFF)\n" + body + ";\nSET pg_fusion.enable = off;",
                args.timeout)
            if CRASH.search(err_on):
                counts["crash"] += 1
                tc["crash"] += 1
                problems.append("crash %s %s\n%s" % (where, first, err_on[-400:]))
                time.sleep(2)
                sess.close()
                sess = Session(args, env)
                continue
            refusal = pg_fusion_refusal(err_on)
            if refusal is not None or "PgFusionScan" not in out_on:
                if refusal is not None:
                    cls = "refused"
                    reasons[refusal] += 1
                    reason_example.setdefault(refusal, where)
                else:
                    cls = "postgres-reads" if reads else "postgres"
                counts[cls] += 1
                tc[cls] += 1
                if args.verbose:
                    print("%s %s %s%s" % (cls, where, first, " -- " + refusal if refusal else ""))
                if cls == "postgres-reads":
                    native.append("native %s %s" % (where, first))
                sess.run("SET pg_fusion.enable = off;\n" + u.text, args.timeout)
                continue
            # pg_fusion takes it: run off, then on.
            off, eoff, st1 = sess.run("SET pg_fusion.enable = off;\n" + u.text, args.timeout)
            on, eon, st2 = sess.run("SET pg_fusion.enable = on;\n" + u.text + "\nSET pg_fusion.enable = off;",
                                    args.timeout)
            if CRASH.search(eon) or CRASH.search(eoff):
                cls = "crash"
            elif st1 == "timeout" or st2 == "timeout":
                cls = "mismatch"
            else:
                s_off, s_on = sqlstate(eoff), sqlstate(eon)
                r_on = pg_fusion_refusal(eon)
                if s_off is None and s_on is None:
                    cls = compare(u.text, off, on)
                    if cls == "mismatch" and any(t == test and normalized(u.text).startswith(k) for t, k in known):
                        cls = "unspecified"
                elif r_on is not None and s_off is None:
                    cls = "refused-at-run"
                    reasons[r_on] += 1
                    reason_example.setdefault(r_on, where)
                elif s_off == s_on:
                    cls = "error-same"
                else:
                    cls = "mismatch"
            counts[cls] += 1
            counts["fusion"] += 1 if cls in ("match", "unverified", "unspecified", "error-same") else 0
            tc[cls] += 1
            if args.verbose:
                print("%s %s %s" % (cls, where, first))
            if cls in ("mismatch", "crash", "unverified", "unspecified"):
                detail = short_diff(off, on) if cls != "crash" else eon[-400:]
                errs = ""
                if sqlstate(eoff) or sqlstate(eon):
                    errs = "\n      off error: %s\n      on error: %s" % (
                        (eoff.strip().split("\n") or [""])[0][:200], (eon.strip().split("\n") or [""])[0][:200])
                problems.append("%s %s %s\n%s%s" % (cls, where, first, detail, errs))
            if cls == "crash":
                time.sleep(2)
                sess.close()
                sess = Session(args, env)
        sess.close()
        reading = tc["match"] + tc["unverified"] + tc["unspecified"] + tc["error-same"] + tc["mismatch"] + \
            tc["refused"] + tc["refused-at-run"] + tc["postgres-reads"] + tc["crash"]
        fus = tc["match"] + tc["unverified"] + tc["unspecified"] + tc["error-same"]
        per_test.append((test, fus, reading, tc["mismatch"], tc["crash"]))
        print("test %-24s %4d fusion of %4d reading tables, %d mismatch, %d crash" % (
            test, fus, reading, tc["mismatch"], tc["crash"]), flush=True)

    for n_ in native:
        print(n_)
    for p_ in problems:
        print(p_)
    print("refusals by reason:")
    for r, c in reasons.most_common():
        print("  %5d  %s  (e.g. %s)" % (c, r[:150], reason_example[r]))
    reading = sum(counts[k] for k in ("match", "unverified", "unspecified", "error-same", "mismatch", "refused",
                                      "refused-at-run", "postgres-reads", "crash"))
    fusion = counts["match"] + counts["unverified"] + counts["unspecified"] + counts["error-same"]
    pct = 100.0 * fusion / reading if reading else 0.0
    print("classes: %s" % ", ".join("%s %d" % kv for kv in sorted(counts.items())))
    print("regress-corpus: %d fusion of %d reading tables (%.1f%%), %d mismatch, %d crash, %d unverified" % (
        fusion, reading, pct, counts["mismatch"], counts["crash"], counts["unverified"]))
    return 1 if counts["mismatch"] or counts["crash"] else 0


if __name__ == "__main__":
    sys.exit(main())
