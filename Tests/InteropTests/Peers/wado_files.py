#!/usr/bin/env python3
"""Stored files for WADOStoredFileTests, made with pydicom, and checks of what the daemon sends.

Usage: wado_files.py series DIR
           writes two series of two small instances each into DIR; prints
           {"study": UID, "series": [UID, UID], "instances": [[path, ...], [path, ...]]}
           (instances in instance number order)
       wado_files.py trailing FILE
           writes a file with elements after Pixel Data: a private OB value and
           Data Set Trailing Padding (FFFC,FFFC); prints {"uids": [study, series, instance]}
       wado_files.py large-bulk FILE MIB
           writes a file with an Overlay Data (6000,3000) value of MIB MiB before a small Pixel
           Data; prints {"uids": [...], "offset": value offset, "length": value length}
       wado_files.py metadata FILE URL
           fetches URL (instance metadata) and compares it with pydicom's to_json_dict of FILE,
           bulk data as URIs; prints {"equal": bool, "ours": ..., "pydicom": ...}
"""
import json
import os
import sys
import urllib.request

import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

from dicomweb_peer import BULK_THRESHOLD, normalised

ROOT = "1.2.826.0.1.3680043.10.1489.97"
SC = "1.2.840.10008.5.1.4.1.1.7"  # Secondary Capture


def image(study, series, instance, number, rows=8, cols=8):
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = SC
    ds.file_meta.MediaStorageSOPInstanceUID = instance
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = SC
    ds.SOPInstanceUID = instance
    ds.StudyInstanceUID = study
    ds.SeriesInstanceUID = series
    ds.InstanceNumber = number
    ds.PatientID = "WADOFILES"
    ds.PatientName = "Wado^Files"
    ds.Modality = "OT"
    ds.Rows, ds.Columns, ds.SamplesPerPixel = rows, cols, 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelData = bytes((k * 3 + number) % 256 for k in range(rows * cols))
    return ds


def make_series(out):
    os.makedirs(out, exist_ok=True)
    study = f"{ROOT}.1"
    result = {"study": study, "series": [], "instances": []}
    for s in (1, 2):
        series = f"{ROOT}.2.{s}"
        paths = []
        for n in (1, 2):
            path = os.path.join(out, f"series{s}_{n}.dcm")
            image(study, series, f"{ROOT}.3.{s}.{n}", n).save_as(path, enforce_file_format=True)
            paths.append(path)
        result["series"].append(series)
        result["instances"].append(paths)
    return result


def make_trailing(path):
    uids = [f"{ROOT}.4", f"{ROOT}.4.1", f"{ROOT}.4.1.1"]
    ds = image(*uids, 1, rows=64, cols=64)
    block = ds.private_block(0x7FE1, "QRSCPD TEST", create=True)
    block.add_new(0x01, "OB", bytes(range(256)) * 16)
    block.add_new(0x02, "LO", "after pixel data")
    ds.add_new(0xFFFCFFFC, "OB", b"\0" * 64)
    ds.save_as(path, enforce_file_format=True)
    return {"uids": uids}


def make_large_bulk(path, mib):
    uids = [f"{ROOT}.5", f"{ROOT}.5.1", f"{ROOT}.5.1.1"]
    ds = image(*uids, 1)
    ds.add_new(0x60000010, "US", mib * 256)  # Overlay Rows
    ds.add_new(0x60000011, "US", 32768)  # Overlay Columns: one bit a pixel
    ds.add_new(0x60000100, "US", 1)
    ds.add_new(0x60000102, "US", 0)
    ds.add_new(0x60003000, "OW", bytes((k * 7) % 256 for k in range(1 << 20)) * mib)
    ds.save_as(path, enforce_file_format=True)
    with open(path, "rb") as f:
        data = f.read()
    # Explicit VR Little Endian, OW: tag, VR, 2 reserved bytes, 4-byte length, then the value.
    at = data.index(b"\x00\x60\x00\x30OW")
    return {"uids": uids, "offset": at + 12, "length": mib << 20}


def compare_metadata(path, url):
    ds = pydicom.dcmread(path)
    reference = normalised(ds.to_json_dict(bulk_data_threshold=BULK_THRESHOLD,
                                           bulk_data_element_handler=lambda e: "bulk"))
    request = urllib.request.Request(url, headers={"Accept": "application/dicom+json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        ours = json.load(response)
    equal = len(ours) == 1 and normalised(ours[0]) == reference
    return {"equal": equal, "ours": ours, "pydicom": reference}


def main(argv):
    if argv[:1] == ["series"]:
        result = make_series(argv[1])
    elif argv[:1] == ["trailing"]:
        result = make_trailing(argv[1])
    elif argv[:1] == ["large-bulk"]:
        result = make_large_bulk(argv[1], int(argv[2]))
    elif argv[:1] == ["metadata"]:
        result = compare_metadata(argv[1], argv[2])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
