#!/usr/bin/env python3
"""Turns bench/run's TSV into the markdown results (stdout), or with --chart-data into the
gnuplot data file bench/chart draws. With several repetitions a side's figures are medians and
each ratio is the median of the per-repetition ratios (each measured side by side).

Sides: "ours" (our write), "limit" (the single reference: one psql \\copy) and "parallel" (the
parallel reference: as many psql processes at once as our write had connections). A TSV of an
older bench/run, without the parallel side or the per-process columns, still reads."""
import argparse, csv, statistics

ORDER = ["1m", "dedup", "dedup-history", "8streams", "8dedup", "10m", "overwrite", "big", "big300",
         "ab-narrow", "ab-wide", "ab-dedup", "ab-4streams"]
BIG = ("big", "big300")
LABEL_FORMAT = {"1m": "{n} append", "dedup": "{n} append_dedup, dup 0.3", "8streams": "{n} over 8 streams",
                "dedup-history": "{n} append_dedup, dup 0.3, history_mode",
                "8dedup": "{n} over 8 streams, append_dedup, dup 0.3", "10m": "{n} append",
                "overwrite": "{n} overwrite over {n} old rows, view, grant",
                "big": "one {mb} MB record", "big300": "one {mb} MB record",
                "ab-narrow": "Airbyte narrow, {n} append", "ab-wide": "Airbyte 100 columns, {n} append",
                "ab-dedup": "Airbyte dedup, {n}, 25 % repeated", "ab-4streams": "Airbyte 4 streams, {n} append"}
SHORT_FORMAT = {"1m": "{m}M append", "dedup": "{m}M dedup", "8streams": "8 streams",
                "dedup-history": "{m}M dedup, history",
                "8dedup": "8 dedup streams", "10m": "{m}M append", "overwrite": "overwrite",
                "big": "{mb} MB record", "big300": "{mb} MB record", "ab-narrow": "AB narrow",
                "ab-wide": "AB 100 cols", "ab-dedup": "AB dedup", "ab-4streams": "AB 4 streams"}
LABEL = {}
# Ratio targets: (against the single reference, against the parallel one); None: no target.
# 10M is to stay as flat as 1M, so it has 1M's targets.
RATIO_TARGET = {"1m": (0.85, 1.10), "dedup": (1.20, 1.40), "8streams": (0.95, 1.15), "8dedup": (1.40, None),
                "10m": (0.85, 1.10), "overwrite": (1.15, None)}
RSS_TARGET_MIB = 256
# An overwrite's table afterwards, against the same rows freshly loaded by the single reference.
SIZE_TARGET = 1.10
SIDES = (("ours", "our write"), ("limit", "single psql"), ("parallel", "parallel psql"))
FIELDS = ("seconds", "rss_kib", "cpu_s", "server_cpu_s", "backend_cpu_s", "wal_bytes", "other_cpu_s", "load1",
          "connections", "table_bytes")
LANES_FROM = {"log": "our write's LOG line", "backends": "the most backends of our connections seen at one time "
              "(no LOG line said how many connections it loads through)",
              "default": "1 by default (neither a LOG line nor the server's processes said more)"}


def load(path):
    runs = {}
    with open(path) as f:
        for row in csv.DictReader(f, delimiter="\t"):
            runs.setdefault(row["workload"], {}).setdefault(row["rep"], {})[row["side"]] = row
    return runs


def number(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return float("nan")


def med(values):
    values = [v for v in values if v == v]
    return statistics.median(values) if values else float("nan")


def summarise(runs):
    out = {}
    for name in [n for n in ORDER if n in runs] + [n for n in runs if n not in ORDER]:
        reps = [r for r in runs[name].values() if "ours" in r and "limit" in r]
        if not reps:
            continue
        first = reps[0]
        s = {"reps": len(reps), "records": int(first["ours"]["records"]),
             "json_mb": int(first["ours"]["json_bytes"]) / 1e6, "rows": int(first["ours"]["rows"]),
             "copy_mb": int(first["limit"]["copy_bytes"] or 0) / 1e6,
             "sides": [side for side, _ in SIDES if all(side in r for r in reps)],
             "lanes": [r["parallel"].get("lanes") for r in reps if "parallel" in r],
             "lanes_from": sorted({r["parallel"].get("lanes_from") or "" for r in reps if "parallel" in r})}
        for side in s["sides"]:
            for field in FIELDS:
                s[side + "_" + field] = med([number(r[side].get(field)) for r in reps])
            s[side + "_rest_cpu_s"] = med([number(r[side].get("server_cpu_s")) - number(r[side].get("backend_cpu_s"))
                                           for r in reps])
        for ref in ("limit", "parallel"):
            if ref in s["sides"]:
                ratios = [float(r["ours"]["seconds"]) / float(r[ref]["seconds"]) for r in reps]
                s["ratios_" + ref] = ratios
                s["ratio_" + ref] = med(ratios)
        if "parallel" in s["sides"]:
            s["parallel_vs_limit"] = med([float(r["parallel"]["seconds"]) / float(r["limit"]["seconds"]) for r in reps])
        s["size_ratio"] = med([number(r["ours"].get("table_bytes")) / number(r["limit"].get("table_bytes"))
                               for r in reps])
        out[name] = s
        LABEL[name] = LABEL_FORMAT.get(name, name + " ({n})").format(n=f"{s['records']:,}", mb=f"{s['json_mb']:.0f}")
    return out


def fmt_int(x):
    return f"{x:,.0f}" if x == x else "?"


def fmt(x, digits=2):
    return f"{x:.{digits}f}" if x == x else "?"


def lanes_text(w):
    lanes = ", ".join(sorted(set(l for l in w["lanes"] if l))) or "?"
    return lanes


def verdict(value, target):
    if target is None:
        return ""
    if value != value:
        return "not measured"
    return "met" if value <= target else "MISSED"


def chart_data(s):
    print("# workload\tours_records_s\tsingle_records_s\tparallel_records_s\tours_mb_s\tsingle_mb_s\tparallel_mb_s"
          "\tratio_single\tratio_parallel\tlanes")
    for name, w in s.items():
        short = SHORT_FORMAT.get(name, name).format(m=f"{w['records'] / 1e6:g}", mb=f"{w['json_mb']:.0f}")
        sec = {side: w.get(side + "_seconds", float("nan")) for side, _ in SIDES}
        print(f"\"{short}\"\t" + "\t".join(f"{w['records'] / sec[side]:.1f}" for side, _ in SIDES) + "\t" +
              "\t".join(f"{w['json_mb'] / sec[side]:.2f}" for side, _ in SIDES) +
              f"\t{w['ratio_limit']:.2f}\t{w.get('ratio_parallel', float('nan')):.2f}\t{lanes_text(w)}")


def cores_table(s, p):
    """What the CPU each side spent allows: on two cores, and with a core for every process."""
    rows = [(n, w) for n, w in s.items() if n not in BIG and {"ours", "limit", "parallel"} <= set(w["sides"])]
    if not rows:
        return
    p()
    p("### What two cores allow, and what more cores would")
    p()
    p("On two cores a side cannot finish before its client and server CPU seconds, shared by two cores, are "
      "spent: (client + whole server) / 2. The first ratio column is that floor for our write over the same floor "
      "for the parallel reference: the best \"vs parallel\" this machine allows, given the CPU each side spent. "
      "The estimates assume a core for every process (our process, each backend, each psql): a side then takes "
      "as long as its busiest part, our process (its client CPU, although its connection threads run beside the "
      "reader) or its backends (their CPU / N, N = lanes); the single reference its one backend. They assume "
      "backends that scale without contention (WAL insertion, one table's extension lock), so they are a bound, "
      "not a measurement.")
    p()
    p("| workload | N | 2-core floor of vs parallel | measured vs parallel | estimate vs single, a core each | "
      "estimate vs parallel, a core each |")
    p("|---|---:|---:|---:|---:|---:|")
    for name, w in rows:
        try:
            lanes = float(lanes_text(w))
        except ValueError:
            continue
        floor_ours = w["ours_cpu_s"] + w["ours_server_cpu_s"]
        floor_parallel = w["parallel_cpu_s"] + w["parallel_server_cpu_s"]
        ours = max(w["ours_cpu_s"], w["ours_backend_cpu_s"] / lanes)
        single = max(w["limit_cpu_s"], w["limit_backend_cpu_s"])
        parallel = max(w["parallel_cpu_s"] / lanes, w["parallel_backend_cpu_s"] / lanes)
        p(f"| {LABEL.get(name, name)} | {lanes:.0f} | {fmt(floor_ours / floor_parallel)} | "
          f"{fmt(w.get('ratio_parallel', float('nan')))} | {fmt(ours / single)} | {fmt(ours / parallel)} |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("tsv")
    ap.add_argument("--chart-data", action="store_true")
    for opt in ("date", "machine", "pg", "server-kind", "settings", "tls", "spec-ms", "binary", "encode", "notes"):
        ap.add_argument("--" + opt, default="")
    a = ap.parse_args()
    s = summarise(load(a.tsv))

    if a.chart_data:
        chart_data(s)
        return

    p = print
    p(f"## Results of {a.date}")
    p()
    p(f"- machine: {a.machine}")
    p(f"- server: {a.server_kind or 'not recorded'}; {a.pg}; {a.settings}; TLS {a.tls}")
    p(f"- binary: {a.binary}")
    reps = sorted({w["reps"] for w in s.values()})
    if reps and reps != [1]:
        p(f"- repetitions per workload: {', '.join(map(str, reps))} (medians; each ratio = median of the "
          "side-by-side ratios)")
    sources = sorted({src for w in s.values() for src in w["lanes_from"] if src})
    if sources:
        p("- parallel reference: as many psql processes as our write's connections, read from "
          + "; or ".join(LANES_FROM.get(src, src) for src in sources))
    p()
    p("| workload | run | records | MB (JSON in) | seconds | records/s | MB/s | vs single | vs parallel | "
      "peak RSS MiB |")
    p("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, w in s.items():
        for side, who in SIDES:
            if side not in w["sides"]:
                continue
            sec = w[side + "_seconds"]
            if side == "ours":
                vs_single = f"**{w['ratio_limit']:.2f}**"
                vs_parallel = f"**{w['ratio_parallel']:.2f}**" if "ratio_parallel" in w else ""
            elif side == "limit":
                vs_single, vs_parallel = "1.00", ""
            else:
                who = f"{lanes_text(w)} psql at once"
                vs_single, vs_parallel = fmt(w["parallel_vs_limit"]), "1.00"
            p(f"| {LABEL.get(name, name)} | {who} | {fmt_int(w['records'])} | {w['json_mb']:.1f} | {sec:.2f} | "
              f"{fmt_int(w['records'] / sec)} | {w['json_mb'] / sec:.1f} | {vs_single} | {vs_parallel} | "
              f"{w[side + '_rss_kib'] / 1024:.0f} |")
    p()
    p("records/s and MB/s are the *input* records and JSON megabytes (10^6 bytes) over each side's wall time, so "
      "a reference's figures are what our write would reach at ratio 1.00. \"vs single\" is a side's time over the "
      "single reference's (one psql `\\copy ... (format binary)` of the rows our write left), \"vs parallel\" over "
      "the parallel reference's (the same rows cut into as many parts as our write had connections, each part "
      "`\\copy`ed by its own psql, all at once). Peak RSS is /usr/bin/time's maximum resident set: of "
      "`destination-postgres` for our write, of the largest psql for the references.")
    p()
    p("### Against the targets")
    p()
    p("| workload | vs single | target | | vs parallel | target | | peak RSS MiB | target | |")
    p("|---|---:|---:|---|---:|---:|---|---:|---:|---|")
    for name, w in s.items():
        rss = w["ours_rss_kib"] / 1024
        ratio_parallel = w.get("ratio_parallel", float("nan"))
        if name in BIG:
            # The record's line is held once as read and once as its COPY row; 160 MiB for the rest.
            rec_mib = w["json_mb"] * 1e6 / 1048576
            limit = 2 * rec_mib + 160
            p(f"| {LABEL[name]} | {w['ratio_limit']:.2f} | loads | {'met' if w['rows'] == 1 else 'MISSED'} | "
              f"{fmt(ratio_parallel)} | | | {rss:.0f} | ≤ 2 × {rec_mib:.0f} + 160 = {limit:.0f} | "
              f"{'met' if rss <= limit else 'MISSED'} ({rss / rec_mib:.1f}× the record) |")
            continue
        single_target, parallel_target = RATIO_TARGET.get(name, (None, None))
        extra = ""
        if name == "10m" and "1m" in s:
            extra = f" (as 1M; 1M here: {s['1m']['ratio_limit']:.2f})"
        p(f"| {LABEL.get(name, name)} | {w['ratio_limit']:.2f} | "
          f"{'≤ ' + fmt(single_target) if single_target else 'report'} | {verdict(w['ratio_limit'], single_target)}{extra} | "
          f"{fmt(ratio_parallel)} | {'≤ ' + fmt(parallel_target) if parallel_target else ''} | "
          f"{verdict(ratio_parallel, parallel_target)} | {rss:.0f} | ≤ {RSS_TARGET_MIB} | "
          f"{'met' if rss <= RSS_TARGET_MIB else 'MISSED'} |")
    p(f"| `spec` | | | | | | | | | {a.spec_ms} (target < 20 ms) |")
    p(f"| JSON parse only, 1M file | | | | | | | | | {a.encode or 'not measured'} |")
    if "overwrite" in s:
        w = s["overwrite"]
        p()
        p(f"Overwrite: the table's size after our write (heap, TOAST and indexes) is "
          f"{w['ours_table_bytes'] / 1e6:.1f} MB, freshly loaded by the single reference "
          f"{w['limit_table_bytes'] / 1e6:.1f} MB: **{fmt(w['size_ratio'])}×** (target ≤ {SIZE_TARGET:.2f}: "
          f"{verdict(w['size_ratio'], SIZE_TARGET)}). Its view and the grants to another role were still there.")
    p()
    p("### Where the time goes")
    p()
    p("CPU seconds (user + system) during each run, by process: the client (our process; or psql, all of "
      "them for the parallel reference), the server backends of the client's connections, the rest of the "
      "server (postmaster, checkpointer, WAL writer, autovacuum, other connections), and everything else on the "
      "machine (other users' work: noise); the most backends of the client's connections alive at one time; the "
      "1-minute load average as the run started; the WAL the run wrote.")
    p()
    p("| workload | run | wall s | client CPU s | its backends CPU s | rest of server CPU s | other CPU s | "
      "connections | load | WAL MB | rows |")
    p("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, w in s.items():
        for side, who in SIDES:
            if side not in w["sides"]:
                continue
            if side == "parallel":
                who = f"{lanes_text(w)} psql at once"
            p(f"| {LABEL.get(name, name)} | {who} | {w[side + '_seconds']:.2f} | {fmt(w[side + '_cpu_s'])} | "
              f"{fmt(w[side + '_backend_cpu_s'])} | {fmt(w[side + '_rest_cpu_s'])} | "
              f"{fmt(w[side + '_other_cpu_s'])} | {fmt(w[side + '_connections'], 0)} | {fmt(w[side + '_load1'])} | "
              f"{w[side + '_wal_bytes'] / 1e6:.0f} | {fmt_int(w['rows'])} |")
    cores_table(s, p)
    if any(w["reps"] > 1 for w in s.values()):
        p()
        p("Ratios per repetition (vs single / vs parallel): " + "; ".join(
            f"{LABEL.get(n, n)}: " + ", ".join(
                f"{a:.2f}/{b:.2f}" for a, b in zip(w["ratios_limit"], w.get("ratios_parallel", [float("nan")] * w["reps"])))
            for n, w in s.items()))
    dedups = [n for n in ("dedup", "8dedup", "ab-dedup") if n in s]
    if dedups:
        p()
        p("For append_dedup the references load the deduplicated rows our write left (" +
          "; ".join(f"{LABEL[n]}: {fmt_int(s[n]['rows'])} of {fmt_int(s[n]['records'])} records" for n in dedups) +
          "), into the same table with its key index.")
    if "dedup" in s and "dedup-history" in s:
        p()
        p(f"History mode costs {s['dedup-history']['ours_seconds'] / s['dedup']['ours_seconds']:.2f}x plain "
          "append_dedup (our write's seconds; the references do not load the history table).")
    if a.notes.strip("; "):
        p()
        p("Notes: " + a.notes.strip("; "))


if __name__ == "__main__":
    main()
