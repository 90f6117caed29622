#!/usr/bin/env python3
"""web.py - the web pages under load: wrk against a real `hearth serve`.

    bench/web.py BUILD_DIR [--events N] [--seconds S] [--quick]

A forum of N events (bench_genbundle, seed 21; 1,000,000 by default) is imported once
into BUILD_DIR/bench-web-N and kept; two threads are added with 50 and 200 replies of
~700 bytes. The node serves with its web pages on loopback; wrk (100 keep-alive
connections, 2 threads) loads, each for S seconds:
  - /bench-fixed: a fixed page as large as the 50-reply thread, through the same
    server path (the ceiling, measured in the same run);
  - the 50- and 200-reply threads, a board page and the home page, as a visitor (the
    page cache) and as a logged-in member (rendered each time, text renderings cached);
  - the 50-reply thread again (visitor and member) while the node ingests a bundle of
    100,000 other events (`hearth import` into the same replica, its top rate).
Also: the server's CPU time per member render of the 200-reply thread (from
/proc/PID/stat over that run), the page weight of the 50-reply thread (HTML + CSS, and
gzipped), and the server's memory (VmHWM). Prints one JSON object.
"""
import json, os, re, socket, subprocess, sys, tempfile, time, urllib.request, urllib.parse

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

def run(*args, **kw):
    return subprocess.run(args, check=True, capture_output=True, text=True, **kw).stdout

def wrk(url, secs, cookie=None):
    cmd = ["wrk", "-t2", "-c100", "-d%ds" % secs, "--latency"]
    if cookie:
        cmd += ["-H", "Cookie: " + cookie]
    out = run(*cmd, url)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    def lat(p):
        m = re.search(r"\s%s%%\s+([\d.]+)(us|ms|s)" % p, out)
        v, u = float(m.group(1)), m.group(2)
        return v / 1000 if u == "us" else v * 1000 if u == "s" else v
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errs = re.search(r"Socket errors: (.*)", out)
    return {"rps": round(rps), "p50_ms": round(lat(50), 2), "p99_ms": round(lat(99), 2),
            "non2xx": int(bad.group(1)) if bad else 0, "socket_errors": errs.group(1) if errs else ""}

def cpu_ticks(pid):
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return int(f[11]) + int(f[12])

def main():
    build = os.path.abspath(sys.argv[1])
    args = sys.argv[2:]
    quick = "--quick" in args
    n = int(args[args.index("--events") + 1]) if "--events" in args else (20000 if quick else 1000000)
    secs = int(args[args.index("--seconds") + 1]) if "--seconds" in args else (3 if quick else 10)
    H = os.path.join(build, "hearth")
    data = os.path.join(build, "bench-web-%d" % n)
    env = dict(os.environ)
    if not os.path.exists(os.path.join(data, "ready")):
        subprocess.run(["rm", "-rf", data])
        os.makedirs(data)
        fid = run(os.path.join(build, "bench_genbundle"), "--events", str(n), "--seed", "21",
                  os.path.join(data, "forum.bundle")).strip()
        run(H, "-d", data + "/hub", "init", "--join", fid)
        run(H, "-d", data + "/hub", "import", os.path.join(data, "forum.bundle"))
        run(H, "-d", data + "/hub", "profile", "--name", "Bench")
        text = "It helps to hear from others who know the drive to town in the snow. " * 10
        ids = {}
        for replies in (50, 200):
            p = json.loads(run(H, "-d", data + "/hub", "--json", "post", "general", "--title",
                               "A thread of %d replies" % replies, "--body", text))["event"]
            for i in range(replies):
                run(H, "-d", data + "/hub", "reply", p, "--body", "Reply %d. %s" % (i, text))
            ids[replies] = p
        run(os.path.join(build, "bench_genbundle"), "--events", str(100000 if not quick else 5000),
            "--seed", "21", "--salt", "7", os.path.join(data, "more.bundle"))
        json.dump(ids, open(os.path.join(data, "threads.json"), "w"))
        open(os.path.join(data, "ready"), "w").close()
    ids = json.load(open(os.path.join(data, "threads.json")))
    work = tempfile.mkdtemp(prefix="hearth-bench-web.")
    subprocess.run(["cp", "-a", data + "/hub", work + "/hub"], check=True)
    # The bench forum's founder key is not here: members join without an invite.
    open(work + "/hub/hearth.conf", "w").write("[web]\nopen_join = true\n")
    port, wport = free_port(), free_port()
    base = "http://127.0.0.1:%d" % wport
    size50 = None
    log = open(work + "/serve.log", "w")
    # The fixed page's size is the 50-reply thread's, learnt from a first server.
    for attempt in (0, 1):
        env["HEARTH_BENCH_FIXED_PAGE"] = str(size50 or 1000)
        p = subprocess.Popen([H, "-d", work + "/hub", "serve", "--listen", "tcp://127.0.0.1:%d" % port,
                              "--no-discovery", "--web", "127.0.0.1:%d" % wport], stdout=log,
                             stderr=subprocess.STDOUT, env=env)
        for _ in range(600):
            try:
                urllib.request.urlopen(base + "/about", timeout=1).read(); break
            except Exception:
                time.sleep(0.1)
        if size50:
            break
        size50 = len(urllib.request.urlopen(base + "/t/" + ids["50"]).read())
        p.terminate(); p.wait()
    res = {"events": n, "seconds_per_run": secs, "thread50_bytes": size50}
    css = len(urllib.request.urlopen(base + "/style.css").read())
    req = urllib.request.Request(base + "/t/" + ids["50"], headers={"Accept-Encoding": "gzip"})
    res["thread50_html_css_bytes"] = size50 + css
    res["thread50_gzip_bytes"] = len(urllib.request.urlopen(req).read())
    # A member, by the join form.
    jar = urllib.request.HTTPCookieProcessor()
    op = urllib.request.build_opener(jar, urllib.request.HTTPRedirectHandler())
    page = op.open(base + "/join").read().decode()
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
    body = urllib.parse.urlencode({"csrf": csrf, "login": "bench", "name": "Bench reader",
                                   "pass": "a long enough passphrase"}).encode()
    op.open(base + "/join", body).read()
    cookie = "; ".join("%s=%s" % (c.name, c.value) for c in jar.cookiejar)
    assert "hs=" in cookie, "joining did not log in"
    boards = run(H, "-d", work + "/hub", "--json", "boards")
    board = json.loads(boards)[0]["id"]
    res["fixed"] = wrk(base + "/bench-fixed", secs)
    for name, path in (("thread50", "/t/" + ids["50"]), ("thread200", "/t/" + ids["200"]),
                       ("board", "/b/" + board), ("home", "/")):
        res[name + "_visitor"] = wrk(base + path, secs)
        t0 = cpu_ticks(p.pid)
        res[name + "_member"] = r = wrk(base + path, secs, cookie)
        if name == "thread200":
            res["thread200_member_cpu_ms_per_page"] = round(
                (cpu_ticks(p.pid) - t0) * 10.0 / max(1, r["rps"] * secs), 3)
    imp = subprocess.Popen([H, "-d", work + "/hub", "import", os.path.join(data, "more.bundle")],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    res["thread50_visitor_ingesting"] = wrk(base + "/t/" + ids["50"], max(2, secs // 2))
    res["thread50_member_ingesting"] = wrk(base + "/t/" + ids["50"], max(2, secs // 2), cookie)
    res["ingest_still_running"] = imp.poll() is None
    imp.wait()
    res["server_vmhwm_kb"] = int(re.search(r"VmHWM:\s+(\d+)", open("/proc/%d/status" % p.pid).read()).group(1))
    p.terminate(); p.wait()
    res["ratio_thread50_visitor_to_fixed"] = round(res["thread50_visitor"]["rps"] / res["fixed"]["rps"], 3)
    res["ratio_thread50_member_to_fixed"] = round(res["thread50_member"]["rps"] / res["fixed"]["rps"], 3)
    subprocess.run(["rm", "-rf", work])
    print(json.dumps(res, indent=1))

main()
