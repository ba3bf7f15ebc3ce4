"""Opens N associations to a DICOM SCP at once, keeps them open, and prints one JSON
line per association (established, or rejected with result/source/reason), then
releases them all.

usage: hold_associations.py HOST PORT CALLED_AE N
"""
import json
import sys
import time

from pynetdicom import AE
from pynetdicom.sop_class import Verification


def main():
    host, port, called, count = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    ae = AE(ae_title="HOLDER")
    ae.acse_timeout = 10
    ae.network_timeout = 10
    ae.add_requested_context(Verification)
    held = []
    results = []
    for _ in range(count):
        assoc = ae.associate(host, port, ae_title=called)
        entry = {"established": assoc.is_established, "rejected": assoc.is_rejected,
                 "aborted": assoc.is_aborted}
        # pynetdicom flags the rejection from its own thread; the primitive can lag behind.
        deadline = time.time() + 5
        while assoc.is_rejected and assoc.acceptor.primitive is None and time.time() < deadline:
            time.sleep(0.05)
        if assoc.is_rejected and assoc.acceptor.primitive is not None:
            p = assoc.acceptor.primitive
            entry["reject"] = {"result": p.result, "source": p.result_source,
                               "reason": p.diagnostic}
        results.append(entry)
        held.append(assoc)
    for assoc in held:
        if assoc.is_established:
            status = assoc.send_c_echo()
            results_entry = int(status.Status) if status else None
            results[held.index(assoc)]["echo"] = results_entry
    for assoc in held:
        if assoc.is_established:
            assoc.release()
    print(json.dumps(results))


if __name__ == "__main__":
    main()
