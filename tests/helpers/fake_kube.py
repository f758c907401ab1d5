#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A fake Kubernetes API server for the integration tests: core/v1 Events
with list (pages of `limit`, `continue`), watch (chunked newline-delimited
JSON, resourceVersion, allowWatchBookmarks, timeoutSeconds, 410 Expired for
a version older than the history kept), bearer-token checks, and pods and
namespaces with labels/annotations.

    fake_kube.py <port> <token>

Control (no token, loopback tests only):
    POST /_control/event      body: an Event object; stored with the next
                              resourceVersion, sent to watchers (ADDED, or
                              MODIFIED when its uid is known)
    POST /_control/bookmark   a BOOKMARK at the current version to watchers
    POST /_control/expire     forget the history: any older version is 410,
                              and open watches are closed
    POST /_control/pod        body: {"namespace", "name", "labels", "annotations"}
    POST /_control/namespace  body: {"name", "labels", "annotations"}
    GET  /_control/stats      {"lists", "watches", "last_watch_rv", "unauthorized"}
"""
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

LOCK = threading.Condition()
STATE = {"rv": 100, "events": {}, "log": [], "expired_before": 0, "generation": 0,
         "pods": {}, "namespaces": {}, "lists": 0, "watches": 0, "last_watch_rv": None,
         "unauthorized": 0}
TOKEN = ""


def bump(kind, obj):
    STATE["rv"] += 1
    obj.setdefault("metadata", {})["resourceVersion"] = str(STATE["rv"])
    STATE["log"].append((STATE["rv"], kind, json.loads(json.dumps(obj))))
    LOCK.notify_all()


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send_json(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        n = int(self.headers.get("Content-Length", 0))
        return json.loads(self.rfile.read(n) or b"{}")

    def authorized(self):
        if self.headers.get("Authorization") != "Bearer " + TOKEN:
            with LOCK:
                STATE["unauthorized"] += 1
            self.send_json(401, {"kind": "Status", "code": 401, "reason": "Unauthorized"})
            return False
        return True

    def do_POST(self):
        u = urlparse(self.path)
        b = self.body()
        with LOCK:
            if u.path == "/_control/event":
                uid = b["metadata"]["uid"]
                kind = "MODIFIED" if uid in STATE["events"] else "ADDED"
                STATE["events"][uid] = b
                bump(kind, b)
            elif u.path == "/_control/bookmark":
                STATE["log"].append((STATE["rv"], "BOOKMARK", {
                    "kind": "Event", "apiVersion": "v1",
                    "metadata": {"resourceVersion": str(STATE["rv"])}}))
                LOCK.notify_all()
            elif u.path == "/_control/expire":
                STATE["expired_before"] = STATE["rv"]
                STATE["log"] = []
                STATE["generation"] += 1
                LOCK.notify_all()
            elif u.path == "/_control/pod":
                STATE["pods"][(b["namespace"], b["name"])] = b
            elif u.path == "/_control/namespace":
                STATE["namespaces"][b["name"]] = b
            else:
                self.send_json(404, {})
                return
        self.send_json(200, {"rv": STATE["rv"]})

    def do_GET(self):
        u = urlparse(self.path)
        q = {k: v[0] for k, v in parse_qs(u.query).items()}
        if u.path == "/_control/stats":
            with LOCK:
                self.send_json(200, {k: STATE[k] for k in
                                     ("lists", "watches", "last_watch_rv", "unauthorized", "rv")})
            return
        if not self.authorized():
            return
        parts = u.path.strip("/").split("/")
        if parts[:2] == ["api", "v1"] and parts[-1] == "events":
            ns = parts[3] if len(parts) == 5 and parts[2] == "namespaces" else None
            if q.get("watch") in ("1", "true"):
                self.watch(ns, q)
            else:
                self.list(ns, q)
            return
        if len(parts) == 6 and parts[2] == "namespaces" and parts[4] == "pods":
            p = STATE["pods"].get((parts[3], parts[5]))
            self.send_json(200 if p else 404, {"kind": "Pod", "metadata": {
                "name": parts[5], "namespace": parts[3], "labels": (p or {}).get("labels", {}),
                "annotations": (p or {}).get("annotations", {})}})
            return
        if len(parts) == 4 and parts[2] == "namespaces":
            n = STATE["namespaces"].get(parts[3])
            self.send_json(200 if n else 404, {"kind": "Namespace", "metadata": {
                "name": parts[3], "labels": (n or {}).get("labels", {}),
                "annotations": (n or {}).get("annotations", {})}})
            return
        self.send_json(404, {"kind": "Status", "code": 404})

    def list(self, ns, q):
        with LOCK:
            STATE["lists"] += 1
            items = [e for e in STATE["events"].values()
                     if ns is None or e.get("metadata", {}).get("namespace") == ns]
            rv = str(STATE["rv"])
        items.sort(key=lambda e: int(e["metadata"]["resourceVersion"]))
        start = int(q.get("continue", "0"))
        limit = int(q.get("limit", "0")) or len(items)
        page = items[start:start + limit]
        more = start + limit < len(items)
        self.send_json(200, {"kind": "EventList", "apiVersion": "v1", "metadata": {
            "resourceVersion": rv, "continue": str(start + limit) if more else ""},
            "items": page})

    def chunk(self, obj):
        data = (json.dumps(obj) + "\n").encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def watch(self, ns, q):
        rv = int(q.get("resourceVersion") or 0)
        deadline = time.time() + int(q.get("timeoutSeconds", "300"))
        bookmarks = q.get("allowWatchBookmarks") == "true"
        with LOCK:
            STATE["watches"] += 1
            STATE["last_watch_rv"] = q.get("resourceVersion")
            gen = STATE["generation"]
            expired = rv < STATE["expired_before"]
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            if expired:
                self.chunk({"type": "ERROR", "object": {
                    "kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 410,
                    "reason": "Expired", "message": "too old resource version: %d" % rv}})
            else:
                sent = rv
                while time.time() < deadline:
                    with LOCK:
                        if STATE["generation"] != gen:
                            break
                        todo = [(r, k, o) for (r, k, o) in STATE["log"]
                                if r > sent or k == "BOOKMARK"]
                        if not todo:
                            LOCK.wait(0.2)
                            continue
                    for r, k, o in todo:
                        if k == "BOOKMARK":
                            if bookmarks:
                                self.chunk({"type": k, "object": o})
                            with LOCK:
                                STATE["log"].remove((r, k, o))
                            continue
                        if ns is None or o.get("metadata", {}).get("namespace") == ns:
                            self.chunk({"type": k, "object": o})
                        sent = max(sent, r)
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass


class S(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


if __name__ == "__main__":
    TOKEN = sys.argv[2]
    srv = S(("127.0.0.1", int(sys.argv[1])), H)
    print("ready", flush=True)
    srv.serve_forever()
