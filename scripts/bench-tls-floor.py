#!/usr/bin/env python3
"""The floor for bulk transfer over loopback: the smallest program that does only the unavoidable
work of a retrieve's sending side, to set qrscpd's C-GET beside. A sender process pushes BYTES
from one 1 MiB buffer in memory through a socket (TLS 1.3 with CIPHER, or plain TCP), a receiver
process reads them into one 1 MiB buffer and drops them. No files, no DICOM, no framing.

usage: bench-tls-floor.py BYTES plain
       bench-tls-floor.py BYTES tls CA CERT KEY CIPHER
Prints one JSON line: {"bytes", "seconds" (first byte asked to last byte read, after the
handshake), "gb_per_s", "sender_cpu_seconds" (the sender's user+system CPU over the same
span), "cpu_s_per_gb", "receiver_cpu_seconds", "tls" (protocol and cipher, or "plain")}.
"""
import json
import os
import resource
import socket
import sys
import time

CHUNK = 1 << 20


def cipher_config(cipher):
    """Forces the TLS 1.3 suite through OpenSSL's configuration (Python's ssl module has no
    setter for TLS 1.3 suites); must be in place before the ssl module creates a context."""
    path = f"/tmp/qrscpd-bench-floor-{os.getpid()}.cnf"
    with open(path, "w") as f:
        f.write("openssl_conf = conf\n[conf]\nssl_conf = ssl\n[ssl]\nsystem_default = defaults\n"
                f"[defaults]\nMinProtocol = TLSv1.3\nCiphersuites = {cipher}\n")
    os.environ["OPENSSL_CONF"] = path
    return path


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main():
    total, mode = int(sys.argv[1]), sys.argv[2]
    tls = sys.argv[3:8] if mode == "tls" else None
    config = cipher_config(tls[3]) if tls else None
    import ssl  # after OPENSSL_CONF is set

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    report_r, report_w = os.pipe()
    sender = os.fork()
    if sender == 0:  # the sender: the server's side of a retrieve
        os.close(report_r)
        connection, _ = listener.accept()
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(tls[1], tls[2])
            connection = context.wrap_socket(connection, server_side=True)
        # The receiver asks for the bytes once its side of the handshake is done.
        connection.recv(1)
        data = memoryview(bytes(CHUNK))
        before = cpu_seconds()
        sent = 0
        while sent < total:
            piece = data[:min(CHUNK, total - sent)]
            connection.sendall(piece)
            sent += len(piece)
        os.write(report_w, json.dumps({"cpu": cpu_seconds() - before}).encode())
        connection.recv(1)  # until the receiver has everything and closes
        os._exit(0)

    os.close(report_w)
    listener.close()
    client = socket.create_connection(("127.0.0.1", port), timeout=120)
    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    negotiated = "plain"
    if tls:
        context = ssl.create_default_context(cafile=tls[0])
        context.check_hostname = False
        client = context.wrap_socket(client)
        negotiated = f"{client.version()} {client.cipher()[0]}"
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    start = time.perf_counter()
    receiver_cpu = cpu_seconds()
    client.sendall(b"g")
    received = 0
    while received < total:
        n = client.recv_into(view, min(CHUNK, total - received))
        if n == 0:
            raise SystemExit("sender closed early")
        received += n
    seconds = time.perf_counter() - start
    receiver_cpu = cpu_seconds() - receiver_cpu
    report = json.loads(os.read(report_r, 4096))
    client.close()
    os.waitpid(sender, 0)
    if config:
        os.unlink(config)
    print(json.dumps({
        "bytes": total, "seconds": seconds, "gb_per_s": total / 1e9 / seconds,
        "sender_cpu_seconds": report["cpu"], "cpu_s_per_gb": report["cpu"] / (total / 1e9),
        "receiver_cpu_seconds": receiver_cpu, "tls": negotiated,
    }))


if __name__ == "__main__":
    main()
