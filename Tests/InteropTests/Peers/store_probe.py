"""C-STORE requester (pynetdicom) that sends whatever UIDs and AE titles it is given, for the
qrscpd UID-check and log-escaping tests.

usage: store_probe.py HOST PORT CALLED_AE JSON
  JSON: {"calling": AE title, "objects": [{"sop": UID, "study": UID, "series": UID}, ...]}
        Strings may hold any character (JSON escapes: "\\u0000", "\\n", "\\u001b").

pynetdicom and pydicom check UIDs and AE titles before sending; a hostile peer does not, so
those checks are switched off here. One association; one C-STORE (CT Image Storage, Explicit
VR Little Endian) per object. Prints one JSON line: {"associated": bool, "results":
[{"status": int or null, "comment": str or null}, ...]}.
"""
import json
import sys

from pydicom import config as pydicom_config
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian
from pynetdicom import AE, _config
from pynetdicom.sop_class import CTImageStorage

pydicom_config.settings.writing_validation_mode = pydicom_config.IGNORE
pydicom_config.settings.reading_validation_mode = pydicom_config.IGNORE
_config.VALIDATORS["UI"] = lambda value: (True, "")
_config.VALIDATORS["AE"] = lambda value: (True, "")


def dataset(sop, study, series):
    ds = Dataset()
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = sop
    ds.StudyInstanceUID = study
    ds.SeriesInstanceUID = series
    ds.Modality = "CT"
    ds.PatientName = "Probe^UID"
    ds.PatientID = "UID-PROBE"
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return ds


def main():
    host, port, called, spec = sys.argv[1], int(sys.argv[2]), sys.argv[3], json.loads(sys.argv[4])
    ae = AE(ae_title=spec.get("calling", "STOREPROBE"))
    ae.acse_timeout = 20
    ae.dimse_timeout = 30
    ae.network_timeout = 30
    ae.add_requested_context(CTImageStorage, [ExplicitVRLittleEndian])
    assoc = ae.associate(host, port, ae_title=called)
    results = []
    established = assoc.is_established
    if established:
        for obj in spec.get("objects", []):
            status = assoc.send_c_store(dataset(obj["sop"], obj["study"], obj["series"]))
            if status is None or "Status" not in status:
                results.append({"status": None, "comment": None})
            else:
                comment = status.get("ErrorComment")
                results.append({"status": int(status.Status), "comment": str(comment) if comment else None})
        assoc.release()
    print(json.dumps({"associated": established, "results": results}))


if __name__ == "__main__":
    main()
