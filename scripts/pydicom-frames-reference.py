#!/usr/bin/env python3
"""Reference frames from pydicom, for Tests/DICOMWebTests and the DICOMweb interop tests.

Usage: scripts/pydicom-frames-reference.py --make-fixtures DIR
           writes multi-frame files into DIR: native (explicit and implicit VR, odd frame
           lengths) and encapsulated (Basic Offset Table with two fragments a frame, no table
           with one fragment a frame, no table with two fragments a frame, Extended Offset Table)
       scripts/pydicom-frames-reference.py --make-large FILE [FRAMES [N]]
           writes one native multi-frame file of FRAMES (default 20) frames of 512 x 512, 16 bits
           (512 KiB a frame), instance number N (default 7) of its own study
       scripts/pydicom-frames-reference.py --test-files-dir
           prints pydicom's test file directory
       scripts/pydicom-frames-reference.py --frames FILE...
           prints {"FILE": {"transfer_syntax": UID, "frames": [base64, ...]}}: native frames cut
           from Pixel Data by pydicom's expected frame length, encapsulated frames from
           pydicom.encaps.generate_frames
"""
import base64
import json
import os
import sys

try:
    import pydicom
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.encaps import encapsulate, encapsulate_extended, generate_frames
    from pydicom.pixels.utils import get_expected_length
    from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, JPEGBaseline8Bit
except ImportError:
    print(json.dumps({"__error__": "pydicom not installed"}))
    sys.exit(3)

SC = "1.2.840.10008.5.1.4.1.1.7.3"  # Multi-frame True Color Secondary Capture


def image(n, ts, rows, cols, samples, bits, frames):
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = SC
    ds.file_meta.MediaStorageSOPInstanceUID = f"1.2.826.0.1.3680043.10.1489.98.{n}"
    ds.file_meta.TransferSyntaxUID = ts
    ds.SOPClassUID = SC
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = "1.2.826.0.1.3680043.10.1489.98.100"
    ds.SeriesInstanceUID = f"1.2.826.0.1.3680043.10.1489.98.200.{n}"
    ds.PatientID = "FRAMES"
    ds.PatientName = "Frames^Test"
    ds.Modality = "OT"
    ds.Rows, ds.Columns, ds.SamplesPerPixel = rows, cols, samples
    ds.PhotometricInterpretation = "RGB" if samples == 3 else "MONOCHROME2"
    if samples == 3:
        ds.PlanarConfiguration = 0
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = bits, bits, bits - 1, 0
    ds.NumberOfFrames = frames
    return ds


def fake_jpeg(i, length):
    """Bytes shaped like a JPEG codestream (SOI ... EOI), distinct per frame, no FF inside."""
    body = bytes((i * 37 + k * 11) % 251 for k in range(length))  # < 0xFF: no marker inside
    return b"\xff\xd8" + body + b"\xff\xd9"


def make_fixtures(out):
    os.makedirs(out, exist_ok=True)
    ds = image(1, ExplicitVRLittleEndian, 15, 17, 3, 8, 3)
    ds.PixelData = bytes(k % 256 for k in range(15 * 17 * 3 * 3))
    ds.save_as(os.path.join(out, "native_rgb_explicit.dcm"), enforce_file_format=True)
    ds = image(2, ImplicitVRLittleEndian, 21, 20, 1, 16, 4)
    ds.PixelData = bytes((k * 7) % 256 for k in range(21 * 20 * 2 * 4))
    ds.save_as(os.path.join(out, "native_16_implicit.dcm"), enforce_file_format=True)
    frames = [fake_jpeg(i, 400 + 9 * i) for i in range(3)]
    for n, name, data, extra in [
        (3, "jpeg_bot_2frag.dcm", encapsulate(frames, fragments_per_frame=2, has_bot=True), None),
        (4, "jpeg_nobot.dcm", encapsulate(frames, fragments_per_frame=1, has_bot=False), None),
        (5, "jpeg_nobot_2frag.dcm", encapsulate(frames, fragments_per_frame=2, has_bot=False), None),
        (6, "jpeg_eot.dcm", None, encapsulate_extended(frames)),
    ]:
        ds = image(n, JPEGBaseline8Bit, 8, 8, 3, 8, 3)
        ds.PhotometricInterpretation = "YBR_FULL_422"
        if extra:
            ds.PixelData, ds.ExtendedOffsetTable, ds.ExtendedOffsetTableLengths = extra
        else:
            ds.PixelData = data
        ds["PixelData"].VR = "OB"
        ds["PixelData"].is_undefined_length = True
        ds.save_as(os.path.join(out, name), enforce_file_format=True)


def make_large(path, frames=20, n=7):
    ds = image(n, ExplicitVRLittleEndian, 512, 512, 1, 16, frames)
    ds.StudyInstanceUID = "1.2.826.0.1.3680043.10.1489.98.101"
    ds.PixelData = bytes((k * 13 + n) % 256 for k in range(256)) * (512 * 512 * 2 * frames // 256)
    ds["PixelData"].VR = "OW"
    ds.save_as(path, enforce_file_format=True)


def frames_of(path):
    ds = pydicom.dcmread(path)
    ts = ds.file_meta.TransferSyntaxUID
    n = int(ds.get("NumberOfFrames", 1) or 1)
    if ts.is_compressed:
        ext = None
        if "ExtendedOffsetTable" in ds:
            ext = (ds.ExtendedOffsetTable, ds.ExtendedOffsetTableLengths)
        frames = list(generate_frames(ds.PixelData, number_of_frames=n, extended_offsets=ext))
    else:
        length = get_expected_length(ds, "bytes") // n
        frames = [ds.PixelData[i * length:(i + 1) * length] for i in range(n)]
    return {"transfer_syntax": str(ts), "frames": [base64.b64encode(f).decode() for f in frames]}


def main(argv):
    if argv[:1] == ["--make-fixtures"]:
        make_fixtures(argv[1])
    elif argv[:1] == ["--make-large"]:
        make_large(argv[1], *(int(a) for a in argv[2:4]))
    elif argv[:1] == ["--test-files-dir"]:
        print(os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files"))
    elif argv[:1] == ["--frames"]:
        out = {}
        for path in argv[1:]:
            try:
                out[path] = frames_of(path)
            except Exception as e:  # reported per file; the caller decides
                out[path] = {"error": str(e)}
        print(json.dumps(out))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
