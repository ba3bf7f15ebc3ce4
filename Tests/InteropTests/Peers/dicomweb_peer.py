#!/usr/bin/env python3
"""DICOMweb checks with dicomweb-client against a running qrscpd, for DICOMWebInteropTests.

Usage: dicomweb_peer.py URL STORAGE_DIR [--preloaded UID]... FILE...
  URL          the DICOMweb base, e.g. http://127.0.0.1:8080/dicom-web
  STORAGE_DIR  the daemon's storage directory (stored files are compared with what comes back)
  --preloaded  an instance already in the storage directory (indexed at start, not stored here)
  FILE...      Part 10 files to store with store_instances

Prints one JSON object on the last line: {"checks": {name: true/false}, "details": {...}}.
"""
import base64
import glob
import json
import os
import struct
import sys

import pydicom
import requests
from dicomweb_client.api import DICOMwebClient
from pydicom.encaps import generate_frames
from pydicom.pixels.utils import get_expected_length

BULK_THRESHOLD = 1024  # the daemon's: binary values over 1 KiB are BulkDataURIs


def expected_frames(ds):
    n = int(ds.get("NumberOfFrames", 1) or 1)
    if ds.file_meta.TransferSyntaxUID.is_compressed:
        return list(generate_frames(ds.PixelData, number_of_frames=n))
    length = get_expected_length(ds, "bytes") // n
    return [ds.PixelData[i * length:(i + 1) * length] for i in range(n)]


def as_float32(v):
    return None if v is None else struct.unpack("<f", struct.pack("<f", v))[0]


def normalised(obj):
    """A DICOM JSON object with every BulkDataURI replaced by a marker (URIs differ by design),
    and pydicom's departures from PS3.18 Annex F undone as in Tests/DICOMJSONTests: an empty
    value among several is null (F.2.5), an empty Value array is left out, empty PN component
    groups are left out (F.2.2), FL values are compared as 32-bit floats."""
    out = {}
    for tag, attr in obj.items():
        a = dict(attr)
        if "BulkDataURI" in a:
            a["BulkDataURI"] = "BULK"
        if a.get("Value") == []:
            del a["Value"]
        if "Value" in a and a.get("vr") != "SQ":
            values = [None if v == "" else v for v in a["Value"]]
            if a.get("vr") == "PN":
                values = [{k: g for k, g in v.items() if g != ""} if isinstance(v, dict) else v for v in values]
            if a.get("vr") == "FL":
                values = [as_float32(v) for v in values]
            a["Value"] = values
        if a.get("vr") == "SQ" and "Value" in a:
            a["Value"] = [normalised(item) for item in a["Value"]]
        out[tag] = a
    return out


def multipart_parts(response):
    """The part bodies of a multipart/related response (raw bytes, for byte comparison)."""
    ctype = response.headers["Content-Type"]
    boundary = [p.split("=", 1)[1].strip('"') for p in ctype.split(";") if p.strip().startswith("boundary=")][0]
    delimiter = b"\r\n--" + boundary.encode()
    body = b"\r\n" + response.content
    parts = []
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, payload = chunk.partition(b"\r\n\r\n")
        parts.append(payload)
    return parts


def main(argv):
    url, storage, rest = argv[0], argv[1], argv[2:]
    preloaded = set()
    while rest[:1] == ["--preloaded"]:
        preloaded.add(rest[1])
        rest = rest[2:]
    files = rest
    client = DICOMwebClient(url)
    checks, details = {}, {}
    datasets = [pydicom.dcmread(f) for f in files]
    studies = sorted({d.StudyInstanceUID for d in datasets})

    stored = client.store_instances(datasets)
    referenced = stored.get("ReferencedSOPSequence", [])
    checks["store_instances"] = sorted(i.ReferencedSOPInstanceUID for i in referenced) == sorted(
        d.SOPInstanceUID for d in datasets) and "FailedSOPSequence" not in stored

    on_disk = {}
    for path in glob.glob(os.path.join(storage, "**", "*.dcm"), recursive=True):
        on_disk[pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID] = path
    checks["stored_on_disk"] = set(on_disk) == {d.SOPInstanceUID for d in datasets} | preloaded
    studies = sorted(set(studies) | {pydicom.dcmread(on_disk[u], stop_before_pixels=True).StudyInstanceUID
                                     for u in preloaded})

    any_syntax = (("application/dicom", "*"),)
    got, parts, status_ok = [], [], True
    for study in studies:
        got += client.retrieve_study(study, media_types=any_syntax)
        # Bytes: every part of a study retrieval is exactly a stored file.
        r = requests.get(f"{url}/studies/{study}",
                         headers={"Accept": 'multipart/related; type="application/dicom"; transfer-syntax=*'})
        status_ok &= r.status_code == 200
        parts += multipart_parts(r)
    checks["retrieve_study"] = sorted(d.SOPInstanceUID for d in got) == sorted(on_disk)
    files_bytes = sorted(open(p, "rb").read() for p in on_disk.values())
    checks["study_bytes_equal_files"] = status_ok and sorted(parts) == files_bytes

    series_ok, instance_ok, metadata_ok, series_metadata_ok, frames_ok = True, True, True, True, True
    bulk_ok, bulk_checked = True, 0
    for uid, path in sorted(on_disk.items()):
        ds = pydicom.dcmread(path)
        series, study = ds.SeriesInstanceUID, ds.StudyInstanceUID
        got = client.retrieve_series(study, series, media_types=any_syntax)
        series_ok &= [d.SOPInstanceUID for d in got] == [uid]
        inst = client.retrieve_instance(study, series, uid, media_types=any_syntax)
        instance_ok &= inst.SOPInstanceUID == uid and inst.PixelData == ds.PixelData
        # Metadata: pydicom's to_json_dict of the stored file, bulk data as URIs.
        reference = normalised(ds.to_json_dict(bulk_data_threshold=BULK_THRESHOLD,
                                               bulk_data_element_handler=lambda e: "bulk"))
        md = client.retrieve_instance_metadata(study, series, uid)
        if normalised(md) != reference:
            metadata_ok = False
            details[f"metadata {uid}"] = {"ours": normalised(md), "pydicom": reference}
        smd = client.retrieve_series_metadata(study, series)
        series_metadata_ok &= len(smd) == 1 and normalised(smd[0]) == reference
        # Frames: 1 and the last, as pydicom cuts them.
        frames = expected_frames(ds)
        wanted = [1, len(frames)]
        if ds.file_meta.TransferSyntaxUID.is_compressed:
            got_frames = client.retrieve_instance_frames(study, series, uid, wanted, media_types=("image/jpeg",))
        else:
            got_frames = client.retrieve_instance_frames(study, series, uid, wanted)
        if got_frames != [frames[0], frames[-1]]:
            frames_ok = False
            details[f"frames {uid}"] = [len(f) for f in got_frames]
        # Bulk data: the Pixel Data URI of the metadata gives the frames (or the whole value).
        # (dicomweb-client rewrites BulkDataURIs in metadata and drops a non-default port;
        # the URI is taken from the response as sent.)
        raw = requests.get(f"{url}/studies/{study}/series/{series}/instances/{uid}/metadata").json()[0]
        pixel_uri = raw.get("7FE00010", {}).get("BulkDataURI")
        if pixel_uri:
            compressed = ds.file_meta.TransferSyntaxUID.is_compressed
            bulk = client.retrieve_bulkdata(pixel_uri, media_types=("image/jpeg",) if compressed else None)
            bulk_checked += 1
            if bulk != frames:
                bulk_ok = False
                details[f"bulk {uid}"] = [len(b) for b in bulk]
    # Explicit VR Little Endian asked for a native instance stored in Implicit VR: converted,
    # pixels unchanged.
    converted_ok = False
    for uid, path in on_disk.items():
        ds = pydicom.dcmread(path)
        if ds.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2":
            inst = client.retrieve_instance(ds.StudyInstanceUID, ds.SeriesInstanceUID, uid,
                                            media_types=(("application/dicom", "1.2.840.10008.1.2.1"),))
            converted_ok = (inst.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1"
                            and inst.PixelData == ds.PixelData and inst.Rows == ds.Rows)
    checks["native_conversion"] = converted_ok
    checks["retrieve_series"] = series_ok
    checks["retrieve_instance"] = instance_ok
    checks["instance_metadata_equals_pydicom"] = metadata_ok
    checks["series_metadata_equals_pydicom"] = series_metadata_ok
    checks["frames_equal_pydicom"] = frames_ok
    checks["bulk_pixel_data"] = bulk_ok and bulk_checked >= 2

    study_md = [m for study in studies for m in client.retrieve_study_metadata(study)]
    checks["study_metadata"] = sorted(m["00080018"]["Value"][0] for m in study_md) == sorted(on_disk)

    # 406: XML metadata and a transfer syntax that would need transcoding.
    study = studies[0]
    r = requests.get(f"{url}/studies/{study}/metadata", headers={"Accept": 'multipart/related; type="application/dicom+xml"'})
    checks["metadata_xml_406"] = r.status_code == 406
    r = requests.get(f"{url}/studies/{study}",
                     headers={"Accept": 'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.4.90'})
    checks["transcoding_406"] = r.status_code == 406

    print(json.dumps({"checks": checks, "details": details}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
