#!/usr/bin/env python3
"""C-FIND SCU peer for the qrscpd interop tests, built on pynetdicom.

Usage:
  find_peer.py PORT CALLED_AE --model P|S [-k gggg,eeee=value ...] [--charset TERM]
               [--cancel-after N] [--raw-missing-level]

Keys use findscu's syntax: "gggg,eeee=value" ("gggg,eeee" alone = universal matching);
the VR comes from pydicom's dictionary. Non-ASCII values are encoded with --charset (a
Specific Character Set term such as "ISO_IR 100" or "ISO_IR 192"), which is also put in
the identifier.

Prints one JSON line:
  {"accepted": bool, "statuses": ["FF00", ..., "0000"], "final": "0000",
   "error_comment": str|null, "offending": ["00080052", ...],
   "identifiers": [{"0010,0010": "...", "0008,0005": "...", ...}, ...]}
Multi-valued elements become lists; values are decoded with the response's character set.
"""
import argparse
import json
import sys

from pydicom.datadict import dictionary_VR
from pydicom.dataset import Dataset
from pydicom.tag import Tag
from pynetdicom import AE
from pynetdicom.sop_class import (
    PatientRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelFind,
)


def parse_key(text):
    tag_text, _, value = text.partition("=")
    group, element = tag_text.split(",")
    tag = Tag(int(group, 16), int(element, 16))
    return tag, value


def to_json_value(element):
    value = element.value
    if value is None:
        return ""
    if element.VR == "SQ":
        return [identifier_json(item) for item in value]
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    if element.VM > 1 or isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return [str(v) for v in value]
    return str(value)


def identifier_json(ds):
    out = {}
    for element in ds:
        key = "%04X,%04X" % (element.tag.group, element.tag.element)
        out[key] = to_json_value(element)
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("called_ae")
    parser.add_argument("--model", choices=["P", "S"], required=True)
    parser.add_argument("-k", "--key", action="append", default=[])
    parser.add_argument("--charset", default=None)
    parser.add_argument("--cancel-after", type=int, default=None)
    parser.add_argument("--timeout", type=float, default=30)
    args = parser.parse_args()

    model = (PatientRootQueryRetrieveInformationModelFind if args.model == "P"
             else StudyRootQueryRetrieveInformationModelFind)
    ds = Dataset()
    if args.charset:
        ds.SpecificCharacterSet = args.charset
    for key in args.key:
        tag, value = parse_key(key)
        vr = dictionary_VR(tag)
        if vr in ("US", "UL", "SS", "SL") and value:
            value = int(value)
        ds.add_new(tag, vr, value)

    ae = AE(ae_title="FINDPEER")
    ae.acse_timeout = args.timeout
    ae.dimse_timeout = args.timeout
    ae.network_timeout = args.timeout
    ae.add_requested_context(model)
    assoc = ae.associate("127.0.0.1", args.port, ae_title=args.called_ae)
    result = {"accepted": assoc.is_established, "statuses": [], "final": None,
              "error_comment": None, "offending": [], "identifiers": []}
    if not assoc.is_established:
        print(json.dumps(result))
        return 1

    pending = 0
    cancelled = False
    try:
        for status, identifier in assoc.send_c_find(ds, model, msg_id=7):
            if not status:
                result["final"] = "timeout"
                break
            code = "%04X" % status.Status
            result["statuses"].append(code)
            if code in ("FF00", "FF01"):
                pending += 1
                if identifier is not None:
                    result["identifiers"].append(identifier_json(identifier))
                if args.cancel_after is not None and pending >= args.cancel_after and not cancelled:
                    assoc.send_c_cancel(7, query_model=model)
                    cancelled = True
            else:
                result["final"] = code
                if "ErrorComment" in status:
                    result["error_comment"] = str(status.ErrorComment)
                if "OffendingElement" in status:
                    value = status.OffendingElement
                    values = value if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue" else [value]
                    result["offending"] = ["%08X" % int(v) for v in values]
                if identifier is not None:
                    result["final_identifier"] = identifier_json(identifier)
    finally:
        if assoc.is_established:
            assoc.release()
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
