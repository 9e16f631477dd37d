#!/usr/bin/env python3
"""Turns bench/run's TSV into the markdown results (stdout), or with --chart-data into the
gnuplot data file bench/chart draws. With several repetitions a side's figures are medians and
the ratio is the median of the per-repetition ratios (each measured side by side)."""
import argparse, csv, statistics

ORDER = ["1m", "dedup", "8streams", "10m", "big", "big300"]
BIG = ("big", "big300")
LABEL_FORMAT = {"1m": "{n} append", "dedup": "{n} append_dedup, dup 0.3", "8streams": "{n} over 8 streams",
                "10m": "{n} append", "big": "one {mb} MB record", "big300": "one {mb} MB record"}
LABEL = {}
RATIO_TARGET = {"1m": 1.25, "dedup": 2.0, "8streams": 1.35, "10m": 1.25}
RSS_TARGET_MIB = 256


def load(path):
    runs = {}
    with open(path) as f:
        for row in csv.DictReader(f, delimiter="\t"):
            runs.setdefault(row["workload"], {}).setdefault(row["rep"], {})[row["side"]] = row
    return runs


def med(values):
    values = [v for v in values if v == v]
    return statistics.median(values) if values else float("nan")


def summarise(runs):
    out = {}
    for name in [n for n in ORDER if n in runs] + [n for n in runs if n not in ORDER]:
        reps = [r for r in runs[name].values() if "ours" in r and "limit" in r]
        if not reps:
            continue
        s = {"reps": len(reps), "records": int(reps[0]["ours"]["records"]),
             "json_mb": int(reps[0]["ours"]["json_bytes"]) / 1e6,
             "rows": int(reps[0]["ours"]["rows"]), "copy_mb": int(reps[0]["limit"]["copy_bytes"] or 0) / 1e6}
        for side in ("ours", "limit"):
            for field in ("seconds", "rss_kib", "cpu_s", "server_cpu_s", "wal_bytes", "other_cpu_s", "load1"):
                s[side + "_" + field] = med([float(r[side].get(field) or "nan") for r in reps])
        s["ratio"] = med([float(r["ours"]["seconds"]) / float(r["limit"]["seconds"]) for r in reps])
        s["ratios"] = [float(r["ours"]["seconds"]) / float(r["limit"]["seconds"]) for r in reps]
        out[name] = s
        LABEL[name] = LABEL_FORMAT.get(name, name + " ({n})").format(n=f"{s['records']:,}", mb=f"{s['json_mb']:.0f}")
    return out


def fmt_int(x):
    return f"{x:,.0f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("tsv")
    ap.add_argument("--chart-data", action="store_true")
    for opt in ("date", "machine", "pg", "settings", "tls", "spec-ms", "binary", "encode", "notes"):
        ap.add_argument("--" + opt, default="")
    a = ap.parse_args()
    s = summarise(load(a.tsv))

    if a.chart_data:
        print("# workload\tours_records_s\tlimit_records_s\tours_mb_s\tlimit_mb_s\tratio")
        for name, w in s.items():
            n = w["records"]
            short = {"1m": f"{n / 1e6:g}M append", "dedup": f"{n / 1e6:g}M dedup", "8streams": f"{n / 1e6:g}M, 8 streams",
                     "10m": f"{n / 1e6:g}M append", "big": f"{w['json_mb']:.0f} MB record",
                     "big300": f"{w['json_mb']:.0f} MB record"}.get(name, name)
            print(f"\"{short}\"\t{w['records'] / w['ours_seconds']:.1f}\t{w['records'] / w['limit_seconds']:.1f}"
                  f"\t{w['json_mb'] / w['ours_seconds']:.2f}\t{w['json_mb'] / w['limit_seconds']:.2f}\t{w['ratio']:.2f}")
        return

    p = print
    p(f"## Results of {a.date}")
    p()
    p(f"- machine: {a.machine}")
    p(f"- server: {a.pg}; {a.settings}; TLS {a.tls}")
    p(f"- binary: {a.binary}")
    reps = sorted({w["reps"] for w in s.values()})
    if reps and reps != [1]:
        p(f"- repetitions per workload: {', '.join(map(str, reps))} (medians; ratio = median of the side-by-side ratios)")
    p()
    p("| workload | run | records | MB (JSON in) | seconds | records/s | MB/s | ratio to the limit | peak RSS MiB |")
    p("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, w in s.items():
        for side, who in (("ours", "our write"), ("limit", "the limit")):
            sec = w[side + "_seconds"]
            ratio = f"**{w['ratio']:.2f}**" if side == "ours" else "1.00"
            p(f"| {LABEL.get(name, name)} | {who} | {fmt_int(w['records'])} | {w['json_mb']:.1f} | {sec:.2f} | "
              f"{fmt_int(w['records'] / sec)} | {w['json_mb'] / sec:.1f} | {ratio} | {w[side + '_rss_kib'] / 1024:.0f} |")
    p()
    p("records/s and MB/s are the *input* records and JSON megabytes (10^6 bytes) over each side's wall time, so "
      "the limit's figures are what our write would reach at ratio 1.00. Peak RSS is /usr/bin/time's maximum "
      "resident set: of `destination-postgres` for our write, of `psql` for the limit.")
    p()
    p("### Against the targets")
    p()
    p("| workload | ratio | target | | peak RSS MiB | target | |")
    p("|---|---:|---:|---|---:|---:|---|")
    for name, w in s.items():
        rss = w["ours_rss_kib"] / 1024
        if name in BIG:
            # The record's line is held once as read and once as its COPY row; 160 MiB for the rest.
            rec_mib = w["json_mb"] * 1e6 / 1048576
            limit = 2 * rec_mib + 160
            p(f"| {LABEL[name]} | {w['ratio']:.2f} | loads | {'met' if w['rows'] == 1 else 'MISSED'} | {rss:.0f} | "
              f"≤ 2 × {rec_mib:.0f} + 160 = {limit:.0f} | {'met' if rss <= limit else 'MISSED'} ({rss / rec_mib:.1f}× the record) |")
            continue
        target = RATIO_TARGET.get(name)
        if target is None:
            continue
        ok = w["ratio"] <= target
        extra = ""
        if name == "1m":
            extra = f" (stretch ≤ 1.10: {'met' if w['ratio'] <= 1.10 else 'missed'})"
        if name == "10m" and "1m" in s:
            extra = f" (1M's ratio in this run: {s['1m']['ratio']:.2f})"
        p(f"| {LABEL.get(name, name)} | {w['ratio']:.2f} | ≤ {target:.2f} | {'met' if ok else 'MISSED'}{extra} | "
          f"{rss:.0f} | ≤ {RSS_TARGET_MIB} | {'met' if rss <= RSS_TARGET_MIB else 'MISSED'} |")
    p(f"| `spec` | | | | | | {a.spec_ms} (target < 20 ms) |")
    p(f"| JSON parse only, 1M file | | | | | | {a.encode or 'not measured'} |")
    p()
    p("### Where the time goes")
    p()
    p("CPU seconds (user + system) during each run: the client (our process, or psql for the limit), the "
      "PostgreSQL server (postmaster, backends, background processes), and everything else on the machine (other "
      "users' work: noise); the 1-minute load average as the run started; the WAL the run wrote.")
    p()
    p("| workload | run | wall s | client CPU s | server CPU s | other CPU s | load | WAL MB | rows |")
    p("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, w in s.items():
        for side, who in (("ours", "our write"), ("limit", "the limit")):
            p(f"| {LABEL.get(name, name)} | {who} | {w[side + '_seconds']:.2f} | {w[side + '_cpu_s']:.2f} | "
              f"{w[side + '_server_cpu_s']:.2f} | {w[side + '_other_cpu_s']:.2f} | {w[side + '_load1']:.2f} | "
              f"{w[side + '_wal_bytes'] / 1e6:.0f} | {fmt_int(w['rows'])} |")
    if any(w["reps"] > 1 for w in s.values()):
        p()
        p("Ratios per repetition: " + "; ".join(f"{LABEL.get(n, n)}: " + ", ".join(f"{r:.2f}" for r in w["ratios"])
                                               for n, w in s.items()))
    if "dedup" in s:
        p()
        p("For append_dedup the limit is the binary `\\copy` of the deduplicated rows our write left "
          f"({fmt_int(s['dedup']['rows'])} of {fmt_int(s['dedup']['records'])} records), into the same table "
          "with its key index.")
    if a.notes.strip("; "):
        p()
        p("Notes: " + a.notes.strip("; "))


if __name__ == "__main__":
    main()
