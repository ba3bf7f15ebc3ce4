"""C-GET / C-MOVE requester (pynetdicom) for the qrscpd retrieve interop tests.

usage: retrieve_peer.py HOST PORT CALLED_AE get|move P|S OUTDIR [options] KEY=VALUE...
  --dest AE            Move Destination (move)
  --implicit-only      propose only Implicit VR Little Endian for the storage contexts (get)
  --cancel-after N     send C-CANCEL after N received C-STOREs (get) or N pending responses (move)
  KEY=VALUE            identifier elements by keyword, e.g. QueryRetrieveLevel=STUDY

Received objects (get) are written to OUTDIR/<SOPInstanceUID>.dcm with the accepted transfer
syntax in the file meta. Prints one JSON line: the pending and final responses and what was
received.
"""
import json
import os
import sys

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ImplicitVRLittleEndian, ExplicitVRLittleEndian, ExplicitVRBigEndian
from pynetdicom import AE, evt, build_role, StoragePresentationContexts
from pynetdicom.sop_class import (
    PatientRootQueryRetrieveInformationModelGet, StudyRootQueryRetrieveInformationModelGet,
    PatientRootQueryRetrieveInformationModelMove, StudyRootQueryRetrieveInformationModelMove,
)


def main():
    host, port, called, mode, model, outdir = sys.argv[1:7]
    port = int(port)
    rest = sys.argv[7:]
    dest, implicit_only, cancel_after, keys = None, False, None, []
    i = 0
    while i < len(rest):
        a = rest[i]
        if a == "--dest":
            dest = rest[i + 1]; i += 2; continue
        if a == "--implicit-only":
            implicit_only = True; i += 1; continue
        if a == "--cancel-after":
            cancel_after = int(rest[i + 1]); i += 2; continue
        keys.append(a); i += 1
    identifier = Dataset()
    for k in keys:
        name, _, value = k.partition("=")
        setattr(identifier, name, value)

    if mode == "get":
        sop = PatientRootQueryRetrieveInformationModelGet if model == "P" else StudyRootQueryRetrieveInformationModelGet
    else:
        sop = PatientRootQueryRetrieveInformationModelMove if model == "P" else StudyRootQueryRetrieveInformationModelMove

    ae = AE(ae_title="PYRETRIEVE")
    ae.acse_timeout = 20
    ae.dimse_timeout = 30
    ae.network_timeout = 30
    ae.add_requested_context(sop)
    roles = []
    received = []
    state = {"assoc": None, "cancelled": False, "cx": None}
    if mode == "get":
        syntaxes = [ImplicitVRLittleEndian] if implicit_only else [ExplicitVRLittleEndian, ImplicitVRLittleEndian, ExplicitVRBigEndian]
        # 127 storage contexts at most (one slot is the GET context).
        for cx in StoragePresentationContexts[:127]:
            ae.add_requested_context(cx.abstract_syntax, syntaxes)
            roles.append(build_role(cx.abstract_syntax, scp_role=True))

    def on_store(event):
        ds = event.dataset
        ds.file_meta = FileMetaDataset(event.file_meta)
        uid = ds.SOPInstanceUID
        path = os.path.join(outdir, uid + ".dcm")
        ds.save_as(path, enforce_file_format=True)
        received.append({"uid": uid, "ts": str(event.context.transfer_syntax), "path": path,
                         "move_originator": event.request.MoveOriginatorApplicationEntityTitle,
                         "move_originator_message_id": event.request.MoveOriginatorMessageID})
        if mode == "get" and cancel_after is not None and len(received) == cancel_after and not state["cancelled"]:
            state["cancelled"] = True
            state["assoc"].send_c_cancel(1, state["cx"])
        return 0x0000

    handlers = [(evt.EVT_C_STORE, on_store)]
    assoc = ae.associate(host, port, ae_title=called, ext_neg=roles, evt_handlers=handlers)
    out = {"established": assoc.is_established, "pending": [], "final": None, "received": received}
    if not assoc.is_established:
        print(json.dumps(out))
        return
    state["assoc"] = assoc
    state["cx"] = next(cx.context_id for cx in assoc.accepted_contexts if cx.abstract_syntax == sop)
    if mode == "get":
        responses = assoc.send_c_get(identifier, sop, msg_id=1)
    else:
        responses = assoc.send_c_move(identifier, dest, sop, msg_id=1)
    for status, ds in responses:
        if status is None:
            out["final"] = {"status": None, "comment": "no response (timeout or abort)"}
            break
        entry = {"status": int(status.Status)}
        for name in ("NumberOfRemainingSuboperations", "NumberOfCompletedSuboperations",
                     "NumberOfFailedSuboperations", "NumberOfWarningSuboperations", "ErrorComment"):
            if name in status:
                entry[name] = status.get(name) if name == "ErrorComment" else int(status.get(name))
        if ds is not None and "FailedSOPInstanceUIDList" in ds:
            v = ds.FailedSOPInstanceUIDList
            entry["FailedSOPInstanceUIDList"] = [str(x) for x in v] if isinstance(v, (list, tuple)) or hasattr(v, "__iter__") and not isinstance(v, str) else [str(v)]
        if entry["status"] in (0xFF00, 0xFF01):
            out["pending"].append(entry)
            if mode == "move" and cancel_after is not None and len(out["pending"]) == cancel_after and not state["cancelled"]:
                state["cancelled"] = True
                assoc.send_c_cancel(1, state["cx"])
        else:
            out["final"] = entry
    assoc.release()
    out["released"] = assoc.is_released
    print(json.dumps(out))


if __name__ == "__main__":
    main()
