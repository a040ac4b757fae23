#!/usr/bin/python3
"""Checks the JSON a groupchat_bench run wrote: it parses, and has the
headline with every agreed key (a number or null), the machine, the date,
the rows and the figures.

  check_smoke_json.py FILE
"""
import json
import sys

HEADLINE_KEYS = {
    "fanout_10000_last_p50_us", "fanout_10000_last_p99_us", "fanout_10000_missed",
    "fanout_10000_rss_mib", "ingest_msgs_per_s", "ingest_ratio_vs_redis", "ingest_ratio_vs_bare",
    "sequential_ratio_vs_bare", "curve_sequential_ratio_vs_open", "curve_ingest_ratio_vs_open",
}


def main():
    with open(sys.argv[1]) as f:
        doc = json.load(f)
    problems = []
    for key in ("mode", "rows", "figures", "headline", "machine", "date"):
        if key not in doc:
            problems.append(f"no {key!r}")
    headline = doc.get("headline", {})
    for key in sorted(HEADLINE_KEYS - set(headline)):
        problems.append(f"headline has no {key!r}")
    for key, value in headline.items():
        if value is not None and not isinstance(value, (int, float)):
            problems.append(f"headline {key!r} is {value!r}, not a number or null")
    machine = doc.get("machine", {})
    if not isinstance(machine.get("cores"), int):
        problems.append("machine has no cores")
    for p in problems:
        print(f"check_smoke_json: {sys.argv[1]}: {p}", file=sys.stderr)
    if not problems:
        print(f"check_smoke_json: {sys.argv[1]}: {len(headline)} headline keys, "
              f"{sum(v is None for v in headline.values())} null")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
