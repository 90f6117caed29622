#!/usr/bin/env python3
"""Turn the JSON that each benchmark wrote into one table, each figure beside its
target and its same-run baseline. Usage: bench/report.py RESULTS_DIR"""
import json
import os
import sys


def load(d, name):
    try:
        with open(os.path.join(d, name + ".json")) as f:
            text = f.read().strip()
        try:
            return [json.loads(text)]
        except json.JSONDecodeError:
            pass
        # A benchmark may print several JSON documents (one per line); keep them all.
        docs = []
        for line in text.splitlines():
            line = line.strip()
            if line.startswith("{") or line.startswith("["):
                try:
                    docs.append(json.loads(line))
                except json.JSONDecodeError:
                    pass
        if not docs and text:
            docs = [json.loads(text)]
        return docs
    except (OSError, json.JSONDecodeError) as e:
        return [{"error": str(e)}]


def row(what, value, target, met):
    mark = "" if met is None else ("met" if met else "NOT met")
    print(f"| {what} | {value} | {target} | {mark} |")


def main():
    d = sys.argv[1]
    print("| benchmark | figure | target | |")
    print("|---|---|---|---|")
    for doc in load(d, "ingest"):
        if "error" in doc:
            row("ingest", doc["error"], "", None)
            continue
        row("ingest (verify+store+view)", f'{doc["ingest_per_s"]:,} events/s', "", None)
        row("raw verify, 1 core / 2 cores",
            f'{doc["verify_1core_per_s"]:,} / {doc["verify_2core_per_s"]:,} /s', "baseline", None)
        r = doc["ratio_2core"]
        row("ingest / 2-core verify", f"{r:.2f}", ">= 0.8", r >= 0.8)
    for doc in load(d, "transfer"):
        if "error" in doc:
            row("transfer", doc["error"], "", None)
            continue
        v = doc["transfer_events_per_s"]
        row("transfer end to end (loopback)", f"{v:,} events/s", ">= 25,000", v >= 25000)
        row("bundle import", f'{doc["import_events_per_s"]:,} events/s', "", None)
        row("database bytes per event", doc["db_bytes_per_event"], "", None)
    for doc in load(d, "recon"):
        if isinstance(doc, dict) and "error" in doc:
            row("reconciliation", doc["error"], "", None)
            continue
        for c in doc if isinstance(doc, list) else [doc]:
            n, dd, rt = c["n"], c["d"], c["round_trips"]
            where = f'n={n:,} d={dd:,}' + (f' {c["placement"]}' if dd else "")
            if dd == 0:
                b = c["recon_bytes"]
                row(f"recon {where}", f"{b} B, {rt} RT", "<= 64 B, 1 RT", b <= 64 and rt == 1)
                continue
            per = c["bytes_per_diff"]
            ok = c["ok"] and per <= 100 and (dd > 10000 or rt <= 3)
            row(f"recon {where}", f'{per} B/diff ({c["floor_ratio"]}x floor), {rt} RT',
                "<= 100 B/diff" + (", <= 3 RT" if dd <= 10000 else ""), ok)
    for doc in load(d, "gossip"):
        if "error" in doc:
            row("gossip simulated", doc["error"], "", None)
            continue
        sim = doc["gossip_sim"]
        for c in sim["cases"]:
            what = (f'gossip sim {c["nodes"]:,} nodes' +
                    (f', {c["drop"]:.0%} contacts fail' if c["drop"] else "") +
                    ("" if c["push"] else ", no push"))
            target = 11 if c["drop"] else 7
            ok = c["converged"] and c["verified"]
            if not ok:
                row(what, "did not converge" if not c["converged"] else "contents differ",
                    f"<= {target} periods", False)
                continue
            row(what, f'{c["periods_mean"]:.2f} periods after heal (worst {c["periods_worst"]:.2f}); '
                f'/ log2(n) = {c["ratio_mean"]:.2f} (worst {c["ratio_worst"]:.2f}); '
                f'{c["bytes_per_node_mean"]:,.0f} B/node',
                f"<= {target} periods", c["periods_worst"] <= target)
    for doc in load(d, "converge"):
        if "error" in doc:
            row("convergence", doc["error"], "", None)
            continue
        for c in doc.get("convergence", []):
            what = (f'converge {c["nodes"]} nodes' + (f', {c["drop"]:.0%} contacts fail' if c["drop"] else "")
                    + ("" if c["push"] else ", no push"))
            target = 11 if c["drop"] else 7
            per = c["periods"]
            row(what, f'{per:.2f} periods after heal (worst {c.get("periods_worst", per):.2f}), '
                f'{c["heal_to_equal_s"]:.2f} s, {c["bytes_sent_per_node_after_heal_mean"]:,} B/node, '
                f'RSS {c["rss_kb_mean"] / 1024:.1f} MB/node',
                f"<= {target} periods", c["converged"] and c.get("periods_worst", per) <= target)
        big = doc.get("large")
        if big:
            ready = max(big["ready_s"])
            row(f'{big["events"]:,}-event node: start to ready', f"{ready:.2f} s", "<= 1 s", ready <= 1)
            hwm = big["server_hwm_kb"] / 1024
            row("  serving an empty peer: VmHWM", f"{hwm:.0f} MB ({big['events_per_s']:,} events/s)",
                "<= 64 MB", hwm <= 64 and big["sync_finished"])
            row("  database bytes per event", f'{big["db_bytes"] / big["events"]:.0f}', "", None)
        g = doc.get("goodput")
        if g:
            row(f'goodput over {g["rate_kbit"]} kbit/s ({g["events"]:,} events)',
                f'{g["goodput"]:.1%} of the link', ">= 90%", g["goodput"] >= 0.9)
        for plain, comp, what in (("goodput", "goodput_zstd", "bench text"),
                                  ("goodput_prose", "goodput_prose_zstd", "prose")):
            g, gz = doc.get(plain), doc.get(comp)
            if g and gz and "ratio_to_uncompressed" in gz:
                row(f'compressed over {gz["rate_kbit"]} kbit/s ({what}): events/min',
                    f'{gz["events_per_minute"]:,.0f} vs {g["events_per_minute"]:,.0f}: '
                    f'{gz["ratio_to_uncompressed"]:.2f}x', ">= 1.8x",
                    gz["ratio_to_uncompressed"] >= 1.8)


if __name__ == "__main__":
    main()
