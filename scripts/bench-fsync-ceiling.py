#!/usr/bin/env python3
"""The disk's ceiling for durable ingest, measured the same day as the C-STORE benchmark.

Writes COUNT files of SIZE bytes from WRITERS threads into DIR, each made durable the way
qrscpd stores an object (write a temporary file, fdatasync, rename into a directory, fsync
that directory), and prints one JSON line with files/s and MB/s. No network, no DICOM: the
rate no durable archive can beat on this file system. The files stay (the caller removes
them at the very end: on ext4 without a journal, inodes freed seconds before make new files
slow to create, and would slow whatever is measured next).

usage: bench-fsync-ceiling.py DIR WRITERS [COUNT] [SIZE]
"""
import json
import os
import sys
import threading
import time


def writer(root, index, count, payload):
    incoming = os.path.join(root, "incoming")
    final = os.path.join(root, "w%d" % index)
    os.makedirs(final, exist_ok=True)
    for i in range(count):
        temporary = os.path.join(incoming, "%d.%d.tmp" % (index, i))
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            os.write(fd, payload)
            os.fdatasync(fd)
        finally:
            os.close(fd)
        os.rename(temporary, os.path.join(final, "%d.dcm" % i))
        dfd = os.open(final, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


def main():
    root, writers = sys.argv[1], int(sys.argv[2])
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 400
    size = int(sys.argv[4]) if len(sys.argv) > 4 else 512 * 1024 + 1024
    os.makedirs(os.path.join(root, "incoming"), exist_ok=True)
    payload = os.urandom(size)
    per_writer = max(1, count // writers)
    threads = [threading.Thread(target=writer, args=(root, k, per_writer, payload)) for k in range(writers)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.monotonic() - start
    files = per_writer * writers
    print(json.dumps({"writers": writers, "files": files, "seconds": round(seconds, 4),
                      "files_per_s": round(files / seconds, 1),
                      "mb_per_s": round(files * size / seconds / 1e6, 1)}))


if __name__ == "__main__":
    main()
