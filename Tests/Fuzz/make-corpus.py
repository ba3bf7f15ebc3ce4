#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets into Tests/Fuzz/corpus/<target>/.

Seeds are small valid inputs built here (PDUs as in Tests/DICOMNetworkTests/PDUFixtures.swift,
data sets and Part 10 files written with pydicom in each native transfer syntax, C-FIND
identifiers, layout templates), so that the fuzzer starts from the structures it is to break.
Run again after changing it; the output is deterministic.
"""
import io
import os
import struct
import sys
import zlib

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.filewriter import write_dataset, dcmwrite
from pydicom.filebase import DicomBytesIO
from pydicom.uid import ImplicitVRLittleEndian, ExplicitVRLittleEndian, ExplicitVRBigEndian, DeflatedExplicitVRLittleEndian

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def put(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(bytes(data))


# --- PDUs (PS3.8 §9.3) ---------------------------------------------------------------------
def be16(v): return struct.pack(">H", v)
def be32(v): return struct.pack(">I", v)
def item(t, value): return bytes([t, 0]) + be16(len(value)) + value
def pdu(t, body): return bytes([t, 0]) + be32(len(body)) + body
def ae(s): return s.encode().ljust(16)


def associate_rq(contexts, user_items=b""):
    fixed = be16(1) + b"\0\0" + ae("QRSCPD") + ae("FUZZSCU") + bytes(32)
    pcs = b""
    for i, (abstract, syntaxes) in enumerate(contexts):
        sub = item(0x30, abstract.encode()) + b"".join(item(0x40, t.encode()) for t in syntaxes)
        pcs += item(0x20, bytes([2 * i + 1, 0, 0, 0]) + sub)
    ui = item(0x50, item(0x51, be32(16384)) + item(0x52, b"1.2.3.4") + user_items)
    return pdu(0x01, fixed + item(0x10, b"1.2.840.10008.3.1.1.1") + pcs + ui)


VERIFY = "1.2.840.10008.1.1"
FIND = "1.2.840.10008.5.1.4.1.2.2.1"
CT = "1.2.840.10008.5.1.4.1.1.2"
IMPL, EXPL = "1.2.840.10008.1.2", "1.2.840.10008.1.2.1"

rq_simple = associate_rq([(VERIFY, [IMPL])])
rq_rich = associate_rq(
    [(VERIFY, [IMPL, EXPL]), (FIND, [EXPL]), (CT, ["1.2.840.10008.1.2.1.99", EXPL])],
    item(0x53, bytes.fromhex("00050001")) + item(0x54, be16(len(CT)) + CT.encode() + b"\x00\x01")
    + item(0x55, b"FUZZ_1") + item(0x56, be16(len(FIND)) + FIND.encode() + b"\x01\x01")
    + item(0x58, b"\x02\x01" + be16(4) + b"user" + be16(4) + b"pass"))
ac = pdu(0x02, be16(1) + b"\0\0" + ae("QRSCPD") + ae("FUZZSCU") + bytes(32) + item(0x10, b"1.2.840.10008.3.1.1.1")
         + item(0x21, bytes([1, 0, 0, 0]) + item(0x40, IMPL.encode())) + item(0x50, item(0x51, be32(16384)) + item(0x52, b"1.2.3.4")))
rj = bytes.fromhex("03 00 00 00 00 04 00 01 01 07")
release_rq = bytes.fromhex("05 00 00 00 00 04 00 00 00 00")
release_rp = bytes.fromhex("06 00 00 00 00 04 00 00 00 00")
abort = bytes.fromhex("07 00 00 00 00 04 00 00 02 06")


def element(group, elem, value):
    if len(value) % 2:
        value += b"\0" if isinstance(value, bytes) and value[-1:].isdigit() else b" "
    return struct.pack("<HHI", group, elem, len(value)) + value


def command(fields):
    body = b"".join(element(0, e, v) for e, v in fields)
    return element(0, 0, struct.pack("<I", len(body))) + body


def us(v): return struct.pack("<H", v)
def ui(s): return s.encode() + (b"\0" if len(s) % 2 else b"")


echo_rq = command([(0x0002, ui(VERIFY)), (0x0100, us(0x0030)), (0x0110, us(1)), (0x0800, us(0x0101))])
find_rq = command([(0x0002, ui(FIND)), (0x0100, us(0x0020)), (0x0110, us(2)), (0x0700, us(0)), (0x0800, us(0x0001))])
store_rq = command([(0x0002, ui(CT)), (0x0100, us(0x0001)), (0x0110, us(3)), (0x0700, us(0)), (0x0800, us(0x0001)),
                    (0x1000, ui("1.2.3.4.5.6"))])
find_identifier = (element(0x0008, 0x0052, b"STUDY ") + element(0x0010, 0x0010, b"Doe*")
                   + element(0x0020, 0x000D, b""))


def pdv(context, header, data):
    return be32(len(data) + 2) + bytes([context, header]) + data


def p_data(*pdvs): return pdu(0x04, b"".join(pdvs))


stream_seeds = {
    "rq-simple": rq_simple, "rq-rich": rq_rich, "ac": ac, "rj": rj, "release": release_rq + release_rp,
    "abort": abort, "echo": rq_simple + p_data(pdv(1, 3, echo_rq)) + release_rq,
    "find": p_data(pdv(3, 3, find_rq), pdv(3, 2, find_identifier)),
    "store-split": p_data(pdv(5, 1, store_rq[:20])) + p_data(pdv(5, 3, store_rq[20:])) + p_data(pdv(5, 0, b"\x08\x00\x18\x00"), pdv(5, 2, b"\x04\x00\x00\x00abcd")),
}
for i, (name, data) in enumerate(stream_seeds.items()):
    put("pdu-stream", name, bytes([(i * 37) & 0xFF]) + data)

# Association: event numbers 1…19 as bytes (value mod 19 + 1).
def events(*numbers): return bytes(n - 1 for n in numbers)
put("association", "acceptor-release", events(5, 6, 7, 10, 9, 12, 14, 17))
put("association", "acceptor-reject", events(5, 6, 8, 17))
put("association", "requestor-release", events(1, 2, 3, 9, 10, 11, 13, 17))
put("association", "release-collision", events(1, 2, 3, 11, 12, 14, 13, 17))
put("association", "artim", events(5, 18, 5, 6, 7, 16, 5, 19) + bytes([6]))

# DIMSE: [flags] then [context, header, length, bytes] records.
def record(context, header, data):
    out = b""
    while True:
        chunk, data = data[:255], data[255:]
        last = header & 2 if not data else 0
        out += bytes([context, (header & 1) | last, len(chunk)]) + chunk
        if not data:
            return out


put("dimse", "echo", b"\x00" + record(1, 3, echo_rq))
put("dimse", "find", b"\x00" + record(3, 3, find_rq) + record(3, 2, find_identifier))
put("dimse", "find-explicit", b"\x02" + record(3, 3, find_rq) + bytes([3, 2, 10]) + b"\x08\x00\x52\x00CS\x00\x00")
put("dimse", "store-incremental", b"\x01" + record(5, 1, store_rq[:30]) + record(5, 3, store_rq[30:])
    + record(5, 0, b"\x08\x00\x18\x00\x04\x00\x00\x00") + record(5, 2, b"1.2."))


# --- Data sets and files (PS3.5, PS3.10) --------------------------------------------------
def sample(pixels=True):
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = CT
    ds.SOPInstanceUID = "1.2.826.0.1.3680043.10.1489.99.1"
    ds.StudyDate = "20240102"
    ds.StudyTime = "101010.5"
    ds.Modality = "CT"
    ds.PatientName = "Müller^Jürgen"
    ds.PatientID = "P1"
    ds.StudyInstanceUID = "1.2.826.0.1.3680043.10.1489.99"
    ds.SeriesInstanceUID = "1.2.826.0.1.3680043.10.1489.99.2"
    ds.InstanceNumber = 1
    ds.ImagePositionPatient = [0.5, -1, 2e3]
    ref = Dataset()
    ref.ReferencedSOPClassUID = CT
    ref.ReferencedSOPInstanceUID = "1.2.3"
    ds.ReferencedImageSequence = Sequence([ref, Dataset()])
    if pixels:
        ds.Rows, ds.Columns, ds.BitsAllocated, ds.BitsStored, ds.HighBit = 4, 4, 16, 12, 11
        ds.SamplesPerPixel, ds.PixelRepresentation, ds.PhotometricInterpretation = 1, 0, "MONOCHROME2"
        ds.PixelData = bytes(range(32))
    return ds


def encode(ds, implicit, little):
    fp = DicomBytesIO()
    fp.is_implicit_VR = implicit
    fp.is_little_endian = little
    write_dataset(fp, ds)
    return fp.getvalue()


explicit_le = encode(sample(), False, True)
deflater = zlib.compressobj(6, zlib.DEFLATED, -15)
deflated = deflater.compress(explicit_le) + deflater.flush()
for name, control, data in [("implicit", 0, encode(sample(), True, True)), ("explicit-le", 1, explicit_le),
                            ("explicit-be", 2, encode(sample(), False, False)), ("deflated", 3, deflated),
                            ("implicit-stop-pixels", 4, encode(sample(), True, True))]:
    put("dataset", name, bytes([control]) + data)
# Undefined-length sequence and item, encapsulated pixel data (PS3.5 §7.5, A.4).
undefined = (b"\x08\x00\x40\x11SQ\x00\x00\xff\xff\xff\xff" + b"\xfe\xff\x00\xe0\xff\xff\xff\xff"
             + b"\x08\x00\x50\x11UI\x04\x001.2\x00" + b"\xfe\xff\x0d\xe0\x00\x00\x00\x00" + b"\xfe\xff\xdd\xe0\x00\x00\x00\x00"
             + b"\xe0\x7f\x10\x00OB\x00\x00\xff\xff\xff\xff" + b"\xfe\xff\x00\xe0\x00\x00\x00\x00"
             + b"\xfe\xff\x00\xe0\x04\x00\x00\x00abcd" + b"\xfe\xff\xdd\xe0\x00\x00\x00\x00")
put("dataset", "undefined-lengths", b"\x01" + undefined)


def part10(syntax, preamble=True):
    ds = sample()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = syntax
    meta.ImplementationClassUID = "1.2.826.0.1.3680043.10.1489.1"
    ds.file_meta = meta
    buf = io.BytesIO()
    dcmwrite(buf, ds, enforce_file_format=True)
    data = buf.getvalue()
    return data if preamble else data[128:]


put("part10", "implicit.dcm", part10(ImplicitVRLittleEndian))
put("part10", "explicit-le.dcm", part10(ExplicitVRLittleEndian))
put("part10", "explicit-be.dcm", part10(ExplicitVRBigEndian))
put("part10", "deflated.dcm", part10(DeflatedExplicitVRLittleEndian))
put("part10", "no-preamble.dcm", part10(ExplicitVRLittleEndian, preamble=False))
put("part10", "no-meta.dcm", encode(sample(), True, True))


def with_limit(data, limit):
    """A Part 10 file whose first preamble byte (the stored-dataset target's bulk limit) is `limit`."""
    return bytes([limit]) + data[1:]


def meta_only(syntax):
    """Preamble and File Meta Information of an empty data set, for raw elements to follow."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = CT
    ds.file_meta.MediaStorageSOPInstanceUID = "1.2.826.0.1.3680043.10.1489.99.1"
    ds.file_meta.TransferSyntaxUID = syntax
    ds.file_meta.ImplementationClassUID = "1.2.826.0.1.3680043.10.1489.1"
    buf = io.BytesIO()
    dcmwrite(buf, ds, enforce_file_format=True)
    return buf.getvalue()


put("stored-dataset", "implicit.dcm", with_limit(part10(ImplicitVRLittleEndian), 16))
put("stored-dataset", "explicit-le.dcm", with_limit(part10(ExplicitVRLittleEndian), 16))
put("stored-dataset", "explicit-be.dcm", with_limit(part10(ExplicitVRBigEndian), 0))
put("stored-dataset", "undefined-lengths.dcm", with_limit(meta_only(ExplicitVRLittleEndian) + undefined, 2))
# A private value after Pixel Data and Data Set Trailing Padding (elements a walk must not stop at).
trailing = (b"\xe0\x7f\x10\x00OW\x00\x00\x40\x00\x00\x00" + bytes(64)
            + b"\xe1\x7f\x10\x00LO\x04\x00TEST" + b"\xe1\x7f\x01\x10OB\x00\x00\x20\x00\x00\x00" + bytes(range(32))
            + b"\xfc\xff\xfc\xff" + b"OB\x00\x00\x08\x00\x00\x00" + bytes(8))
put("stored-dataset", "trailing.dcm", with_limit(meta_only(ExplicitVRLittleEndian) + trailing, 16))


# --- C-FIND identifiers (PS3.4 C.6) -------------------------------------------------------
def query(level, **keys):
    ds = Dataset()
    ds.QueryRetrieveLevel = level
    for k, v in keys.items():
        setattr(ds, k, v)
    return ds


queries = [
    ("study-wildcard", 1, query("STUDY", PatientName="Doe*", StudyInstanceUID="", StudyDate="", ModalitiesInStudy="")),
    ("study-range", 1, query("STUDY", StudyDate="20240101-20240102", StudyTime="-1200", AccessionNumber="A?0",
                              NumberOfStudyRelatedInstances="")),
    ("patient", 0, query("PATIENT", PatientID="P1", PatientName="", PatientBirthDate="19700101-")),
    ("series", 1, query("SERIES", StudyInstanceUID="1.2.3.0.0", SeriesInstanceUID="", Modality="CT\\MR")),
    ("image-uid-list", 1, query("IMAGE", StudyInstanceUID="1.2.3.0.0", SeriesInstanceUID="1.2.3.0.0.1",
                                 SOPInstanceUID="1.2.3.0.0.1.0\\1.2.3.0.0.1.1", InstanceNumber="")),
    ("relational", 3, query("SERIES", PatientName="Müller*", SeriesNumber="")),
]
for name, control, ds in queries:
    ds.SpecificCharacterSet = "ISO_IR 192"
    put("find-query", name, bytes([control]) + encode(ds, True, True))
seq_query = query("STUDY", StudyInstanceUID="")
seq_item = Dataset()
seq_item.ReferencedSOPClassUID = ""
seq_query.ReferencedStudySequence = Sequence([seq_item])
put("find-query", "sequence-explicit", bytes([5]) + encode(seq_query, False, True))

# --- Storage layout: template and four UIDs separated by NUL -------------------------------
layouts = [
    ("default", "{StudyUID}/{SeriesUID}/{SOPInstanceUID}.dcm", ["1.2.3", "1.2.3.4", "1.2.3.4.5", CT]),
    ("flat-bad-uids", "{SOPInstanceUID}.dcm", ["../..", "a/b", "1..2", "." * 70]),
    ("by-class", "{SOPClassUID}/{StudyUID}-{SeriesUID}/x{SOPInstanceUID}", ["1.2", "", "9" * 65, "1.2.840"]),
]
for name, template, uids in layouts:
    put("store-layout", name, b"\0".join(s.encode() for s in [template] + uids))

print("corpus written to", ROOT, file=sys.stderr)
