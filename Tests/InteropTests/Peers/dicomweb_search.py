#!/usr/bin/env python3
"""QIDO-RS peer for the qrscpd interop tests, built on dicomweb-client.

Usage:
  dicomweb_search.py BASE_URL LEVEL [--study UID] [--series UID] [-f KEY=VALUE ...]
                     [--field KEY ...] [--fuzzy] [--limit N] [--offset N]

LEVEL is studies, series or instances. Prints one JSON line:
  {"status": "ok", "results": [{"0020000D": "...", ...}, ...]}
with each attribute reduced to its first value (PN as the Alphabetic string, numbers as
given), or {"status": "error", "http": 400, "text": "..."}.
"""
import argparse
import json

import requests
from dicomweb_client.api import DICOMwebClient


def first(element):
    values = element.get("Value")
    if not values:
        return ""
    v = values[0]
    if isinstance(v, dict):
        return v.get("Alphabetic", "")
    return v


def main():
    p = argparse.ArgumentParser()
    p.add_argument("base")
    p.add_argument("level", choices=["studies", "series", "instances"])
    p.add_argument("--study")
    p.add_argument("--series")
    p.add_argument("-f", "--filter", action="append", default=[])
    p.add_argument("--field", action="append", default=[])
    p.add_argument("--fuzzy", action="store_true")
    p.add_argument("--limit", type=int)
    p.add_argument("--offset", type=int)
    a = p.parse_args()
    client = DICOMwebClient(a.base)
    filters = dict(f.split("=", 1) for f in a.filter)
    kwargs = dict(search_filters=filters or None, fields=a.field or None, fuzzymatching=a.fuzzy or None,
                  limit=a.limit, offset=a.offset)
    try:
        if a.level == "studies":
            found = client.search_for_studies(**kwargs)
        elif a.level == "series":
            found = client.search_for_series(study_instance_uid=a.study, **kwargs)
        else:
            found = client.search_for_instances(study_instance_uid=a.study, series_instance_uid=a.series, **kwargs)
    except requests.exceptions.HTTPError as e:
        print(json.dumps({"status": "error", "http": e.response.status_code, "text": e.response.text}))
        return
    print(json.dumps({"status": "ok", "results": [{k: first(v) for k, v in r.items()} for r in found]}))


if __name__ == "__main__":
    main()
