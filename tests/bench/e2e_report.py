#!/usr/bin/env python3
"""The figures of the end-to-end benchmark (e2e_bench.sh), from its raw files.

  e2e_report.py pgbench-log OUT.json LOG...   latency percentiles of pgbench
      per-transaction logs (-l) and the rate over the measured window.
  e2e_report.py report DIR                    DIR/raw.jsonl, DIR/kehu-load.jsonl,
      DIR/freshness.jsonl and DIR/machine.json -> DIR/results.json, DIR/table.md.

raw.jsonl holds one object per measured run: {"system", "figure", "value",
"unit", ...}; the report gives, per figure and system, the median, min and
max over the runs and the ratio of the medians. Standard library only.
"""
import json
import math
import os
import statistics
import sys


def percentile(sorted_values, q):
    """Nearest rank: the smallest value at least q of the values do not exceed."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(q * len(sorted_values)))
    return float(sorted_values[rank - 1])


def pgbench_log(out_path, paths):
    # Columns: client_id transaction_no time_us script_no epoch_s epoch_us
    # [schedule_lag_us]. With --rate, time_us runs from the transaction's
    # scheduled start, so it includes the schedule lag (open loop).
    latencies, lags, starts, failed = [], [], [], 0
    for path in paths:
        with open(path) as f:
            for line in f:
                cols = line.split()
                if len(cols) < 6:
                    continue
                if cols[2] in ("failed", "skipped"):
                    failed += 1
                    continue
                latencies.append(int(cols[2]))
                if len(cols) >= 7:
                    lags.append(int(cols[6]))
                starts.append(int(cols[4]) + int(cols[5]) / 1e6)
    latencies.sort()
    lags.sort()
    span = (max(starts) - min(starts)) if len(starts) > 1 else 0.0
    result = {
        "calls": len(latencies),
        "errors": failed,
        "achieved_rate": len(latencies) / span if span > 0 else 0.0,
        "p50_us": percentile(latencies, 0.5),
        "p99_us": percentile(latencies, 0.99),
        "p999_us": percentile(latencies, 0.999),
        "max_us": float(latencies[-1]) if latencies else 0.0,
        "schedule_lag_p99_us": percentile(lags, 0.99) if lags else None,
    }
    with open(out_path, "w") as f:
        json.dump(result, f)
    print(
        "pgbench: %d calls, %.0f/s, p50 %.0f p99 %.0f p999 %.0f max %.0f us%s"
        % (
            result["calls"],
            result["achieved_rate"],
            result["p50_us"],
            result["p99_us"],
            result["p999_us"],
            result["max_us"],
            ", %d failed" % failed if failed else "",
        )
    )


def read_jsonl(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def fmt(value, unit):
    if value is None:
        return "–"
    if unit == "events/s" or unit == "calls/s":
        return "{:,.0f}".format(value)
    if unit == "µs":
        return "{:,.0f}".format(value) if value >= 100 else "{:.1f}".format(value)
    if unit == "MiB":
        return "{:,.0f}".format(value)
    if unit == "s":
        return "{:.2f}".format(value)
    return "{:g}".format(value)


def spread(values, unit):
    if len(values) < 2:
        return ""
    return " ({}–{})".format(fmt(min(values), unit), fmt(max(values), unit))


# The order of the table and whether higher is better (for the ratio).
FIGURES = [
    ("ingest_events_per_s", "durable ingest (kehu: gRPC, embedded log; PostgreSQL: COPY)", "events/s", True),
    ("fold_events_per_s", "fold all projections (kehu: replay; PostgreSQL: customer view SQL)", "events/s", True),
    ("fold_10m_events_per_s", "replay at scale (replay_bench.sh, the log in the heading)", "events/s", True),
    ("replay_10m_peak_rss_mib", "peak RSS of that replay", "MiB", False),
    ("events_to_segments_s", "events → up-to-date segments (ingest + fold + fit / COPY + SQL)", "s", False),
    ("freshness_p50_us", "freshness: ack → visible in GetCustomer, p50", "µs", False),
    ("freshness_p99_us", "freshness: ack → visible in GetCustomer, p99", "µs", False),
    ("serve_peak_rss_after_fit_mib", "peak RSS of the server after ingest and fit", "MiB", False),
    ("serve_peak_rss_mib", "peak RSS of the server at the end (after the overload runs)", "MiB", False),
]


def report(directory):
    machine = json.load(open(os.path.join(directory, "machine.json")))
    raw = read_jsonl(os.path.join(directory, "raw.jsonl"))
    loads = read_jsonl(os.path.join(directory, "kehu-load.jsonl"))
    fresh = read_jsonl(os.path.join(directory, "freshness.jsonl"))

    # Latency benchmarks become raw rows too: kehu-query-load's medians are
    # over its own runs; its runs are kept in the JSON.
    for load in loads:
        for run in load.get("runs", []):
            values = {"ok_rate": run.get("ok_rate")}
            for q in ("p50", "p99", "p999"):
                values[q + "_us"] = run.get("latency_us", {}).get(q)
            for key, value in values.items():
                raw.append({"system": "kehu", "workload": "simulated",
                            "figure": "%s_%s" % (load["label"], key), "value": value})
    for f in fresh:
        for run in f.get("runs", []):
            raw.append({"system": "kehu", "workload": "simulated", "figure": "freshness_p50_us",
                        "value": run["ack_to_visible"]["p50_us"], "unit": "µs"})
            raw.append({"system": "kehu", "workload": "simulated", "figure": "freshness_p99_us",
                        "value": run["ack_to_visible"]["p99_us"], "unit": "µs"})
            raw.append({"system": "kehu", "workload": "simulated", "figure": "freshness_p999_us",
                        "value": run["ack_to_visible"]["p999_us"], "unit": "µs"})
            raw.append({"system": "kehu", "workload": "simulated", "figure": "ingest_ack_p99_us",
                        "value": run["send_to_ack"]["p99_us"], "unit": "µs"})

    groups = {}
    for row in raw:
        key = (row.get("workload", "simulated"), row["figure"], row["system"])
        groups.setdefault(key, []).append(row["value"])
    summary = []
    for (workload, figure, system), values in sorted(groups.items()):
        values = [v for v in values if v is not None]
        if not values:
            continue
        summary.append({"workload": workload, "figure": figure, "system": system,
                        "runs": len(values), "median": statistics.median(values),
                        "min": min(values), "max": max(values), "values": values})
    results = {"benchmark": "e2e", "machine": machine, "figures": summary,
               "raw": raw, "query_load": loads, "freshness": fresh}
    with open(os.path.join(directory, "results.json"), "w") as f:
        json.dump(results, f, indent=1, ensure_ascii=False)

    def get(workload, figure, system):
        for s in summary:
            if (s["workload"], s["figure"], s["system"]) == (workload, figure, system):
                return s
        return None

    lines = []
    m = machine
    lines.append("Measured %s (commit %s) on %s: %s cores (%s), %s GiB, %s, kernel %s; "
                 "%s; load average %s at the start, %s at the end. Default scale: "
                 "%s simulated customers (%s events), %s run(s) of each figure; Online Retail %s; "
                 "replay at scale: %s."
                 % (m.get("finished_at", m.get("started_at")), m.get("commit"),
                    m.get("host", "this machine"), m.get("cpus"), m.get("cpu_model"),
                    m.get("memory_gib"), m.get("os"), m.get("kernel"),
                    m.get("postgres_version"), m.get("loadavg_start"), m.get("loadavg_end"),
                    m.get("customers"), m.get("events"), m.get("runs"),
                    m.get("online_retail", "skipped"), m.get("replay_scale", "skipped")))
    lines.append("")
    lines.append("Median of the runs (min–max in brackets).")
    lines.append("")
    lines.append("Ratio: kehu's median over PostgreSQL's; for times and latencies above 1 means kehu is slower.")
    lines.append("")
    lines.append("| workload | figure | kehu | PostgreSQL | kehu ÷ PostgreSQL |")
    lines.append("|---|---|--:|--:|--:|")

    def row(workload, figure, title, unit, higher_better):
        k = get(workload, figure, "kehu")
        p = get(workload, figure, "postgres")
        if k is None and p is None:
            return
        ratio = ""
        if k and p and p["median"]:
            r = k["median"] / p["median"]
            ratio = "{:.2f}×".format(r) if r < 100 else "{:,.0f}×".format(r)
        cell = lambda s: "–" if s is None else fmt(s["median"], unit) + spread(s["values"], unit)
        lines.append("| %s | %s (%s) | %s | %s | %s |" % (workload, title, unit, cell(k), cell(p), ratio))

    for workload in ("simulated", "online_retail"):
        for figure, title, unit, better in FIGURES:
            row(workload, figure, title, unit, better)
        for label, title in (("get_rate", "GetCustomer at %s/s" % m.get("get_rate")),
                             ("get_saturation", "GetCustomer at saturation, %s outstanding" % m.get("connections")),
                             ("list_rate", "ListCustomers tier key, page 100, at %s/s" % m.get("list_rate")),
                             ("list_saturation", "ListCustomers at saturation, %s outstanding" % m.get("connections"))):
            for q in ("p50_us", "p99_us", "p999_us"):
                row(workload, "%s_%s" % (label, q), "%s %s" % (title, q.split("_")[0]), "µs", False)
            row(workload, "%s_ok_rate" % label, "%s achieved" % title, "calls/s", True)
        for figure, title in (("key_tier_customers", "pyramid key customers"),
                              ("pareto_key_customers", "Pareto 80% set"),
                              ("potential_tier_customers", "pyramid potential customers")):
            k = get(workload, figure, "kehu")
            p = get(workload, figure, "postgres")
            if k or p:
                lines.append("| %s | %s (customers; same figure expected) | %s | %s | %s |" % (
                    workload, title, fmt(k["median"], "") if k else "–",
                    fmt(p["median"], "") if p else "–",
                    "equal" if k and p and k["median"] == p["median"] else "differ"))
    with open(os.path.join(directory, "table.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


def main(argv):
    if len(argv) >= 3 and argv[1] == "pgbench-log":
        pgbench_log(argv[2], argv[3:])
    elif len(argv) == 3 and argv[1] == "report":
        report(argv[2])
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
