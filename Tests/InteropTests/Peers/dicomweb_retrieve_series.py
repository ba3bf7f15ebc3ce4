#!/usr/bin/env python3
"""Retrieves one series with dicomweb-client's WADO-RS retrieve_series, for
DICOMWebInteropTests' metrics check.

Usage: dicomweb_retrieve_series.py URL STUDY_UID SERIES_UID
  URL  the DICOMweb base, e.g. http://127.0.0.1:8080/dicom-web

Prints one JSON line: {"sop_instance_uids": [...]} (the instances received, in order).
"""
import json
import sys

from dicomweb_client.api import DICOMwebClient

url, study, series = sys.argv[1:4]
client = DICOMwebClient(url=url)
instances = client.retrieve_series(study_instance_uid=study, series_instance_uid=series)
print(json.dumps({"sop_instance_uids": [str(ds.SOPInstanceUID) for ds in instances]}))
