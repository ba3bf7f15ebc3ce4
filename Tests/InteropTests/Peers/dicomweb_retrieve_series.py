#!/usr/bin/env python3
"""WADO-RS series retrieval with dicomweb-client, and large test series, for
DICOMWebInteropTests' metrics checks.

Usage: dicomweb_retrieve_series.py URL STUDY_UID SERIES_UID
         retrieves the series with retrieve_series; prints {"sop_instance_uids": [...]}
       dicomweb_retrieve_series.py --make-series DIR COUNT MIB
         writes COUNT Part 10 files of one series, MIB MiB of pixel data each, into DIR;
         prints {"study": UID, "series": UID, "instances": [UID, ...]}
  URL  the DICOMweb base, e.g. http://127.0.0.1:8080/dicom-web

Prints one JSON line.
"""
import json
import os
import sys

ROOT = "1.2.826.0.1.3680043.10.1489.97"


def make_series(directory, count, mib):
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian

    study, series = f"{ROOT}.1", f"{ROOT}.1.1"
    instances = []
    pixels = bytes(mib << 20)
    for i in range(1, count + 1):
        uid = f"{ROOT}.1.1.{i}"
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"  # Secondary Capture
        meta.MediaStorageSOPInstanceUID = uid
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = Dataset()
        ds.file_meta = meta
        ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, uid
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
        ds.PatientID, ds.PatientName, ds.Modality, ds.InstanceNumber = "METRICS", "Metrics^Large", "OT", i
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.Rows, ds.Columns = mib * 512, 1024
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
        ds.PixelData = pixels
        ds["PixelData"].VR = "OW"
        ds.save_as(os.path.join(directory, f"large-{i}.dcm"), enforce_file_format=True)
        instances.append(uid)
    return {"study": study, "series": series, "instances": instances}


def main(argv):
    if argv[:1] == ["--make-series"]:
        print(json.dumps(make_series(argv[1], int(argv[2]), int(argv[3]))))
        return 0
    from dicomweb_client.api import DICOMwebClient

    url, study, series = argv[:3]
    client = DICOMwebClient(url=url)
    instances = client.retrieve_series(study_instance_uid=study, series_instance_uid=series)
    print(json.dumps({"sop_instance_uids": [str(ds.SOPInstanceUID) for ds in instances]}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
