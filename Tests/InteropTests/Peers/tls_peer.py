"""DICOM-over-TLS peer (pynetdicom with an ssl.SSLContext) for the qrscpd TLS interop tests.

usage: tls_peer.py MODE JSON
  JSON holds: host, port, called (AE title), ca (trust anchors), cert and key (our client
  certificate; omit both to present none), calling (our AE title, default TLSPEER).

MODE
  services  C-ECHO, C-STORE of one generated CT image and C-FIND of its study on one
            association, C-GET of it on a second; reports the statuses and whether the data set
            the C-GET brought back is byte for byte the data set that was stored.
  echo      associate, C-ECHO, release; reports the status and the server certificate's subject.
  reload    associate and C-ECHO; then send SIGHUP to `pid`, wait (bounded) until `log` holds
            `wait_for`, C-ECHO again on the same association, release; then a new association
            and C-ECHO. Reports both associations' echo statuses and server certificate subjects.
  move      start a Storage SCP over TLS on `scp_port` (certificate `scp_cert`/`scp_key`,
            client certificates required and verified against `ca`), C-STORE one image over
            TLS, C-MOVE its study to `dest`; reports the C-MOVE status, what the SCP received and
            whether it is byte for byte what was stored.

Prints one JSON line.
"""
import json
import os
import signal
import ssl
import sys
import time

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
from pynetdicom import AE, evt, build_role
from pynetdicom.dsutils import encode
from pynetdicom.sop_class import (
    CTImageStorage, Verification,
    StudyRootQueryRetrieveInformationModelFind, StudyRootQueryRetrieveInformationModelGet,
    StudyRootQueryRetrieveInformationModelMove,
)


def client_context(spec):
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=spec["ca"])
    ctx.check_hostname = True
    if spec.get("cert"):
        ctx.load_cert_chain(spec["cert"], spec["key"])
    return ctx


def image(seed):
    ds = Dataset()
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.Modality = "CT"
    ds.PatientName = "Secure^Transport"
    ds.PatientID = "TLS-%d" % seed
    ds.Rows = 64
    ds.Columns = 64
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.PixelData = bytes((i * 7 + seed) % 256 for i in range(64 * 64 * 2))
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return ds


def new_ae(spec):
    ae = AE(ae_title=spec.get("calling", "TLSPEER"))
    ae.acse_timeout = 20
    ae.dimse_timeout = 30
    ae.network_timeout = 30
    return ae


def associate(ae, spec, **kwargs):
    tls = (client_context(spec), spec.get("server_name", "localhost"))
    return ae.associate(spec["host"], spec["port"], ae_title=spec["called"], tls_args=tls, **kwargs)


def status_of(rsp):
    return int(rsp.Status) if rsp is not None and "Status" in rsp else None


def peer_subject(assoc):
    try:
        sock = assoc.dul.socket.socket
        cert = sock.getpeercert()
        return ", ".join("%s=%s" % pair for rdn in cert.get("subject", ()) for pair in rdn)
    except Exception as error:  # noqa: BLE001 - reported, not hidden
        return "unknown: %s" % error


def services(spec):
    ae = new_ae(spec)
    ae.add_requested_context(Verification)
    ae.add_requested_context(CTImageStorage, [ExplicitVRLittleEndian])
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelFind)
    assoc = associate(ae, spec)
    out = {"associated": assoc.is_established}
    if not assoc.is_established:
        print(json.dumps(out))
        return
    ds = image(1)
    stored = encode(ds, False, True)
    out["echo"] = status_of(assoc.send_c_echo())
    out["store"] = status_of(assoc.send_c_store(ds))
    query = Dataset()
    query.QueryRetrieveLevel = "STUDY"
    query.StudyInstanceUID = ds.StudyInstanceUID
    query.PatientID = ""
    matches, final = [], None
    for rsp, identifier in assoc.send_c_find(query, StudyRootQueryRetrieveInformationModelFind):
        if status_of(rsp) in (0xFF00, 0xFF01) and identifier is not None:
            matches.append(str(identifier.PatientID))
        else:
            final = status_of(rsp)
    out["find"] = final
    out["find_matches"] = matches
    out["server_subject"] = peer_subject(assoc)
    assoc.release()

    # C-GET on a second association, taking the SCP role for the storage context.
    received = []

    def on_store(event):
        received.append(event.request.DataSet.getvalue())
        return 0x0000

    getter = new_ae(spec)
    getter.add_requested_context(StudyRootQueryRetrieveInformationModelGet)
    getter.add_requested_context(CTImageStorage, [ExplicitVRLittleEndian])
    get_assoc = associate(getter, spec, ext_neg=[build_role(CTImageStorage, scp_role=True)],
                          evt_handlers=[(evt.EVT_C_STORE, on_store)])
    get_final = None
    if get_assoc.is_established:
        for rsp, _ in get_assoc.send_c_get(query, StudyRootQueryRetrieveInformationModelGet):
            if status_of(rsp) not in (0xFF00, 0xFF01):
                get_final = status_of(rsp)
        get_assoc.release()
    out["get"] = get_final
    out["received"] = len(received)
    out["identical"] = len(received) == 1 and received[0] == stored
    print(json.dumps(out))


def echo(spec):
    ae = new_ae(spec)
    ae.add_requested_context(Verification)
    assoc = associate(ae, spec)
    out = {"associated": assoc.is_established}
    if assoc.is_established:
        out["echo"] = status_of(assoc.send_c_echo())
        out["server_subject"] = peer_subject(assoc)
        assoc.release()
    elif assoc.is_rejected:
        out["rejected"] = True
    print(json.dumps(out))


def wait_for_log(path, text, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(path, encoding="utf-8", errors="replace") as log:
            if text in log.read():
                return True
        time.sleep(0.05)
    return False


def reload(spec):
    ae = new_ae(spec)
    ae.add_requested_context(Verification)
    first = associate(ae, spec)
    out = {"first_associated": first.is_established}
    if not first.is_established:
        print(json.dumps(out))
        return
    out["first_echo_before"] = status_of(first.send_c_echo())
    out["first_subject"] = peer_subject(first)
    os.kill(spec["pid"], signal.SIGHUP)
    out["reloaded"] = wait_for_log(spec["log"], spec["wait_for"], 20)
    out["first_echo_after"] = status_of(first.send_c_echo())
    second = associate(ae, spec)
    out["second_associated"] = second.is_established
    if second.is_established:
        out["second_echo"] = status_of(second.send_c_echo())
        out["second_subject"] = peer_subject(second)
        second.release()
    first.release()
    print(json.dumps(out))


def move(spec):
    received = []

    def on_store(event):
        received.append(event.request.DataSet.getvalue())
        return 0x0000

    scp = AE(ae_title=spec["dest"])
    scp.add_supported_context(CTImageStorage, [ExplicitVRLittleEndian])
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=spec["ca"])
    server_ctx.verify_mode = ssl.CERT_REQUIRED
    server_ctx.load_cert_chain(spec["scp_cert"], spec["scp_key"])
    server = scp.start_server(("127.0.0.1", spec["scp_port"]), block=False, ssl_context=server_ctx,
                              evt_handlers=[(evt.EVT_C_STORE, on_store)])
    try:
        ae = new_ae(spec)
        ae.add_requested_context(CTImageStorage, [ExplicitVRLittleEndian])
        ae.add_requested_context(StudyRootQueryRetrieveInformationModelMove)
        assoc = associate(ae, spec)
        out = {"associated": assoc.is_established}
        if assoc.is_established:
            ds = image(2)
            stored = encode(ds, False, True)
            out["store"] = status_of(assoc.send_c_store(ds))
            query = Dataset()
            query.QueryRetrieveLevel = "STUDY"
            query.StudyInstanceUID = ds.StudyInstanceUID
            final = None
            for rsp, _ in assoc.send_c_move(query, spec["dest"], StudyRootQueryRetrieveInformationModelMove):
                if status_of(rsp) not in (0xFF00, 0xFF01):
                    final = status_of(rsp)
                    out["failed"] = int(rsp.get("NumberOfFailedSuboperations", 0) or 0)
            out["move"] = final
            out["received"] = len(received)
            out["identical"] = len(received) == 1 and received[0] == stored
            assoc.release()
        print(json.dumps(out))
    finally:
        server.shutdown()


def main():
    mode, spec = sys.argv[1], json.loads(sys.argv[2])
    {"services": services, "echo": echo, "reload": reload, "move": move}[mode](spec)


if __name__ == "__main__":
    main()
