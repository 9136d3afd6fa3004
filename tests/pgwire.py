#!/usr/bin/env python3
"""A client fetching a query's rows in parts, as drivers do (JDBC's fetchSize, psycopg's named
cursors over the extended protocol): Parse, Bind a named portal, then Execute it with a row
limit and Sync, again and again until it completes, all inside one transaction. Between two
parts it may run other statements on the same connection (--between), as an application
reading one result while it issues other queries does.

    pgwire.py --host DIR --port N [--setup SQL]... [--between SQL] --fetch ROWS QUERY

Prints the rows (columns joined by '|', as `psql -At` does), then "parts: N" on stderr. On an
ERROR prints "ERROR <sqlstate> <message>" and exits 1. Only the protocol's text format and
trust authentication: a test tool, not a driver.
"""
import argparse
import socket
import struct
import sys


class Error(Exception):
    pass


class Conn:
    def __init__(self, host, port, user, dbname):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(f"{host}/.s.PGSQL.{port}")
        self.buf = b""
        params = b"user\0" + user.encode() + b"\0database\0" + dbname.encode() + b"\0\0"
        body = struct.pack("!i", 196608) + params
        self.sock.sendall(struct.pack("!i", len(body) + 4) + body)
        while True:
            kind, data = self.read()
            if kind == b"R" and struct.unpack("!i", data[:4])[0] != 0:
                raise Error("only trust authentication")
            if kind == b"E":
                raise Error(error_text(data))
            if kind == b"Z":
                return

    def send(self, kind, body=b""):
        self.sock.sendall(kind + struct.pack("!i", len(body) + 4) + body)

    def read(self):
        while True:
            if len(self.buf) >= 5:
                n = struct.unpack("!i", self.buf[1:5])[0]
                if len(self.buf) >= n + 1:
                    kind, data = self.buf[:1], self.buf[5 : n + 1]
                    self.buf = self.buf[n + 1 :]
                    return kind, data
            chunk = self.sock.recv(65536)
            if not chunk:
                raise Error("connection closed by the server")
            self.buf += chunk

    def until_ready(self, rows=None):
        """Read to ReadyForQuery; DataRows into `rows`. Returns (error, suspended)."""
        error, suspended = None, False
        while True:
            kind, data = self.read()
            if kind == b"D" and rows is not None:
                rows.append(data_row(data))
            elif kind == b"E":
                error = error or error_text(data)
            elif kind == b"s":
                suspended = True
            elif kind == b"Z":
                return error, suspended

    def simple(self, sql):
        self.send(b"Q", sql.encode() + b"\0")
        error, _ = self.until_ready()
        if error:
            raise Error(error)


def data_row(data):
    (n,) = struct.unpack("!h", data[:2])
    pos, out = 2, []
    for _ in range(n):
        (length,) = struct.unpack("!i", data[pos : pos + 4])
        pos += 4
        if length < 0:
            out.append("")
        else:
            out.append(data[pos : pos + length].decode("utf-8", "replace"))
            pos += length
    return "|".join(out)


def error_text(data):
    fields = {}
    for part in data.split(b"\0"):
        if part:
            fields[part[:1]] = part[1:].decode("utf-8", "replace")
    return f"ERROR {fields.get(b'C', '?????')} {fields.get(b'M', '')}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--user", default="postgres")
    ap.add_argument("--dbname", default="postgres")
    ap.add_argument("--setup", action="append", default=[])
    ap.add_argument("--between")
    ap.add_argument("--fetch", type=int, required=True)
    ap.add_argument("query")
    a = ap.parse_args()
    try:
        c = Conn(a.host, a.port, a.user, a.dbname)
        for sql in a.setup:
            c.simple(sql)
        c.simple("BEGIN")
        c.send(b"P", b"s1\0" + a.query.encode() + b"\0" + struct.pack("!h", 0))
        c.send(b"B", b"p1\0s1\0" + struct.pack("!hhh", 0, 0, 0))
        rows, parts, between = [], 0, []
        while True:
            c.send(b"E", b"p1\0" + struct.pack("!i", a.fetch))
            c.send(b"S")
            error, suspended = c.until_ready(rows)
            if error:
                raise Error(error)
            parts += 1
            if not suspended:
                break
            if a.between:
                c.send(b"Q", a.between.encode() + b"\0")
                error, _ = c.until_ready(between)
                if error:
                    raise Error(error)
        c.simple("COMMIT")
    except Error as e:
        print(e)
        sys.exit(1)
    print("\n".join(rows))
    print(f"parts: {parts}, rows between: {len(between)}", file=sys.stderr)


if __name__ == "__main__":
    main()
