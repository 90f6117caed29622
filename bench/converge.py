#!/usr/bin/env python3
"""converge.py - gossip benchmarks with real `hearth serve` processes (bench/converge.sh).

1. Convergence after a partition heals. N nodes on loopback in a random graph of mean
   degree about 3, split into two halves: each half is a connected random graph and
   the edges between halves are left out at the start. Posts are made at random nodes
   of both halves while they are apart; then the cross edges are added with
   `hearth peers add` (a running node reads its peer list every second) and the
   clock runs from the last add until every view digest is equal. Reported in seconds
   and in anti-entropy periods, with bytes sent per node (the node's own counters in
   its status) and resident memory per node (VmRSS). Variants: 30% of contacts
   failing (HEARTH_TEST_DROP=0.3: each anti-entropy session attempt and each push
   fails at random), and anti-entropy alone (HEARTH_TEST_NO_PUSH=1).
2. A large replica: start-to-ready time of `hearth serve`, and its resident memory
   while an empty node syncs everything from it.
3. Goodput over a 64 kbit/s token-bucket link between two network namespaces: event
   bytes delivered per second over the link rate (needs root; skipped otherwise).
"""
import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor


class Bench:
    def __init__(self, build, work, log):
        self.hearth = os.path.join(build, "hearth")
        self.gen = os.path.join(build, "bench_genbundle")
        self.work = work
        self.log = log
        self.procs = []
        self.pool = ThreadPoolExecutor(max_workers=16)

    def say(self, *a):
        print(*a, file=self.log, flush=True)

    def h(self, d, *args, env=None, check=True):
        r = subprocess.run([self.hearth, "-d", d, *args], capture_output=True, text=True,
                           env=env)
        if check and r.returncode != 0:
            raise RuntimeError("hearth %s: %s" % (" ".join(args), r.stderr.strip()))
        return r.stdout

    def hj(self, d, *args):
        return json.loads(self.h(d, "--json", *args))

    def status(self, d):
        try:
            return self.hj(d, "status")
        except Exception:  # a replica busy for a moment
            return None

    def digests(self, dirs):
        return list(self.pool.map(lambda d: (self.status(d) or {}).get("view_digest"), dirs))

    def all_equal(self, dirs):
        ds = self.digests(dirs)
        return None not in ds and len(set(ds)) == 1

    def serve(self, d, port, *extra, env=None, ns=None, host="127.0.0.1"):
        logf = open(os.path.join(d + ".log"), "a")
        start = logf.tell()
        pre = ["ip", "netns", "exec", ns] if ns else []
        p = subprocess.Popen(pre + [self.hearth, "-d", d, "serve", "--listen",
                                    "tcp://%s:%d" % (host, port), "--no-web", *extra],
                             stdout=logf, stderr=subprocess.STDOUT, env=env)
        p.logpath = logf.name
        p.logstart = start
        self.procs.append(p)
        return p

    def wait_ready(self, p, timeout=30):
        end = time.time() + timeout
        while time.time() < end:
            with open(p.logpath) as f:
                f.seek(p.logstart)
                if " ready, listening" in f.read():
                    return
            if p.poll() is not None:
                raise RuntimeError("node exited: %s" % p.logpath)
            time.sleep(0.01)
        raise RuntimeError("node not ready: %s" % p.logpath)

    def stop_all(self):
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        self.procs = []


PORT_DIR = os.environ.get("HEARTH_PORT_DIR", "/tmp/hearth-ports")


def free_ports(n):
    """n ports for nodes to listen on, as tests/common.sh picks them: below the ephemeral
    range (a port bound and closed there can be handed to any outgoing connection
    before the node binds it), each claimed under PORT_DIR for this process until it
    exits, so that tests and benchmarks running at once never share one."""
    import atexit
    import socket
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            first = int(f.read().split()[0])
    except (OSError, ValueError):
        first = 32768
    os.makedirs(PORT_DIR, exist_ok=True)
    ports = []
    for _ in range(500 * n):
        if len(ports) == n:
            break
        p = random.randrange(10000, first)
        claim = os.path.join(PORT_DIR, str(p))
        try:
            os.mkdir(claim)
        except FileExistsError:
            try:
                owner = int(open(os.path.join(claim, "pid")).read())
                os.kill(owner, 0)
            except ProcessLookupError:
                shutil.rmtree(claim, ignore_errors=True)  # stale
            except (OSError, ValueError):
                pass  # being claimed or released now
            continue
        with open(os.path.join(claim, "pid"), "w") as f:
            f.write("%d\n" % os.getpid())
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", p))
        except OSError:
            shutil.rmtree(claim, ignore_errors=True)
            continue
        finally:
            s.close()
        atexit.register(shutil.rmtree, claim, True)
        ports.append(p)
    if len(ports) < n:
        raise RuntimeError("no free ports")
    return ports


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def hwm_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def connected_graph(nodes, degree, rnd):
    """Edges (a, b) of a connected random graph on `nodes` with mean degree ~degree."""
    order = list(nodes)
    rnd.shuffle(order)
    edges = set()
    for k in range(1, len(order)):
        a, b = order[k], order[rnd.randrange(k)]
        edges.add((min(a, b), max(a, b)))
    want = max(len(order) - 1, round(len(order) * degree / 2))
    while len(edges) < min(want, len(order) * (len(order) - 1) // 2):
        a, b = rnd.sample(order, 2)
        edges.add((min(a, b), max(a, b)))
    return edges


def partition_run(b, n, period, drop, push, posts_per_side, seed, timeout):
    """One partition-and-heal run; returns a dict of results."""
    rnd = random.Random(seed)
    work = tempfile.mkdtemp(prefix="conv-%d-" % n, dir=b.work)
    dirs = [os.path.join(work, "n%d" % i) for i in range(n)]
    bundle = os.path.join(work, "forum.bundle")
    fid = subprocess.run([b.gen, "--events", "10", "--seed", str(seed), bundle],
                         capture_output=True, text=True, check=True).stdout.strip()

    def prepare(d):
        b.h(d, "init", "--join", fid)
        b.h(d, "import", bundle)
        return b.hj(d, "id")["node_key"]

    keys = list(b.pool.map(prepare, dirs))
    ports = free_ports(n)
    half = n // 2
    left, right = list(range(half)), list(range(half, n))
    # Each half a connected graph of mean degree ~2.5; about n/4 edges across, so the
    # whole graph has a mean degree of about 3.
    inner = connected_graph(left, 2.5, rnd) | connected_graph(right, 2.5, rnd)
    cross = set()
    while len(cross) < max(2, n // 4):
        cross.add((rnd.choice(left), rnd.choice(right)))

    def add_edge(e):
        a, c = e if rnd.random() < 0.5 else (e[1], e[0])
        b.h(dirs[a], "peers", "add", "hearth://%s@127.0.0.1:%d" % (keys[c], ports[c]))

    for e in sorted(inner):
        add_edge(e)
    env = dict(os.environ)
    env.pop("HEARTH_TEST_DROP", None)
    env.pop("HEARTH_TEST_NO_PUSH", None)
    if drop:
        env["HEARTH_TEST_DROP"] = str(drop)
    if not push:
        env["HEARTH_TEST_NO_PUSH"] = "1"
    procs = [b.serve(d, ports[i], "--no-discovery", "--interval", str(period), env=env)
             for i, d in enumerate(dirs)]
    for p in procs:
        b.wait_ready(p)
    # Posts on both sides while apart.
    ids = []
    for k in range(posts_per_side):
        for side in (left, right):
            i = rnd.choice(side)
            out = b.hj(dirs[i], "post", "general", "--title", "post %d at n%d" % (k, i),
                       "--body", "written while the halves were apart")
            ids.append(out["event"])
    t0 = time.time()
    apart = False
    while time.time() - t0 < timeout:
        if b.all_equal([dirs[i] for i in left]) and b.all_equal([dirs[i] for i in right]):
            apart = True
            break
    halves_s = time.time() - t0
    time.sleep(2.5)  # the nodes write their counters every 2 s
    before = [(b.status(d) or {}).get("node") or {} for d in dirs]
    # Heal: the cross edges appear.
    for e in sorted(cross):
        add_edge(e)
    t_heal = time.time()
    polls, converged, t_eq, poll_s = 0, False, None, []
    while time.time() - t_heal < timeout:
        t = time.time()
        eq = b.all_equal(dirs)
        poll_s.append(time.time() - t)
        polls += 1
        if eq:
            converged, t_eq = True, time.time()
            break
    took = (t_eq - t_heal) if converged else None
    time.sleep(2.5)
    after = [(b.status(d) or {}).get("node") or {} for d in dirs]
    rss = [rss_kb(p.pid) for p in procs]
    sent = [a.get("bytes_sent", 0) - x.get("bytes_sent", 0) for a, x in zip(after, before)]
    total_sent = [a.get("bytes_sent", 0) for a in after]
    failed = sum(a.get("sessions_failed", 0) for a in after)
    sessions = sum(a.get("sessions", 0) for a in after)
    diag = None
    if not converged:
        # Leave the evidence: which digests, how many events, where the logs are.
        sts = [b.status(d) or {} for d in dirs]
        diag = {"work": work,
                "digests": sorted(set(st.get("view_digest", "?")[:12] for st in sts)),
                "events": [st.get("events") for st in sts],
                "pending": [st.get("pending") for st in sts]}
        b.say("  did not converge: %s" % json.dumps(diag))
    b.stop_all()
    res = {
        "nodes": n,
        "edges": len(inner) + len(cross),
        "cross_edges": len(cross),
        "period_s": period,
        "drop": drop,
        "push": push,
        "posts": len(ids),
        "halves_converged_s": round(halves_s, 2) if apart else None,
        "converged": converged,
        "heal_to_equal_s": round(took, 2) if took is not None else None,
        "periods": round(took / period, 2) if took is not None else None,
        "poll_s": round(sum(poll_s) / len(poll_s), 2),
        "bytes_sent_per_node_after_heal_mean": round(sum(sent) / n),
        "bytes_sent_per_node_after_heal_max": max(sent),
        "bytes_sent_per_node_total_mean": round(sum(total_sent) / n),
        "sessions": sessions,
        "sessions_failed": failed,
        "rss_kb_mean": round(sum(rss) / n),
        "rss_kb_max": max(rss),
    }
    if diag:
        res["diagnosis"] = diag
    else:
        shutil.rmtree(work, ignore_errors=True)
    return res


def large_run(b, events, seconds):
    """Start-to-ready of a node holding `events` events, and its memory while an empty
    node syncs from it (for at most `seconds`)."""
    work = tempfile.mkdtemp(prefix="large-", dir=b.work)
    big, empty = os.path.join(work, "big"), os.path.join(work, "empty")
    bundle = os.path.join(work, "big.bundle")
    t = time.time()
    fid = subprocess.run([b.gen, "--events", str(events), "--seed", "31", bundle],
                         capture_output=True, text=True, check=True).stdout.strip()
    gen_s = time.time() - t
    b.h(big, "init", "--join", fid)
    t = time.time()
    b.h(big, "import", bundle)
    import_s = time.time() - t
    os.unlink(bundle)
    held = b.hj(big, "status")["events"]
    db_bytes = os.path.getsize(os.path.join(big, "hearth.db"))
    b.h(empty, "init", "--join", fid)
    port = free_ports(1)[0]
    ready = []
    for _ in range(3):
        t = time.time()
        p = b.serve(big, port, "--no-discovery", "--interval", "3600")
        b.wait_ready(p, timeout=120)
        ready.append(time.time() - t)
        time.sleep(0.5)
        ready_rss = rss_kb(p.pid)
        b.stop_all()
    p = b.serve(big, port, "--no-discovery", "--interval", "3600")
    b.wait_ready(p, timeout=120)
    key = b.hj(big, "id")["node_key"]
    t = time.time()
    sync = subprocess.Popen([b.hearth, "-d", empty, "--json", "sync", "--timeout", "120",
                             "hearth://%s@127.0.0.1:%d" % (key, port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak, client_peak = 0, 0
    while sync.poll() is None and time.time() - t < seconds:
        peak = max(peak, rss_kb(p.pid))
        client_peak = max(client_peak, hwm_kb(sync.pid))
        time.sleep(0.2)
    finished = sync.poll() is not None
    elapsed = time.time() - t
    if not finished:
        sync.send_signal(signal.SIGTERM)
        sync.wait()
    out, _ = sync.communicate()
    server_hwm = hwm_kb(p.pid)
    b.stop_all()
    got = b.hj(empty, "status")["events"]
    res = {
        "events": held,
        "db_bytes": db_bytes,
        "generate_s": round(gen_s, 1),
        "import_s": round(import_s, 1),
        "ready_s": [round(x, 3) for x in ready],
        "rss_kb_ready": ready_rss,
        "sync_seconds": round(elapsed, 1),
        "sync_finished": finished,
        "events_sent": got,
        "events_per_s": round(got / elapsed) if elapsed else None,
        "server_rss_kb_peak_sampled": peak,
        "server_hwm_kb": server_hwm,
        "receiver_hwm_kb": client_peak,
    }
    shutil.rmtree(work, ignore_errors=True)
    return res


def netns_ok():
    name = "hgp%d" % os.getpid()
    r = subprocess.run(["ip", "netns", "add", name], capture_output=True)
    if r.returncode != 0:
        return False
    subprocess.run(["ip", "netns", "del", name], capture_output=True)
    return True


def goodput_run(b, events, rate_kbit, compat=None, text=None):
    """Event bytes per second over a tbf-limited veth, as a share of the link rate.
    compat: HEARTH_SYNC_COMPAT for both nodes ("no-compress": events travel as they did
    before compressed transfer); text: a file whose prose makes the bodies."""
    if not netns_ok():
        return {"skipped": "cannot create network namespaces"}
    work = tempfile.mkdtemp(prefix="goodput-", dir=b.work)
    pre = "hgp%d%s%s" % (os.getpid(), "n" if compat else "", "t" if text else "")
    env = dict(os.environ)
    env.pop("HEARTH_SYNC_COMPAT", None)
    if compat:
        env["HEARTH_SYNC_COMPAT"] = compat
    nss = [pre + "s", pre + "r"]
    run = lambda *a: subprocess.run(a, check=True, capture_output=True)
    try:
        for ns in nss:
            run("ip", "netns", "add", ns)
        run("ip", "link", "add", "v" + pre + "s", "type", "veth", "peer", "name",
            "v" + pre + "r")
        for k, ns in enumerate(nss):
            dev = "v" + ns
            run("ip", "link", "set", dev, "netns", ns)
            run("ip", "-n", ns, "addr", "add", "10.76.0.%d/24" % (k + 1), "dev", dev)
            run("ip", "-n", ns, "link", "set", dev, "up")
            run("ip", "-n", ns, "link", "set", "lo", "up")
            run("ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", dev, "root", "tbf",
                "rate", "%dkbit" % rate_kbit, "burst", "16kbit", "latency", "400ms")
        src, dst = os.path.join(work, "src"), os.path.join(work, "dst")
        bundle = os.path.join(work, "g.bundle")
        fid = subprocess.run([b.gen, "--events", str(events), "--seed", "41", bundle,
                              *(["--text", text] if text else [])],
                             capture_output=True, text=True, check=True).stdout.strip()
        b.h(src, "init", "--join", fid)
        b.h(src, "import", bundle)
        b.h(dst, "init", "--join", fid)
        p = b.serve(src, 7437, "--no-discovery", "--interval", "3600", ns=nss[0],
                    host="10.76.0.1", env=env)
        b.wait_ready(p)
        key = b.hj(src, "id")["node_key"]
        t = time.time()
        r = subprocess.run(["ip", "netns", "exec", nss[1], b.hearth, "-d", dst, "--json", "sync",
                            "--timeout", "120", "hearth://%s@10.76.0.1:7437" % key],
                           capture_output=True, text=True, env=env)
        wall = time.time() - t
        b.stop_all()
        if r.returncode != 0:
            return {"error": r.stderr.strip()}
        s = json.loads(r.stdout)
        import sqlite3
        db = sqlite3.connect(os.path.join(dst, "hearth.db"))
        # Envelope bytes (docs/EVENTS.md, "The envelope"): array(3) [header: bin,
        # sig: bin(64), body: bin | nil], an event as it travels and is stored.
        binlen = lambda n: n + (2 if n < 256 else 3 if n < 65536 else 5)
        payload = sum(1 + binlen(h) + binlen(sg) + (binlen(b) if b is not None else 1)
                      for h, sg, b in db.execute("select length(header), length(sig), "
                                                  "length(body) from events"))
        secs = s["milliseconds"] / 1000
        link = rate_kbit * 1000 / 8
        return {
            "rate_kbit": rate_kbit,
            "compressed": not compat,
            "events": s["events_accepted"],
            "events_per_minute": round(s["events_accepted"] / secs * 60, 1),
            "event_bytes": payload,
            "message_bytes": s["bytes_received"],
            "seconds": round(secs, 2),
            "wall_seconds": round(wall, 2),
            "goodput": round(payload / secs / link, 3),
            "goodput_wall": round(payload / wall / link, 3),
            "message_goodput": round(s["bytes_received"] / secs / link, 3),
        }
    finally:
        b.stop_all()
        for ns in nss:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


def summarise(rs):
    """One case's runs: the median run's figures, with every run's times and the worst."""
    ok = [r for r in rs if r["converged"]]
    ok.sort(key=lambda r: r["heal_to_equal_s"])
    med = dict(ok[len(ok) // 2] if ok else rs[0])
    med["runs"] = len(rs)
    med["converged"] = len(ok) == len(rs)
    med["heal_to_equal_s_all"] = [r["heal_to_equal_s"] for r in rs]
    med["periods_worst"] = max(r["periods"] for r in ok) if med["converged"] else None
    return med


def table(res, out):
    print("%-44s %7s %8s %8s %7s %9s %10s %7s" % (
        "convergence after the heal (median run)", "time s", "periods", "worst", "target",
        "B/node", "B/node all", "RSS MB"), file=out)
    for r in res["convergence"]:
        name = "%d nodes, P=%ds, %s%s" % (r["nodes"], r["period_s"],
                                         "%d%% contacts fail" % round(r["drop"] * 100)
                                         if r["drop"] else "no failures",
                                         "" if r["push"] else ", no push")
        target = 11 if r["drop"] else 7
        print("%-44s %7s %8s %8s %7s %9d %10d %7.1f" % (
            name, r["heal_to_equal_s"] if r["converged"] else "NO",
            r["periods"] if r["converged"] else "-",
            r.get("periods_worst", r["periods"]) if r["converged"] else "-", "<=%d" % target,
            r["bytes_sent_per_node_after_heal_mean"], r["bytes_sent_per_node_total_mean"],
            r["rss_kb_max"] / 1024), file=out)
    lg = res.get("large")
    if lg:
        print("\nlarge replica: %d events (%.0f MB database)" % (lg["events"],
                                                                lg["db_bytes"] / 1e6), file=out)
        print("  start to ready: %s s (target <= 1 s)" % ", ".join(map(str, lg["ready_s"])),
              file=out)
        print("  serving node memory while syncing: peak sampled RSS %.1f MB, VmHWM %.1f MB "
              "(target <= 64 MB)" % (lg["server_rss_kb_peak_sampled"] / 1024,
                                     lg["server_hwm_kb"] / 1024), file=out)
        print("  sync to an empty node: %d events in %.1f s (%s), receiver VmHWM %.1f MB" % (
            lg["events_sent"], lg["sync_seconds"],
            "finished" if lg["sync_finished"] else "stopped there", lg["receiver_hwm_kb"] / 1024),
            file=out)
    gp = res.get("goodput")
    if gp:
        if "goodput" in gp:
            print("\ngoodput over %d kbit/s: %d events, %d event bytes in %.1f s: %.1f%% of the "
                  "link (target >= 90%%); all sync messages %.1f%%" % (
                      gp["rate_kbit"], gp["events"], gp["event_bytes"], gp["seconds"],
                      gp["goodput"] * 100, gp["message_goodput"] * 100), file=out)
        else:
            print("\ngoodput: %s" % (gp.get("skipped") or gp.get("error")), file=out)
    for plain, comp, what in (("goodput", "goodput_zstd", "bench text"),
                              ("goodput_prose", "goodput_prose_zstd", "prose")):
        gp, gz = res.get(plain), res.get(comp)
        if gz and "ratio_to_uncompressed" in gz:
            print("compressed over %d kbit/s (%s): %d events in %.1f s, %.0f events/min "
                  "against %.0f uncompressed: %.2fx (target >= 1.8x)" % (
                      gz["rate_kbit"], what, gz["events"], gz["seconds"],
                      gz["events_per_minute"], gp["events_per_minute"],
                      gz["ratio_to_uncompressed"]), file=out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--sizes", default=None, help="node counts, e.g. 10,50")
    ap.add_argument("--period", type=int, default=None)
    ap.add_argument("--posts", type=int, default=None, help="posts per side")
    ap.add_argument("--large", type=int, default=None, help="events in the large replica (0: skip)")
    ap.add_argument("--large-seconds", type=int, default=300)
    ap.add_argument("--goodput-events", type=int, default=None, help="0: skip")
    ap.add_argument("--goodput-only", action="store_true",
                    help="only the thin-link runs (uncompressed, then compressed)")
    ap.add_argument("--no-push-runs", action="store_true",
                    help="also measure anti-entropy alone (HEARTH_TEST_NO_PUSH=1)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=None,
                    help="runs of each convergence case (other graphs and posts); "
                         "the table shows the median and the worst")
    a = ap.parse_args()
    quick = a.quick
    sizes = [int(x) for x in (a.sizes or ("6" if quick else "10,50")).split(",") if int(x) > 0]
    if a.goodput_only:
        sizes = []
    period = a.period or (1 if quick else 2)
    posts = a.posts or (2 if quick else 10)
    large = a.large if a.large is not None else (2000 if quick else 1000000)
    if a.goodput_only:
        large = 0
    gp_events = a.goodput_events if a.goodput_events is not None else (0 if quick else 1000)
    timeout = 30 if quick else 120
    repeat = a.repeat or (1 if quick else 3)
    workroot = tempfile.mkdtemp(prefix="hearth-bench-converge.")
    b = Bench(os.path.abspath(a.build), workroot, sys.stderr)
    res = {"convergence": []}
    try:
        runs = [(0.0, True), (0.3, True)]
        if a.no_push_runs:
            runs += [(0.0, False), (0.3, False)]
        for n in sizes:
            for drop, push in runs:
                rs = []
                for k in range(repeat):
                    b.say("converge: %d nodes, drop %.1f, push %s, run %d..." % (n, drop, push, k + 1))
                    r = partition_run(b, n, period, drop, push, posts, a.seed + 1000 * k + n,
                                      timeout)
                    b.say("  %s" % json.dumps(r))
                    rs.append(r)
                res["convergence"].append(summarise(rs))
        if large:
            b.say("large replica: %d events..." % large)
            res["large"] = large_run(b, large, a.large_seconds)
            b.say("  %s" % json.dumps(res["large"]))
        if gp_events:
            b.say("goodput: %d events over 64 kbit/s..." % gp_events)
            res["goodput"] = goodput_run(b, gp_events, 64, compat="no-compress")
            b.say("  %s" % json.dumps(res["goodput"]))
            b.say("goodput: %d events over 64 kbit/s, compressed..." % gp_events)
            res["goodput_zstd"] = goodput_run(b, gp_events, 64)
            b.say("  %s" % json.dumps(res["goodput_zstd"]))
            # The same with prose bodies (the bench forum's are a periodic run of
            # letters): Python's own documentation, English text that ships with it.
            prose = os.path.join(workroot, "prose.txt")
            import pydoc_data.topics
            with open(prose, "w") as f:
                f.write("\n".join(pydoc_data.topics.topics[k]
                                  for k in sorted(pydoc_data.topics.topics)))
            for key, compat in (("goodput_prose", "no-compress"), ("goodput_prose_zstd", None)):
                b.say("goodput: %d events of prose over 64 kbit/s, %s..." %
                      (gp_events, "plain" if compat else "compressed"))
                res[key] = goodput_run(b, gp_events, 64, compat=compat, text=prose)
                b.say("  %s" % json.dumps(res[key]))
            for u, z in ((res["goodput"], res["goodput_zstd"]),
                         (res["goodput_prose"], res["goodput_prose_zstd"])):
                if "events_per_minute" in u and "events_per_minute" in z:
                    z["ratio_to_uncompressed"] = round(z["events_per_minute"] /
                                                       u["events_per_minute"], 2)
    finally:
        b.stop_all()
        if all(r["converged"] for r in res["convergence"]):
            shutil.rmtree(workroot, ignore_errors=True)
    if a.json:
        print(json.dumps(res, indent=2))
    else:
        table(res, sys.stdout)
    ok = all(r["converged"] for r in res["convergence"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
