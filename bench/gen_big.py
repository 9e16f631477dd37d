#!/usr/bin/env python3
"""One RECORD with a string value of --mb megabytes (10^6 bytes) in a varchar column.

Usage: gen_big.py --mb 100 --out big.jsonl --catalog big.json

The value is base64 text of pseudo-random bytes (so TOAST compression cannot make it small);
the stream "big" has columns id (bigint) and payload (varchar). The file ends with a STATE and
a TRACE STREAM_STATUS COMPLETE.
"""
import argparse, base64, json, random


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=float, default=100)
    ap.add_argument("--out", required=True)
    ap.add_argument("--catalog", required=True)
    a = ap.parse_args()
    size = int(a.mb * 1_000_000)
    schema = {"type": "object", "properties": {"id": {"type": "integer"}, "payload": {"type": "string"}}}
    catalog = {"streams": [{"stream": {"name": "big", "json_schema": schema, "supported_sync_modes": ["full_refresh", "incremental"]},
                            "sync_mode": "incremental", "destination_sync_mode": "append",
                            "generation_id": 1, "minimum_generation_id": 0, "sync_id": 1}]}
    with open(a.catalog, "w") as f:
        json.dump(catalog, f, indent=2)
    raw = random.Random(7).randbytes(size * 3 // 4 + 3)
    payload = base64.b64encode(raw)[:size]
    with open(a.out, "wb") as out:
        out.write(b'{"type":"RECORD","record":{"stream":"big","emitted_at":1700000000000,"data":{"id":1,"payload":"')
        out.write(payload)
        out.write(b'"}}}\n')
        out.write(b'{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"big"},'
                  b'"stream_state":{"cursor":1}},"sourceStats":{"recordCount":1.0}}}\n')
        out.write(b'{"type":"TRACE","trace":{"type":"STREAM_STATUS","emitted_at":1700000000001,"stream_status":'
                  b'{"stream_descriptor":{"name":"big"},"status":"COMPLETE"}}}\n')


if __name__ == "__main__":
    main()
