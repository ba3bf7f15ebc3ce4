#!/usr/bin/env python3
"""dicomweb-client over HTTPS against a running qrscpd, for HTTPSInteropTests.

Usage: https_dicomweb.py BASE_URL CA_FILE STUDY SERIES INSTANCE FILE
  BASE_URL  the DICOMweb base, e.g. https://127.0.0.1:8443/dicom-web
  CA_FILE   the test CA the session trusts (requests' verify=)
  STUDY SERIES INSTANCE  the UIDs of one stored instance
  FILE      that instance's stored file (what a retrieval must give back, byte for byte)

Prints one JSON object on the last line: {"checks": {name: true/false}, "details": {...}}.
"""
import json
import sys

import pydicom
import requests
from dicomweb_client.api import DICOMwebClient


def multipart_parts(response):
    """The part bodies of a multipart/related response."""
    ctype = response.headers["Content-Type"]
    boundary = [p.split("=", 1)[1].strip('"') for p in ctype.split(";") if p.strip().startswith("boundary=")][0]
    parts = []
    for chunk in (b"\r\n" + response.content).split(b"\r\n--" + boundary.encode())[1:]:
        if chunk.startswith(b"--"):
            break
        parts.append(chunk.partition(b"\r\n\r\n")[2])
    return parts


def main(argv):
    url, ca, study, series, instance, path = argv
    checks, details = {}, {}
    session = requests.Session()
    session.verify = ca
    # Otherwise REQUESTS_CA_BUNDLE, where set, would replace verify= for every request.
    session.trust_env = False
    client = DICOMwebClient(url, session=session)

    studies = client.search_for_studies()
    uids = [s["0020000D"]["Value"][0] for s in studies]
    checks["search_studies"] = study in uids
    details["studies"] = len(uids)
    one = client.search_for_studies(search_filters={"StudyInstanceUID": study}, fields=["StudyDescription"])
    checks["search_studies_filtered"] = [s["0020000D"]["Value"][0] for s in one] == [study]
    found = client.search_for_instances(study_instance_uid=study, series_instance_uid=series)
    checks["search_instances"] = instance in [i["00080018"]["Value"][0] for i in found]

    stored = open(path, "rb").read()
    reference = pydicom.dcmread(path)
    got = client.retrieve_instance(study, series, instance, media_types=(("application/dicom", "*"),))
    checks["retrieve_instance"] = (got.SOPInstanceUID == instance
                                   and getattr(got, "PixelData", None) == getattr(reference, "PixelData", None))
    raw = session.get(f"{url}/studies/{study}/series/{series}/instances/{instance}",
                      headers={"Accept": 'multipart/related; type="application/dicom"; transfer-syntax=*'})
    parts = multipart_parts(raw) if raw.status_code == 200 else []
    checks["retrieve_bytes_equal_file"] = parts == [stored]
    details["retrieve"] = [raw.status_code, [len(p) for p in parts], len(stored)]
    metadata = client.retrieve_series_metadata(study, series)
    checks["series_metadata"] = instance in [m["00080018"]["Value"][0] for m in metadata]

    # Without the test CA (the system's trust store), the certificate must be refused.
    try:
        requests.get(f"{url}/studies", timeout=10)
        checks["untrusted_refused"] = False
    except requests.exceptions.SSLError as e:
        checks["untrusted_refused"] = True
        details["untrusted"] = str(e)[:200]

    print(json.dumps({"checks": checks, "details": details}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
