#!/usr/bin/env python3
"""Reference DICOM JSON (PS3.18 Annex F) from pydicom, for Tests/DICOMJSONTests.

Usage: scripts/pydicom-json-reference.py --make-fixtures DIR
           writes synthetic files covering PN groups, IS/DS, multi-valued and empty values,
           sequences, binary values and two character sets into DIR
       scripts/pydicom-json-reference.py --test-files-dir
           prints pydicom's test file directory
       scripts/pydicom-json-reference.py --threshold N FILE...
           prints {"FILE": Dataset.to_json_dict(...)} with bulk data (binary values over
           pydicom's threshold N) as BulkDataURI "bulk:GGGGEEEE"; {"error": "..."} per unreadable file
"""
import json
import os
import sys

try:
    import pydicom
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, ExplicitVRBigEndian
except ImportError:
    print(json.dumps({"__error__": "pydicom not installed"}))
    sys.exit(3)


def file_dataset(transfer_syntax):
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.file_meta.MediaStorageSOPInstanceUID = "1.2.826.0.1.3680043.10.1489.99.1"
    ds.file_meta.TransferSyntaxUID = transfer_syntax
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    return ds


def make_fixtures(directory):
    os.makedirs(directory, exist_ok=True)
    # Values of every kind, explicit VR little endian.
    ds = file_dataset(ExplicitVRLittleEndian)
    ds.PatientName = "Doe^John^^Dr"
    ds.add_new(0x00081070, "PN", ["Smith^Ann", "Roe^Rick=R^R", "Jones==J^P"])
    ds.PatientID = "ID-1"
    ds.add_new(0x00100021, "LO", "")                          # empty: no Value
    ds.add_new(0x00081030, "LO", "Head \"quoted\" \\ back")  # multi-valued through a backslash
    ds.add_new(0x00180015, "CS", ["HEAD", "NECK"])
    ds.add_new(0x00200032, "DS", ["-1.50", "+2", ".5", "1e3", "007.25"])
    ds.add_new(0x00280030, "DS", "")
    ds.add_new(0x00200013, "IS", "+0012")
    ds.add_new(0x00200012, "IS", ["1", "-3"])
    ds.add_new(0x00280010, "US", 512)
    ds.add_new(0x00280106, "SS", -32768)
    ds.add_new(0x00186011, "SQ", [])
    ds.add_new(0x00181310, "US", [0, 256, 256, 0])
    ds.add_new(0x00209165, "AT", [0x00100010, 0x7FE00010])
    ds.add_new(0x00189941, "FL", [0.5, -2.25])
    ds.add_new(0x00189089, "FD", [1.0, 0.0, -1e-05])
    ds.add_new(0x00540400, "SH", "tab\there")
    ds.add_new(0x00204000, "LT", "line one\r\nline two  ")
    ds.add_new(0x00080104, "LO", "unicode? no: ascii only")
    item1 = Dataset()
    item1.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    item1.ReferencedSOPInstanceUID = "1.2.3.4"
    inner = Dataset()
    inner.CodeValue = "T-A0100"
    inner.CodeMeaning = "Brain"
    item1.add_new(0x00082218, "SQ", [inner])
    ds.add_new(0x00081140, "SQ", [item1, Dataset()])
    ds.add_new(0x00091010, "LO", "PRIVATE CREATOR")
    ds.add_new(0x00091011, "OB", bytes(range(256)) * 8)          # 2048 bytes: bulk
    ds.add_new(0x00091012, "OB", b"\x01\x02\x03\x04")             # 4 bytes: inline
    ds.add_new(0x00091013, "OW", b"\x01\x02\x03\x04\x05\x06")
    ds.add_new(0x00091014, "UN", b"abc\x00")
    ds.add_new(0x7FE00010, "OW", bytes(4096))
    ds.save_as(os.path.join(directory, "values-explicit-le.dcm"), enforce_file_format=True)

    # The same values in explicit VR big endian (byte order of binary values).
    # pydicom writes OB/OW bytes as given; swap the OW words so the value stays the same.
    ds.file_meta.TransferSyntaxUID = ExplicitVRBigEndian
    ds[0x00091013].value = b"\x02\x01\x04\x03\x06\x05"
    ds.save_as(os.path.join(directory, "values-explicit-be.dcm"), enforce_file_format=True)

    # Latin-1 text, in the data set and inherited by a sequence item.
    ds = file_dataset(ExplicitVRLittleEndian)
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.PatientName = "Müller^Renée"
    ds.StudyDescription = "Schädel"
    item = Dataset()
    item.CodeMeaning = "Gefäß"
    ds.add_new(0x00081032, "SQ", [item])
    ds.save_as(os.path.join(directory, "latin1.dcm"), enforce_file_format=True)

    # UTF-8 text with the three PN groups and control characters to escape.
    ds = file_dataset(ExplicitVRLittleEndian)
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.PatientName = "Yamada^Tarou=山田^太郎=やまだ^たろう"
    ds.StudyDescription = "Ω \u0001 ∞"
    ds.add_new(0x00324000, "LT", "a\tb\nc\\d\"e/f")
    ds.save_as(os.path.join(directory, "utf8.dcm"), enforce_file_format=True)


def main(argv):
    if argv[:1] == ["--make-fixtures"]:
        make_fixtures(argv[1])
        return 0
    if argv[:1] == ["--test-files-dir"]:
        from pydicom.data import get_testdata_file
        print(os.path.dirname(get_testdata_file("CT_small.dcm")))
        return 0
    if argv[:1] != ["--threshold"] or len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    threshold = int(argv[1])
    out = {}
    for path in argv[2:]:
        try:
            ds = pydicom.dcmread(path, force=True)
            out[path] = ds.to_json_dict(
                bulk_data_threshold=threshold,
                bulk_data_element_handler=lambda e: "bulk:%08X" % e.tag)
        except Exception as exc:  # a file pydicom cannot express is reported, not fatal
            out[path] = {"error": "%s: %s" % (type(exc).__name__, exc)}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
