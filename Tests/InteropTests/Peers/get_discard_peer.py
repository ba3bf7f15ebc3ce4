"""C-GET requester (pynetdicom) that counts what it receives and keeps none of it.

usage: get_discard_peer.py HOST PORT CALLED_AE STUDY_UID [--stall SECONDS]
  --stall SECONDS   answer no C-STORE-RQ: the first one is held for SECONDS, then the peer
                    reports whether the server aborted the association meanwhile

Retrieves the study (Study Root, STUDY level) proposing Secondary Capture and CT storage in
Explicit and Implicit VR Little Endian with no PDU size limit. Prints one JSON line: the final
C-GET-RSP status and counts, the number of C-STOREs and data set bytes received, and whether the
association was aborted.
"""
import json
import sys
import time

from pydicom.dataset import Dataset
from pydicom.uid import ImplicitVRLittleEndian, ExplicitVRLittleEndian
from pynetdicom import AE, evt, build_role
from pynetdicom.sop_class import (
    StudyRootQueryRetrieveInformationModelGet, SecondaryCaptureImageStorage, CTImageStorage,
)


def main():
    host, port, called, study = sys.argv[1:5]
    stall = None
    if len(sys.argv) > 6 and sys.argv[5] == "--stall":
        stall = float(sys.argv[6])

    ae = AE(ae_title="PYDISCARD")
    ae.acse_timeout = 20
    ae.dimse_timeout = 120
    ae.network_timeout = 120
    ae.maximum_pdu_size = 0
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelGet)
    roles = []
    for sop in (SecondaryCaptureImageStorage, CTImageStorage):
        ae.add_requested_context(sop, [ExplicitVRLittleEndian, ImplicitVRLittleEndian])
        roles.append(build_role(sop, scp_role=True))

    received = {"count": 0, "bytes": 0, "aborted": False}

    def on_aborted(event):
        received["aborted"] = True

    def on_store(event):
        if stall is not None:
            time.sleep(stall)
            return 0x0000
        # The encoded data set as received; it is not decoded, kept or written anywhere.
        received["count"] += 1
        received["bytes"] += len(event.request.DataSet.getbuffer())
        return 0x0000

    assoc = ae.associate(host, int(port), ae_title=called, ext_neg=roles, max_pdu=0,
                         evt_handlers=[(evt.EVT_C_STORE, on_store), (evt.EVT_ABORTED, on_aborted)])
    out = {"established": assoc.is_established}
    if assoc.is_established:
        identifier = Dataset()
        identifier.QueryRetrieveLevel = "STUDY"
        identifier.StudyInstanceUID = study
        final = None
        for status, _ in assoc.send_c_get(identifier, StudyRootQueryRetrieveInformationModelGet):
            if status is not None and "Status" in status and status.Status != 0xFF00:
                final = {"status": int(status.Status)}
                for key in ("NumberOfCompletedSuboperations", "NumberOfFailedSuboperations",
                            "NumberOfWarningSuboperations", "NumberOfRemainingSuboperations"):
                    if key in status:
                        final[key] = int(getattr(status, key))
        out["final"] = final
        if stall is not None:
            # The A-ABORT is handled once the held C-STORE handler has returned: wait for it.
            deadline = time.time() + 10
            while not (assoc.is_aborted or received["aborted"]) and time.time() < deadline:
                time.sleep(0.05)
        out["aborted"] = assoc.is_aborted or received["aborted"]
        if assoc.is_established:
            assoc.release()
    out["received"] = received["count"]
    out["received_bytes"] = received["bytes"]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
