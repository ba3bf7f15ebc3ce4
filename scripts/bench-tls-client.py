#!/usr/bin/env python3
"""Associations per second over plain TCP or TLS: associate (Verification), one C-ECHO, release,
close, in PROCS processes for SECONDS seconds. Raw PDUs, so that the client costs little.

usage: bench-tls-client.py HOST PORT CALLED_AE SECONDS PROCS [--tls CA CERT KEY]
Prints one JSON line: {"rate": associations/s, "failures": n, "seconds": s}.
"""
import json
import multiprocessing
import socket
import ssl
import struct
import sys
import time

VERIFICATION = b"1.2.840.10008.1.1"
IMPLICIT_LE = b"1.2.840.10008.1.2"
APP_CONTEXT = b"1.2.840.10008.3.1.1.1"


def item(kind, value):
    return struct.pack(">BBH", kind, 0, len(value)) + value


def associate_rq(called):
    body = struct.pack(">HH", 1, 0) + called.ljust(16).encode() + b"BENCHTLS".ljust(16) + bytes(32)
    body += item(0x10, APP_CONTEXT)
    body += item(0x20, bytes([1, 0, 0, 0]) + item(0x30, VERIFICATION) + item(0x40, IMPLICIT_LE))
    body += item(0x50, item(0x51, struct.pack(">I", 16384)) + item(0x52, b"1.2.3.4"))
    return struct.pack(">BBI", 1, 0, len(body)) + body


def echo_rq():
    def element(group, elem, value):
        return struct.pack("<HHI", group, elem, len(value)) + value
    uid = VERIFICATION + b"\0" if len(VERIFICATION) % 2 else VERIFICATION
    rest = element(0, 2, uid) + element(0, 0x100, struct.pack("<H", 0x30)) + element(0, 0x110, struct.pack("<H", 1))
    rest += element(0, 0x800, struct.pack("<H", 0x0101))
    command = element(0, 0, struct.pack("<I", len(rest))) + rest
    pdv = struct.pack(">IBB", len(command) + 2, 1, 0x03) + command
    return struct.pack(">BBI", 4, 0, len(pdv)) + pdv


RELEASE_RQ = struct.pack(">BBI", 5, 0, 4) + bytes(4)


def read_pdu(sock):
    header = b""
    while len(header) < 6:
        chunk = sock.recv(6 - len(header))
        if not chunk:
            raise ConnectionError("closed")
        header += chunk
    kind, _, length = struct.unpack(">BBI", header)
    body = b""
    while len(body) < length:
        chunk = sock.recv(length - len(body))
        if not chunk:
            raise ConnectionError("closed")
        body += chunk
    return kind


def worker(args, deadline, results):
    host, port, called, tls = args
    context = None
    if tls:
        ca, cert, key = tls
        context = ssl.create_default_context(cafile=ca)
        context.check_hostname = False
        context.load_cert_chain(cert, key)
    request, echo = associate_rq(called), echo_rq()
    done = failures = 0
    while time.monotonic() < deadline:
        try:
            raw = socket.create_connection((host, port), timeout=10)
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock = context.wrap_socket(raw) if context else raw
            sock.sendall(request)
            if read_pdu(sock) != 2:
                raise ConnectionError("not accepted")
            sock.sendall(echo)
            read_pdu(sock)
            sock.sendall(RELEASE_RQ)
            read_pdu(sock)
            sock.close()
            done += 1
        except (OSError, ConnectionError):
            failures += 1
    results.put((done, failures))


def main():
    host, port, called, seconds, procs = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4]), int(sys.argv[5])
    tls = tuple(sys.argv[7:10]) if len(sys.argv) > 6 and sys.argv[6] == "--tls" else None
    results = multiprocessing.Queue()
    start = time.monotonic()
    deadline = start + seconds
    workers = [multiprocessing.Process(target=worker, args=((host, port, called, tls), deadline, results))
               for _ in range(procs)]
    for w in workers:
        w.start()
    totals = [results.get(timeout=seconds + 60) for _ in workers]
    for w in workers:
        w.join()
    elapsed = time.monotonic() - start
    done = sum(t[0] for t in totals)
    print(json.dumps({"rate": done / elapsed, "failures": sum(t[1] for t in totals), "seconds": elapsed}))


if __name__ == "__main__":
    main()
