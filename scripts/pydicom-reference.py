#!/usr/bin/env python3
"""Print, as JSON, the top-level element values pydicom reads from DICOM files.

Reference data for Tests/DICOMTests (the Swift reader must agree).

Usage: scripts/pydicom-reference.py FILE...
       scripts/pydicom-reference.py --test-files-dir   (prints pydicom's test file dir)

Output: {"FILE": {"transfer_syntax": uid-or-null,
                  "elements": {"GGGGEEEE": {"vr": VR, <value>}}} ...}
where <value> is one of
  "value": null | str | number | [str|number ...]   (text and numeric VRs)
  "items": N                                       (SQ: number of items)
  "length": N                                      (binary VRs: byte count)
Pixel Data (7FE0,0010) is skipped. On read failure: {"error": "..."}.
"""
import json
import os
import sys

try:
    import pydicom
    from pydicom.multival import MultiValue
    from pydicom.valuerep import PersonName
except ImportError:
    print(json.dumps({"__error__": "pydicom not installed"}))
    sys.exit(3)

BINARY = {"OB", "OW", "OF", "OD", "OL", "OV", "UN", "ob or ow", "OB or OW", "US or OW"}


def scalar(v):
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        # DSfloat / IS keep their original text; emit text for them
        if hasattr(v, "original_string") and getattr(v, "original_string", None) is not None:
            return str(v.original_string)
        if type(v).__name__ in ("DSfloat", "DSdecimal", "IS"):
            return str(v)
        return v
    if isinstance(v, PersonName):
        return str(v)
    if isinstance(v, bytes):
        return {"bytes": len(v)}
    return str(v)


def describe(elem):
    vr = elem.VR
    out = {"vr": vr}
    v = elem.value
    if vr == "SQ":
        out["items"] = len(v) if v is not None else 0
    elif vr in BINARY or isinstance(v, (bytes, bytearray)):
        out["length"] = len(v) if v is not None else 0
    elif vr == "AT":
        if v is None:
            out["value"] = None
        elif isinstance(v, MultiValue) or isinstance(v, list):
            out["value"] = [int(x) for x in v]
        else:
            out["value"] = int(v)
    elif v is None or v == "":
        out["value"] = None
    elif isinstance(v, (MultiValue, list, tuple)):
        out["value"] = [scalar(x) for x in v]
    else:
        out["value"] = scalar(v)
    return out


def main(argv):
    if argv[1:] == ["--test-files-dir"]:
        print(os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files"))
        return 0
    result = {}
    for path in argv[1:]:
        try:
            ds = pydicom.dcmread(path, force=True)
            elems = {}
            for elem in ds:
                if elem.tag == 0x7FE00010:
                    continue
                try:
                    elems["%08X" % int(elem.tag)] = describe(elem)
                except Exception as e:  # value conversion problem: record VR only
                    elems["%08X" % int(elem.tag)] = {"vr": elem.VR, "error": str(e)}
            meta = getattr(ds, "file_meta", None)
            ts = None
            if meta is not None and "TransferSyntaxUID" in meta:
                ts = str(meta.TransferSyntaxUID)
            result[path] = {"transfer_syntax": ts, "elements": elems}
        except Exception as e:
            result[path] = {"error": "%s: %s" % (type(e).__name__, e)}
    json.dump(result, sys.stdout, indent=1, sort_keys=True)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
