#!/usr/bin/env python3
"""A batch for bench/merge: records shaped like gen_messages.py's (stream "users", same fields),
half of them updating existing keys (ids drawn from [0, --existing)) with a newer cursor
(updated_at in 2025), half with new keys (ids from --new-from on). Ends with a STATE and a
TRACE STREAM_STATUS COMPLETE. Use it with the catalog gen_messages.py wrote for --mode append_dedup.

Usage: gen_batch.py --records 10000 --existing 1000000 --new-from 1000000 [--seed 1] --out batch.jsonl
"""
import argparse, json, random

WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo", "lima"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=10000)
    ap.add_argument("--existing", type=int, required=True)
    ap.add_argument("--new-from", type=int, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--stream", default="users")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    updates = a.records // 2
    ids = rnd.sample(range(a.existing), min(updates, a.existing))
    ids += range(a.new_from, a.new_from + a.records - len(ids))
    rnd.shuffle(ids)
    base = 1_800_000_000_000
    with open(a.out, "w") as out:
        for k, rid in enumerate(ids):
            sec = (base + k * 1000) // 1000
            rec = {
                "id": rid,
                "name": f"{rnd.choice(WORDS).title()} {rnd.choice(WORDS).title()}",
                "email": f"user{rid}@example.com",
                "age": None if k % 17 == 0 else 18 + (k * 7) % 60,
                "score": round(rnd.random() * 1000, 4),
                "is_active": k % 3 != 0,
                "created_at": f"2023-11-{1 + (k % 28):02d}T{(sec // 3600) % 24:02d}:{(sec // 60) % 60:02d}:{sec % 60:02d}.{k % 1000:03d}Z",
                "birthday": None if k % 11 == 0 else f"19{50 + k % 50}-{1 + k % 12:02d}-{1 + k % 28:02d}",
                "updated_at": f"2025-{1 + (k % 12):02d}-{1 + (k % 28):02d}T{(sec // 3600) % 24:02d}:{(sec // 60) % 60:02d}:{sec % 60:02d}+00:00",
                "address": {"street": f"{k % 9999} {rnd.choice(WORDS).title()} St", "city": rnd.choice(WORDS).title(), "zip": f"{k % 100000:05d}"},
                "tags": [rnd.choice(WORDS) for _ in range(k % 4)],
            }
            out.write(json.dumps({"type": "RECORD", "record": {"stream": a.stream, "data": rec, "emitted_at": base + k}},
                                 separators=(",", ":")) + "\n")
        out.write(json.dumps({"type": "STATE", "state": {"type": "STREAM", "stream": {"stream_descriptor": {"name": a.stream},
                                                                                        "stream_state": {"cursor": len(ids)}},
                                                          "sourceStats": {"recordCount": float(len(ids))}}},
                             separators=(",", ":")) + "\n")
        out.write(json.dumps({"type": "TRACE", "trace": {"type": "STREAM_STATUS", "emitted_at": base + len(ids),
                                                          "stream_status": {"stream_descriptor": {"name": a.stream}, "status": "COMPLETE"}}},
                             separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
