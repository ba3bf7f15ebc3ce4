"""Associates with a DICOM SCP proposing unusual presentation contexts and prints,
as JSON on stdout, what the SCP answered: one entry per proposed context, the
association outcome (accepted / rejected with result, source and reason), and the
status of a C-ECHO on each accepted Verification context.

usage: negotiation_probe.py HOST PORT CALLED_AE SCENARIO
"""
import json
import sys

from pynetdicom import AE, build_context, evt
from pynetdicom.pdu import A_ASSOCIATE_RJ
from pynetdicom.sop_class import Verification

IMPLICIT = "1.2.840.10008.1.2"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
EXPLICIT_BE = "1.2.840.10008.1.2.2"
JPEG_BASELINE = "1.2.840.10008.1.2.4.50"
UNKNOWN_SOP = "1.2.826.0.1.3680043.10.1489.999.1"

SCENARIOS = {
    # Verification in several forms and an abstract syntax nobody supports.
    "mixed": [
        (Verification, [JPEG_BASELINE]),
        (UNKNOWN_SOP, [IMPLICIT]),
        (Verification, [EXPLICIT_BE, EXPLICIT_LE, IMPLICIT]),
        (Verification, [IMPLICIT]),
    ],
    # Nothing acceptable at all.
    "none": [
        (UNKNOWN_SOP, [IMPLICIT]),
        (Verification, [JPEG_BASELINE]),
    ],
    # The maximum number of contexts a requestor may propose.
    "many": [(Verification, [IMPLICIT, EXPLICIT_LE])] * 128,
    "plain": [(Verification, [IMPLICIT])],
}


def main():
    host, port, called, scenario = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    ae = AE(ae_title="PROBE")
    ae.acse_timeout = 10
    ae.dimse_timeout = 10
    ae.network_timeout = 10
    for abstract, syntaxes in SCENARIOS[scenario]:
        ae.requested_contexts.append(build_context(abstract, syntaxes))
    # The A-ASSOCIATE-RJ is taken as it arrives, on pynetdicom's DUL thread, not from the
    # association's flags: pynetdicom 3.0 checks in its main thread whether the socket is still
    # connected after sending the A-ASSOCIATE-RQ, and when its DUL thread has already read the
    # reject and closed the transport (AE-4) by then, it reports an abort and drops the reject.
    received_rj = []
    handlers = [(evt.EVT_PDU_RECV,
                 lambda event: received_rj.append(event.pdu) if isinstance(event.pdu, A_ASSOCIATE_RJ) else None)]
    assoc = ae.associate(host, port, ae_title=called, evt_handlers=handlers)
    out = {"established": assoc.is_established, "rejected": assoc.is_rejected or bool(received_rj),
           "aborted": assoc.is_aborted and not received_rj}
    if received_rj:
        rj = received_rj[0]
        out["reject"] = {"result": rj.result, "source": rj.source, "reason": rj.reason_diagnostic}
    if assoc.is_established:
        out["contexts"] = [
            {"id": cx.context_id, "abstract": cx.abstract_syntax, "result": cx.result,
             "transfer_syntax": cx.transfer_syntax[0] if cx.transfer_syntax else None}
            for cx in sorted(assoc.accepted_contexts + assoc.rejected_contexts,
                             key=lambda c: c.context_id)
        ]
        out["max_pdu"] = assoc.acceptor.maximum_length
        out["implementation_class_uid"] = str(assoc.acceptor.implementation_class_uid)
        echoes = []
        for cx in assoc.accepted_contexts:
            if cx.abstract_syntax == Verification:
                status = assoc.send_c_echo()
                echoes.append(int(status.Status) if status else None)
                break
        out["echo_statuses"] = echoes
        assoc.release()
        out["released"] = assoc.is_released
    print(json.dumps(out))


if __name__ == "__main__":
    main()
