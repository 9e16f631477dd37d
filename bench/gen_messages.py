#!/usr/bin/env python3
"""Writes a deterministic Airbyte message stream (JSON lines) and its configured catalog.

Usage: gen_messages.py --records N [--streams S] [--state-every K] [--seed X]
                       [--mode append|overwrite|append_dedup] [--dup-ratio R] [--namespace NS]
                       --out messages.jsonl --catalog catalog.json

Each record is a user-like row of about 380 bytes with 11 typed columns (bigint, varchar,
numeric, boolean, timestamptz, date, jsonb object and array). Records are spread round-robin over
S streams; each stream gets a STREAM state every K of its records and one after its last. With
--dup-ratio R, that fraction of records reuses an earlier key of its stream with a newer cursor,
so append_dedup has superseded rows to remove. No TRACE status is written: callers add
STREAM_STATUS COMPLETE lines when they need them.
"""
import argparse
import json
import random

COLUMNS = {
    "id": {"type": "integer"},
    "name": {"type": "string"},
    "email": {"type": "string"},
    "age": {"type": ["null", "integer"]},
    "score": {"type": "number"},
    "is_active": {"type": "boolean"},
    "created_at": {"type": "string", "format": "date-time",
                   "airbyte_type": "timestamp_with_timezone"},
    "birthday": {"type": ["null", "string"], "format": "date"},
    "updated_at": {"type": "string", "format": "date-time",
                   "airbyte_type": "timestamp_with_timezone"},
    "address": {"type": "object", "properties": {
        "street": {"type": "string"}, "city": {"type": "string"}, "zip": {"type": "string"}}},
    "tags": {"type": "array", "items": {"type": "string"}},
}
SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "an", "el", "or"]
FIRST_EMITTED_AT_MS = 1_700_000_000_000


def compact(message):
    return json.dumps(message, separators=(",", ":"))


def word(rng):
    return (rng.choice(SYLLABLES) + rng.choice(SYLLABLES) + rng.choice(SYLLABLES)).title()


def clock(seconds):
    return f"{(seconds // 3600) % 24:02d}:{(seconds // 60) % 60:02d}:{seconds % 60:02d}"


def record(rng, key, n):
    """The n-th record of a stream, with primary key `key`."""
    seconds = (FIRST_EMITTED_AT_MS // 1000) + n
    return {
        "id": key,
        "name": f"{word(rng)} {word(rng)}",
        "email": f"user{key}@example.com",
        "age": None if n % 17 == 0 else 18 + (n * 7) % 60,
        "score": round(rng.random() * 1000, 4),
        "is_active": n % 3 != 0,
        "created_at": f"2023-11-{1 + n % 28:02d}T{clock(seconds)}.{n % 1000:03d}Z",
        "birthday": None if n % 11 == 0 else f"19{50 + n % 50}-{1 + n % 12:02d}-{1 + n % 28:02d}",
        "updated_at": f"2024-{1 + n % 12:02d}-{1 + n % 28:02d}T{clock(seconds)}+00:00",
        "address": {"street": f"{n % 9999} {word(rng)} St", "city": word(rng),
                    "zip": f"{n % 100000:05d}"},
        "tags": [rng.choice(SYLLABLES) for _ in range(n % 4)],
    }


def configured_stream(name, args):
    stream = {"name": name, "json_schema": {"type": "object", "properties": COLUMNS},
              "supported_sync_modes": ["full_refresh", "incremental"]}
    if args.namespace:
        stream["namespace"] = args.namespace
    configured = {
        "stream": stream,
        "sync_mode": "full_refresh" if args.mode == "overwrite" else "incremental",
        "destination_sync_mode": args.mode,
        "generation_id": 1,
        "minimum_generation_id": 1 if args.mode == "overwrite" else 0,
        "sync_id": 1,
    }
    if args.mode == "append_dedup":
        configured["primary_key"] = [["id"]]
        configured["cursor_field"] = ["updated_at"]
    return configured


def state(name, args, records_so_far, records_since_last):
    descriptor = {"name": name}
    if args.namespace:
        descriptor["namespace"] = args.namespace
    return {"type": "STATE", "state": {
        "type": "STREAM",
        "stream": {"stream_descriptor": descriptor, "stream_state": {"cursor": records_so_far}},
        "sourceStats": {"recordCount": float(records_since_last)}}}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, required=True)
    parser.add_argument("--streams", type=int, default=1)
    parser.add_argument("--state-every", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--mode", default="append", choices=["append", "overwrite", "append_dedup"])
    parser.add_argument("--dup-ratio", type=float, default=0.0)
    parser.add_argument("--namespace", default=None)
    parser.add_argument("--out", required=True)
    parser.add_argument("--catalog", required=True)
    args = parser.parse_args()

    names = ["users"] if args.streams == 1 else [f"users_{i}" for i in range(args.streams)]
    with open(args.catalog, "w") as catalog:
        json.dump({"streams": [configured_stream(name, args) for name in names]}, catalog, indent=2)

    rng = random.Random(args.seed)
    written = {name: 0 for name in names}
    with open(args.out, "w") as out:
        for i in range(args.records):
            name = names[i % len(names)]
            n = written[name]
            repeat = n > 0 and rng.random() < args.dup_ratio
            key = rng.randrange(n) if repeat else n
            message = {"stream": name, "data": record(rng, key, n),
                       "emitted_at": FIRST_EMITTED_AT_MS + n * 1000}
            if args.namespace:
                message["namespace"] = args.namespace
            out.write(compact({"type": "RECORD", "record": message}) + "\n")
            written[name] = n + 1
            if written[name] % args.state_every == 0:
                out.write(compact(state(name, args, written[name], args.state_every)) + "\n")
        for name in names:
            if written[name] % args.state_every:
                out.write(compact(state(name, args, written[name],
                                        written[name] % args.state_every)) + "\n")


if __name__ == "__main__":
    main()
