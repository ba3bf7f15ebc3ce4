#!/usr/bin/env python3
"""C-GET of one study by pynetdicom, over plain TCP or TLS (an ssl.SSLContext with a client
certificate): the second, independent client of the TLS benchmark. Every C-STORE-RQ is answered
with success and its data set dropped undecoded; the maximum PDU length is 1 MiB, like qrscpd-bench's.

usage: bench-tls-pynetdicom.py PORT CALLED_AE STUDY_UID [--tls CA CERT KEY]
Prints one JSON line: {"images", "bytes", "seconds" (association request to release),
"client_cpu_seconds", "status", "tls"}; exits 1 when the retrieve did not succeed.
"""
import json
import logging
import resource
import ssl
import sys
import time

from pydicom.dataset import Dataset
from pynetdicom import AE, build_role, evt
from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelGet

STORAGE = [
    "1.2.840.10008.5.1.4.1.1.2",  # CT Image
    "1.2.840.10008.5.1.4.1.1.4",  # MR Image
    "1.2.840.10008.5.1.4.1.1.1",  # Computed Radiography Image
    "1.2.840.10008.5.1.4.1.1.7",  # Secondary Capture Image
]
TRANSFER_SYNTAXES = ["1.2.840.10008.1.2.1", "1.2.840.10008.1.2"]


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main():
    port, called, study = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    tls_args = None
    if len(sys.argv) > 4 and sys.argv[4] == "--tls":
        ca, cert, key = sys.argv[5:8]
        context = ssl.create_default_context(cafile=ca)
        context.check_hostname = False
        context.load_cert_chain(cert, key)
        tls_args = (context, None)
    logging.getLogger("pynetdicom").setLevel(logging.CRITICAL)

    ae = AE(ae_title="BENCHPY")
    ae.maximum_pdu_size = 1 << 20
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 120
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelGet)
    roles = []
    for uid in STORAGE:
        ae.add_requested_context(uid, TRANSFER_SYNTAXES)
        roles.append(build_role(uid, scp_role=True))
    totals = {"images": 0, "bytes": 0}

    def on_store(event):
        totals["images"] += 1
        totals["bytes"] += len(event.request.DataSet.getbuffer())
        return 0x0000

    identifier = Dataset()
    identifier.QueryRetrieveLevel = "STUDY"
    identifier.StudyInstanceUID = study
    cpu0 = cpu_seconds()
    start = time.perf_counter()
    assoc = ae.associate("127.0.0.1", port, ae_title=called, ext_neg=roles,
                         evt_handlers=[(evt.EVT_C_STORE, on_store)], tls_args=tls_args)
    if not assoc.is_established:
        raise SystemExit("association not established")
    negotiated = "plain"
    if tls_args:
        sock = assoc.dul.socket.socket
        negotiated = f"{sock.version()} {sock.cipher()[0]}"
    final = None
    for status, _ in assoc.send_c_get(identifier, StudyRootQueryRetrieveInformationModelGet):
        if status and status.Status not in (0xFF00, 0xFF01):
            final = status.Status
    assoc.release()
    seconds = time.perf_counter() - start
    print(json.dumps({
        "images": totals["images"], "bytes": totals["bytes"], "seconds": seconds,
        "client_cpu_seconds": cpu_seconds() - cpu0, "status": f"{final if final is not None else 0xFFFF:04X}",
        "tls": negotiated,
    }))
    sys.exit(0 if final == 0 else 1)


if __name__ == "__main__":
    main()
