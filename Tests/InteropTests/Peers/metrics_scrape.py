#!/usr/bin/env python3
"""Scrapes qrscpd's /metrics and parses it with prometheus_client's text parser (which rejects
malformed exposition text). Prints one JSON line: {"samples": [[name, {labels}, value], ...],
"types": {family: type}}.

Usage: metrics_scrape.py URL
"""
import json
import sys
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

with urllib.request.urlopen(sys.argv[1], timeout=30) as response:
    content_type = response.headers.get("Content-Type", "")
    text = response.read().decode("utf-8")
samples = []
types = {}
for family in text_string_to_metric_families(text):
    types[family.name] = family.type
    for s in family.samples:
        samples.append([s.name, s.labels, s.value])
print(json.dumps({"content_type": content_type, "samples": samples, "types": types}))
