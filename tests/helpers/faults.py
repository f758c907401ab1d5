#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Fault scripts (run by scripts/faults.sh, which starts PostgreSQL and Redis).

Each scenario runs the real server under load, breaks something, and checks
that every acknowledged event is stored once and counted once:

  kill9     SIGKILL the server N times under continuous batched and
            single-event load; the client records every acknowledged id
  postgres  PostgreSQL stopped and started under load
  redis     Redis killed and restarted empty, then flushed, under load
  kafka     the Kafka broker (librdkafka's mock cluster) down for a while
            while the producer goes on
  gateway   a notification gateway down (connections refused) for a while
  twoinst   two instances behind one PostgreSQL and Redis, one killed
            mid-run while N alerts are notified: no notification sent twice
            beyond retries carrying the same Idempotency-Key

Each prints its figures (sent, acknowledged, found, lost, doubled) and the
run ends with "N passed, N failed".
"""
import argparse
import http.client
import http.server
import json
import os
import random
import signal
import socketserver
import subprocess
import sys
import threading
import time

TOKEN = "faults-admin-token-0123456789"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def log(msg):
    print(msg, flush=True)


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def lib(cmd):
    """Runs a function of scripts/lib.sh."""
    subprocess.run(["bash", "-c", "source scripts/lib.sh && " + cmd], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)


def psql(env, sql, db="postgres", user="postgres"):
    out = subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(env.pg_port), "-U", user, "-d", db,
                          "-qAt", "-v", "ON_ERROR_STOP=1", "-c", sql],
                         check=True, capture_output=True, text=True)
    return out.stdout.strip()


def new_db(env, name):
    psql(env, "DROP DATABASE IF EXISTS %s" % name)
    psql(env, "CREATE DATABASE %s OWNER alertcenter" % name)


def http_call(port, method, path, body=None, timeout=10):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {"Authorization": "Bearer " + TOKEN}
        data = None
        if body is not None:
            data = body if isinstance(body, (bytes, str)) else json.dumps(body)
            headers["Content-Type"] = "application/json"
        c.request(method, path, body=data, headers=headers)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


class Server:
    def __init__(self, env, db, name, config=None, port=None):
        self.env, self.db, self.name, self.config = env, db, name, config
        self.port = port or free_port()
        self.proc = None
        self.log = os.path.join(env.tmp, "%s-%d.log" % (name, self.port))

    def start(self):
        e = dict(os.environ)
        e.update({
            "AC_LISTEN": "127.0.0.1:%d" % self.port,
            "AC_PG_DSN": "host=127.0.0.1 port=%d dbname=%s user=alertcenter connect_timeout=3"
                         % (self.env.pg_port, self.db),
            "AC_REDIS_URL": "redis://127.0.0.1:%d/0" % self.env.redis_port,
            "AC_REDIS_PREFIX": self.db + ":",
            "AC_ADMIN_TOKEN": TOKEN,
            "ASAN_OPTIONS": "detect_leaks=0",
        })
        args = [self.env.bin, "serve"]
        if self.config is not None:
            path = os.path.join(self.env.tmp, "%s.json" % self.name)
            with open(path, "w") as f:
                json.dump(self.config, f)
            args += ["-c", path]
        self.proc = subprocess.Popen(args, env=e, stdout=open(self.log, "a"),
                                     stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited at start; see %s" % (self.name, self.log))
            try:
                st, body = http_call(self.port, "GET", "/healthz", timeout=2)
                if st == 200 and b'"ok"' in body:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("%s did not come up; see %s" % (self.name, self.log))

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.kill9()


class Load:
    """Batched (100 events) and single-event posters with unique ids and
    fingerprints; a failed request is retried with the same events until it
    is acknowledged or the load stops."""

    def __init__(self, ports, prefix, type_="FaultLoad", level="P4", batch=100, singles=1,
                 batches=1, limit=None):
        self.ports, self.prefix, self.type, self.level = ports, prefix, type_, level
        self.batch, self.limit = batch, limit
        self.acked, self.sent = [], 0
        self.lock = threading.Lock()
        self.stopping = False
        self.seq = 0
        self.threads = [threading.Thread(target=self.run, args=(batch, i), daemon=True)
                        for i in range(batches)]
        self.threads += [threading.Thread(target=self.run, args=(1, 100 + i), daemon=True)
                         for i in range(singles)]

    def next_ids(self, n):
        with self.lock:
            if self.limit is not None:
                n = min(n, self.limit - self.seq)
            ids = ["%s-%d" % (self.prefix, self.seq + k) for k in range(n)]
            self.seq += n
            self.sent += n
            return ids

    def event(self, i):
        return {"id": i, "source": "probe", "type": self.type, "level": self.level,
                "title": "fault load", "resource": {"kind": "host", "name": i}}

    def run(self, n, tid):
        rnd = random.Random(tid)
        while not self.stopping:
            ids = self.next_ids(n)
            if not ids:
                return
            body = [self.event(i) for i in ids] if n > 1 else self.event(ids[0])
            while True:
                port = rnd.choice(self.ports)
                try:
                    st, _ = http_call(port, "POST", "/v1/events", body)
                    if st == 200:
                        with self.lock:
                            self.acked.extend(ids)
                        break
                except OSError:
                    pass
                if self.stopping and self.limit is None:
                    return  # unacknowledged: not counted, may or may not be stored
                time.sleep(0.05)

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def stop(self):
        self.stopping = True
        for t in self.threads:
            t.join()

    def wait(self, timeout):
        deadline = time.time() + timeout
        for t in self.threads:
            t.join(max(0.1, deadline - time.time()))


def check_events(env, db, load, name, extra=""):
    stored = set(psql(env, "SELECT client_id FROM events WHERE type = '%s'" % load.type,
                      db, "alertcenter").split())
    doubled = int(psql(env, "SELECT count(*) FROM alerts WHERE type = '%s' AND count > 1"
                       % load.type, db, "alertcenter"))
    acked = set(load.acked)
    lost = len(acked - stored)
    log("%-9s sent=%d acknowledged=%d found=%d lost=%d doubled=%d%s"
        % (name, load.sent, len(acked), len(acked & stored), lost, doubled, extra))
    return lost == 0 and doubled == 0 and len(acked) > 0


def scenario_kill9(env):
    db = "faults_kill9"
    new_db(env, db)
    s = Server(env, db, "kill9")
    s.start()
    load = Load([s.port], "k9", batches=1, singles=2).start()
    kills = 10 if not env.short else 3
    for _ in range(kills):
        time.sleep(random.uniform(1.0, 3.0))
        s.kill9()
        s.start()
    time.sleep(1.5)
    load.stop()
    ok = check_events(env, db, load, "kill9", " kills=%d" % kills)
    s.stop()
    return ok


def scenario_postgres(env):
    db = "faults_pg"
    new_db(env, db)
    s = Server(env, db, "pg")
    s.start()
    load = Load([s.port], "pg", singles=2).start()
    time.sleep(2)
    t0 = time.time()
    lib("ac_pg_stop %s" % env.pg_dir)
    time.sleep(3 if env.short else 10)
    lib("ac_pg_start %s %d" % (env.pg_dir, env.pg_port))
    down = time.time() - t0
    time.sleep(4)
    load.stop()
    ok = check_events(env, db, load, "postgres", " down=%.1fs" % down)
    s.stop()
    return ok


def scenario_redis(env):
    db = "faults_redis"
    new_db(env, db)
    s = Server(env, db, "redis")
    s.start()
    load = Load([s.port], "rd", singles=2).start()
    time.sleep(2)
    with open(os.path.join(env.redis_dir, "redis.pid")) as f:
        os.kill(int(f.read().strip()), signal.SIGKILL)
    time.sleep(1 if env.short else 3)
    lib("ac_redis_start %s %d" % (env.redis_dir, env.redis_port))  # empty: no persistence
    time.sleep(2)
    subprocess.run(["redis-cli", "-p", str(env.redis_port), "FLUSHALL"], check=True,
                   stdout=subprocess.DEVNULL)
    time.sleep(2)
    load.stop()
    ok = check_events(env, db, load, "redis", " (killed, restarted empty, flushed)")
    s.stop()
    return ok


def scenario_kafka(env):
    db = "faults_kafka"
    new_db(env, db)
    mock = subprocess.Popen([env.kafka_tool, "mock", "faults", "4"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    bootstrap = mock.stdout.readline().strip()
    # a short session: after the outage the group re-forms in seconds, not librdkafka's 45 s
    s = Server(env, db, "kafka", config={"kafka": {
        "brokers": bootstrap, "group_id": "faults", "topics": {"faults": "native"},
        "options": {"session.timeout.ms": "6000", "heartbeat.interval.ms": "1000"}}})
    s.start()
    per = 2000 if not env.short else 500
    down_s = 30 if not env.short else 5

    def produce(first, out):
        r = subprocess.run([env.kafka_tool, "produce", bootstrap, "faults", str(per), "300",
                            str(10 ** 9), str(first), "FaultKafka"], capture_output=True, text=True)
        out.append((r.returncode, r.stdout.strip()))

    results = []
    t0 = time.time()
    produce(0, results)
    mock.send_signal(signal.SIGUSR1)  # the broker goes down
    t = threading.Thread(target=produce, args=(per, results))
    t.start()  # the producer waits for the broker
    time.sleep(down_s)
    mock.send_signal(signal.SIGUSR2)
    t.join(300)
    t_produced = time.time() - t0
    acked = sum(per for rc, out in results if rc == 0 and out == "produced %d" % per)
    deadline = time.time() + 120
    found = 0
    while time.time() < deadline:
        found = int(psql(env, "SELECT count(*) FROM events WHERE type = 'FaultKafka'", db,
                         "alertcenter"))
        if found >= acked:
            break
        time.sleep(0.5)
    t_all = time.time() - t0
    doubled = int(psql(env, "SELECT count(*) FROM alerts WHERE type = 'FaultKafka' AND count > 1",
                       db, "alertcenter"))
    lost = max(0, acked - found)
    log("%-9s sent=%d acknowledged=%d found=%d lost=%d doubled=%d broker_down=%ds"
        " (produced by %.1f s, stored by %.1f s)"
        % ("kafka", 2 * per, acked, found, lost, doubled, down_s, t_produced, t_all))
    s.stop()
    mock.terminate()
    mock.wait()
    return acked == 2 * per and lost == 0 and doubled == 0 and found == acked


class Sink:
    """A gateway standing in for SMS/chat: records each request's
    Idempotency-Key and incident; can be taken down (refusing connections)."""

    def __init__(self):
        self.port = free_port()
        self.keys = {}  # key -> incident id
        self.requests = 0
        self.lock = threading.Lock()
        self.httpd = None

    def up(self):
        sink = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                key = self.headers.get("Idempotency-Key", "")
                try:
                    doc = json.loads(body)
                    inc = str((doc.get("incident") or {}).get("id") or doc.get("incident_id"))
                except ValueError:
                    inc = "?"
                with sink.lock:
                    sink.requests += 1
                    sink.keys.setdefault(key, inc)
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *a):
                pass

        class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
            allow_reuse_address = True

            def handle_error(self, request, client_address):
                pass  # a client gone mid-answer (the server killed) is part of the test

        self.httpd = S(("127.0.0.1", self.port), H)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def down(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def incidents(self):
        with self.lock:
            per = {}
            for key, inc in self.keys.items():
                per.setdefault(inc, set()).add(key)
            return per


def notify_config(sink):
    return {"notify": {"poll_ms": 50, "group_wait_s": {"P1": 0}, "repeat_s": {"P1": 0},
                       "retry": {"base_ms": 200, "cap_ms": 2000, "max_attempts": 1000},
                       "channels": {"hook": {"kind": "webhook",
                                             "url": "http://127.0.0.1:%d/hook" % sink.port}},
                       "levels": {"P1": ["hook"]}, "fallback": "hook"}}


def setup_team(port):
    st, body = http_call(port, "POST", "/v1/contacts", {"name": "ops", "phone": "+8613800000001"})
    assert st == 201, body
    cid = json.loads(body)["id"]
    st, body = http_call(port, "POST", "/v1/teams", {"name": "sre", "default": True,
                                                    "chain": [{"targets": [{"contact": cid}]}]})
    assert st == 201, body
    # every alert its own incident: each one notified on its own
    st, body = http_call(port, "POST", "/v1/routes",
                         {"name": "each", "team": json.loads(body)["id"],
                          "matchers": [{"name": "type", "op": "=~", "value": "Fault.*"}],
                          "group_by": ["..."]})
    assert st == 201, body


def check_notified(env, db, loads, sink, name, extra, timeout):
    """Every acknowledged alert's incident told once: at least one request
    (else lost), and one Idempotency-Key (two would be a second notification,
    not a retry)."""
    acked = [i for l in loads for i in l.acked]
    sent = sum(l.sent for l in loads)
    ids = ",".join("'%s'" % i for i in acked) or "''"
    incs = set(psql(env, "SELECT DISTINCT a.incident_id FROM events e JOIN alerts a ON"
                    " a.id = e.alert_id WHERE e.client_id IN (%s)" % ids, db,
                    "alertcenter").split())
    deadline = time.time() + timeout
    while True:
        per = sink.incidents()
        told = {i for i in incs if i in per}
        if len(told) == len(incs) or time.time() > deadline:
            break
        time.sleep(0.5)
    doubled = sum(1 for i in incs if len(per.get(i, ())) > 1)
    lost = len(incs) - len(told)
    log("%-9s sent=%d acknowledged=%d found=%d lost=%d doubled=%d requests=%d keys=%d%s"
        % (name, sent, len(acked), len(incs), lost, doubled, sink.requests, len(sink.keys),
           extra))
    return lost == 0 and doubled == 0 and len(acked) == sent and len(incs) == len(acked)


def scenario_gateway(env):
    db = "faults_gateway"
    new_db(env, db)
    sink = Sink()
    sink.up()
    s = Server(env, db, "gateway", config=notify_config(sink))
    s.start()
    setup_team(s.port)
    n = 300 if not env.short else 60
    down_s = 60 if not env.short else 5
    loads = []

    def phase(prefix):  # n/3 P1 alerts, each its own incident
        load = Load([s.port], prefix, type_="FaultGateway", level="P1", batch=10, singles=1,
                    limit=n // 3).start()
        load.wait(60)
        loads.append(load)

    phase("gw1")  # told at once
    sink.down()
    t0 = time.time()
    phase("gw2")  # while the gateway refuses connections
    time.sleep(max(0, down_s - (time.time() - t0)))
    sink.up()
    phase("gw3")  # after
    ok = check_notified(env, db, loads, sink, "gateway", " gateway_down=%ds" % down_s, 120)
    s.stop()
    sink.down()
    return ok


def scenario_twoinst(env):
    db = "faults_two"
    new_db(env, db)
    sink = Sink()
    sink.up()
    a = Server(env, db, "inst-a", config=notify_config(sink))
    b = Server(env, db, "inst-b", config=notify_config(sink))
    a.start()
    b.start()
    setup_team(a.port)
    time.sleep(1)  # b reloads the routes
    n = 10000 if not env.short else 1000
    load = Load([a.port, b.port], "two", type_="FaultTwo", level="P1", batch=100, singles=1,
                batches=2, limit=n).start()
    while len(sink.keys) < n // 4:
        time.sleep(0.1)
    a.kill9()  # mid-run: its claimed notifications wait out their lease, then b sends them
    load.ports = [b.port]
    load.wait(300)
    ok = check_notified(env, db, [load], sink, "twoinst", " (one of two killed)", 180)
    b.stop()
    sink.down()
    return ok


SCENARIOS = {"kill9": scenario_kill9, "postgres": scenario_postgres, "redis": scenario_redis,
             "kafka": scenario_kafka, "gateway": scenario_gateway, "twoinst": scenario_twoinst}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--short", action="store_true")
    ap.add_argument("scenarios", nargs="*", default=list(SCENARIOS))
    args = ap.parse_args()

    class Env:
        pass

    env = Env()
    env.short = args.short
    env.bin = os.environ["AC_FAULTS_BINARY"]
    env.kafka_tool = os.environ["AC_FAULTS_KAFKA_TOOL"]
    env.pg_dir, env.pg_port = os.environ["AC_FAULTS_PG_DIR"], int(os.environ["AC_FAULTS_PG_PORT"])
    env.redis_dir = os.environ["AC_FAULTS_REDIS_DIR"]
    env.redis_port = int(os.environ["AC_FAULTS_REDIS_PORT"])
    env.tmp = os.environ["AC_FAULTS_TMP"]
    passed = failed = 0
    for name in args.scenarios:
        t0 = time.time()
        try:
            ok = SCENARIOS[name](env)
        except Exception as e:  # a scenario that breaks is a failure, and the others still run
            log("%-9s ERROR %s" % (name, e))
            ok = False
        log("%-9s %s in %.0f s" % (name, "passed" if ok else "FAILED", time.time() - t0))
        passed, failed = passed + ok, failed + (not ok)
    log("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
