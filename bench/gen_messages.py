#!/usr/bin/env python3
"""Writes a deterministic Airbyte message stream (JSON lines) and its configured catalog.

Usage: gen_messages.py --records N [--shape users|narrow|wide] [--streams S] [--sequential]
                       [--state-every K] [--seed X] [--mode append|overwrite|append_dedup]
                       [--dup-ratio R] [--repeat-ratio R] [--generation G] [--namespace NS]
                       --out messages.jsonl --catalog catalog.json [--expect expect.json]

Shapes:
- users (the default): a user-like row of about 380 bytes with 11 typed columns (bigint, varchar,
  numeric, boolean, timestamptz, date, jsonb object and array); key `id`, cursor `updated_at`.
- narrow and wide: the records of Airbyte's own destination performance test (the bulk CDK's
  BasicPerformanceTest and PerformanceTestScenarios): an integer `id` counting from 1 and, for
  narrow, two string columns of 100 characters ("1" and "2" repeated), for wide, 100 string
  columns `column1` ... `column100` of 50 characters; every record the same but for its id;
  key and cursor both `id`.

Records are spread round-robin over S streams, or with --sequential one stream's share after
the other's (as Airbyte's multi-stream test sends them). Each stream gets a STREAM state every K
of its records and one after its last. With --dup-ratio R, that fraction of records reuses an
earlier key of its stream with a newer cursor, so append_dedup has superseded rows to remove.
With --repeat-ratio R, each record is followed by an identical copy with chance R (Airbyte's
duplicateChance); the copies count towards N. --generation G sets the streams' generation_id
and sync_id (and minimum_generation_id for overwrite), so that a second overwrite sync replaces
the rows of a first. --expect writes {"records": N, "rows": M}: the rows the tables hold after a
sync of the messages into empty tables. No TRACE status is written: callers add STREAM_STATUS
COMPLETE lines when they need them.
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
AIRBYTE_SHAPES = {
    "narrow": {"column1": "1" * 100, "column2": "2" * 100},
    "wide": {f"column{i}": "1" * 50 for i in range(1, 101)},
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


def columns(shape):
    if shape == "users":
        return COLUMNS
    properties = {"id": {"type": "integer"}}
    properties.update({name: {"type": "string"} for name in AIRBYTE_SHAPES[shape]})
    return properties


def configured_stream(name, args):
    stream = {"name": name, "json_schema": {"type": "object", "properties": columns(args.shape)},
              "supported_sync_modes": ["full_refresh", "incremental"]}
    if args.namespace:
        stream["namespace"] = args.namespace
    configured = {
        "stream": stream,
        "sync_mode": "full_refresh" if args.mode == "overwrite" else "incremental",
        "destination_sync_mode": args.mode,
        "generation_id": args.generation,
        "minimum_generation_id": args.generation if args.mode == "overwrite" else 0,
        "sync_id": args.generation,
    }
    if args.mode == "append_dedup":
        configured["primary_key"] = [["id"]]
        configured["cursor_field"] = ["updated_at" if args.shape == "users" else "id"]
    return configured


def state(name, args, records_so_far, records_since_last):
    descriptor = {"name": name}
    if args.namespace:
        descriptor["namespace"] = args.namespace
    return {"type": "STATE", "state": {
        "type": "STREAM",
        "stream": {"stream_descriptor": descriptor, "stream_state": {"cursor": records_so_far}},
        "sourceStats": {"recordCount": float(records_since_last)}}}


def stream_order(names, records, sequential):
    """The stream of each record, in order: round-robin, or each stream's share in turn."""
    if not sequential:
        return (names[i % len(names)] for i in range(records))
    share, extra = divmod(records, len(names))
    return (name for k, name in enumerate(names) for _ in range(share + (k < extra)))


def users_data(rng, args, n):
    """A users record's data and its key."""
    repeat = n > 0 and rng.random() < args.dup_ratio
    key = rng.randrange(n) if repeat else n
    return record(rng, key, n), key


def airbyte_line_parts(template, name, args):
    """The JSON line of an Airbyte-shape record, split around its id: the records differ only in
    the id, so each line is the two parts joined by the id (as Airbyte's own test writes them)."""
    placeholder = -1234567
    message = {"stream": name, "data": {"id": placeholder, **template},
               "emitted_at": FIRST_EMITTED_AT_MS}
    if args.namespace:
        message["namespace"] = args.namespace
    before, after = compact({"type": "RECORD", "record": message}).split(str(placeholder))
    return before, after + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, required=True)
    parser.add_argument("--shape", default="users", choices=["users", *AIRBYTE_SHAPES])
    parser.add_argument("--streams", type=int, default=1)
    parser.add_argument("--sequential", action="store_true")
    parser.add_argument("--state-every", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--mode", default="append", choices=["append", "overwrite", "append_dedup"])
    parser.add_argument("--dup-ratio", type=float, default=0.0)
    parser.add_argument("--repeat-ratio", type=float, default=0.0)
    parser.add_argument("--generation", type=int, default=1)
    parser.add_argument("--namespace", default=None)
    parser.add_argument("--out", required=True)
    parser.add_argument("--catalog", required=True)
    parser.add_argument("--expect", default=None)
    args = parser.parse_args()
    if args.shape != "users" and args.dup_ratio:
        parser.error("--dup-ratio needs --shape users (the Airbyte shapes take --repeat-ratio)")

    base = "users" if args.shape == "users" else args.shape
    names = [base] if args.streams == 1 else [f"{base}_{i}" for i in range(args.streams)]
    with open(args.catalog, "w") as catalog:
        json.dump({"streams": [configured_stream(name, args) for name in names]}, catalog, indent=2)

    rng = random.Random(args.seed)
    template = AIRBYTE_SHAPES.get(args.shape)
    line_parts = {name: airbyte_line_parts(template, name, args) for name in names} if template else {}
    written = {name: 0 for name in names}
    ids = {name: 0 for name in names}  # the last id of an Airbyte-shape stream
    keys = {name: set() for name in names}  # the distinct keys, for --expect of append_dedup
    dedup = args.mode == "append_dedup"
    repeats = {}  # stream → the line to write again next (--repeat-ratio)
    with open(args.out, "w") as out:
        for name in stream_order(names, args.records, args.sequential):
            n = written[name]
            if name in repeats:
                line = repeats.pop(name)
            else:
                if template is None:
                    data, key = users_data(rng, args, n)
                    message = {"stream": name, "data": data,
                               "emitted_at": FIRST_EMITTED_AT_MS + n * 1000}
                    if args.namespace:
                        message["namespace"] = args.namespace
                    line = compact({"type": "RECORD", "record": message}) + "\n"
                else:
                    ids[name] += 1
                    key = ids[name]
                    before, after = line_parts[name]
                    line = before + str(key) + after
                if dedup:
                    keys[name].add(key)
                if args.repeat_ratio and rng.random() < args.repeat_ratio:
                    repeats[name] = line
            out.write(line)
            written[name] = n + 1
            if written[name] % args.state_every == 0:
                out.write(compact(state(name, args, written[name], args.state_every)) + "\n")
        for name in names:
            if written[name] % args.state_every:
                out.write(compact(state(name, args, written[name],
                                        written[name] % args.state_every)) + "\n")
    if args.expect:
        rows = sum(map(len, keys.values())) if dedup else args.records
        with open(args.expect, "w") as expect:
            json.dump({"records": args.records, "rows": rows}, expect)


if __name__ == "__main__":
    main()
