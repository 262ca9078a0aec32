#!/usr/bin/env python3
"""Load on ci3 servers: CLIENTS threads for SECONDS against the given server URLs (round robin),
each looping over a download of a known artifact (its bytes checked), an upload of a new one,
and a 100-key kv mget. Afterwards every uploaded artifact is read back through another server and
checked. Prints requests per second, p50/p99 latency per kind, errors; exit 1 on any error.
Usage: bench/server_load.py SECONDS CLIENTS URL [URL...]   (CI3_PASSWORD: Basic, user aztec)"""
import base64, hashlib, http.client, os, random, sys, threading, time
from urllib.parse import urlsplit

seconds, clients, urls = float(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
headers = {}
if os.environ.get("CI3_PASSWORD"):
    token = base64.b64encode(f"aztec:{os.environ['CI3_PASSWORD']}".encode()).decode()
    headers["Authorization"] = f"Basic {token}"
run = f"{os.getpid()}-{int(time.time())}"


def connect(url):
    parts = urlsplit(url)
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)


def ask(conn, method, path, body=None):
    h = dict(headers)
    if body is not None:
        h["Content-Length"] = str(len(body))
    conn.request(method, path, body=body, headers=h)
    answer = conn.getresponse()
    return answer.status, answer.read()


# Known artifacts and kv entries, written once through the first server.
known, keys = {}, [f"bench-{run}-{i}" for i in range(500)]
setup = connect(urls[0])
for i in range(16):
    body = random.randbytes(1 << 20)
    name = f"bench-{run}/known-{i}.tar.zst"
    status, _ = ask(setup, "PUT", f"/artifacts/{name}", body)
    assert status == 201, f"setup PUT {name}: {status}"
    known[name] = hashlib.sha256(body).hexdigest()
for key in keys:
    status, _ = ask(setup, "PUT", f"/kv/{key}", f"value-{key}".encode())
    assert status == 204, f"setup PUT /kv/{key}: {status}"

lock = threading.Lock()
latencies = {"download": [], "upload": [], "mget": []}
errors, uploaded = [], {}
deadline = time.monotonic() + seconds


def client(n):
    conns = [connect(u) for u in urls]
    rng = random.Random(n)
    i = 0
    while time.monotonic() < deadline:
        conn = conns[i % len(conns)]
        kind = ("download", "upload", "mget")[i % 3]
        t0 = time.monotonic()
        try:
            if kind == "download":
                name = rng.choice(list(known))
                status, body = ask(conn, "GET", f"/artifacts/{name}")
                ok = status == 200 and hashlib.sha256(body).hexdigest() == known[name]
            elif kind == "upload":
                body = rng.randbytes(256 << 10)
                name = f"bench-{run}/up-{n}-{i}.tar.zst"
                status, _ = ask(conn, "PUT", f"/artifacts/{name}", body)
                ok = status == 201
                if ok:
                    with lock:
                        uploaded[name] = hashlib.sha256(body).hexdigest()
            else:
                want = rng.sample(keys, 100)
                status, body = ask(conn, "POST", "/kv/mget", "".join(k + "\n" for k in want).encode())
                lines = body.decode().split("\n")
                ok = status == 200 and lines[:100] == [f"value-{k}" for k in want]
        except Exception as e:  # a refused or broken connection is an error, and a new one
            status, ok = repr(e), False
            conns[i % len(conns)] = connect(urls[i % len(urls)])
        took = time.monotonic() - t0
        with lock:
            latencies[kind].append(took)
            if not ok:
                errors.append(f"{kind} via {urls[i % len(urls)]}: {status}")
        i += 1


threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
start = time.monotonic()
for t in threads:
    t.start()
for t in threads:
    t.join()
elapsed = time.monotonic() - start

# Every artifact whole afterwards, read through a server other than the one likely written by.
check = connect(urls[-1])
for name, digest in list(known.items()) + list(uploaded.items()):
    status, body = ask(check, "GET", f"/artifacts/{name}")
    if status != 200 or hashlib.sha256(body).hexdigest() != digest:
        errors.append(f"afterwards {name}: {status}, {len(body)} bytes")

total = sum(len(v) for v in latencies.values())
print(f"  {clients} clients x {len(urls)} servers, {elapsed:.0f} s: {total / elapsed:.0f} requests/s, "
      f"{len(errors)} errors, {len(known) + len(uploaded)} artifacts checked whole afterwards")
for kind, values in latencies.items():
    values.sort()
    if values:
        p = lambda q: values[min(len(values) - 1, int(q * len(values)))] * 1000
        print(f"    {kind:8s} {len(values):6d} requests  p50 {p(0.5):7.1f} ms  p99 {p(0.99):7.1f} ms")
for e in errors[:10]:
    print(f"  error: {e}", file=sys.stderr)
sys.exit(1 if errors else 0)
