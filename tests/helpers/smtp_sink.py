#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A local SMTP sink for the email channel's tests: ESMTP with STARTTLS
(the certificate and key given) and AUTH PLAIN / LOGIN; each message is
written to OUTDIR/<n>.json with its envelope, whether it came over TLS, and
who authenticated. Prints "port <n>" once listening on 127.0.0.1.

usage: smtp_sink.py CERT KEY OUTDIR
"""
import base64
import json
import os
import socket
import ssl
import sys
import threading

CERT, KEY, OUT = sys.argv[1], sys.argv[2], sys.argv[3]
counter = [0]
lock = threading.Lock()


def serve(conn):
    tls = False
    user = None
    mail_from, rcpts = None, []
    f = conn.makefile("rb")

    def say(line):
        conn.sendall((line + "\r\n").encode())

    say("220 sink ESMTP ready")
    while True:
        raw = f.readline()
        if not raw:
            return
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        verb = line.split(" ", 1)[0].upper()
        if verb in ("EHLO", "HELO"):
            caps = ["250-sink", "250-AUTH PLAIN LOGIN", "250 8BITMIME"]
            if not tls:
                caps.insert(1, "250-STARTTLS")
            for c in caps:
                say(c)
        elif verb == "STARTTLS":
            say("220 go ahead")
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(CERT, KEY)
            conn = ctx.wrap_socket(conn, server_side=True)
            f = conn.makefile("rb")
            tls = True
        elif verb == "AUTH":
            parts = line.split(" ")
            if parts[1].upper() == "PLAIN":
                if len(parts) > 2:
                    blob = parts[2]
                else:
                    say("334 ")
                    blob = f.readline().decode().strip()
                fields = base64.b64decode(blob).split(b"\0")
                user, password = fields[1].decode(), fields[2].decode()
            else:  # LOGIN
                say("334 " + base64.b64encode(b"Username:").decode())
                user = base64.b64decode(f.readline().strip()).decode()
                say("334 " + base64.b64encode(b"Password:").decode())
                password = base64.b64decode(f.readline().strip()).decode()
            if password != os.environ.get("SMTP_SINK_PASSWORD", ""):
                say("535 authentication failed")
                user = None
            else:
                say("235 ok")
        elif verb == "MAIL":
            mail_from, rcpts = line.split(":", 1)[1].strip().split(" ")[0].strip("<>"), []
            say("250 ok")
        elif verb == "RCPT":
            rcpts.append(line.split(":", 1)[1].strip().strip("<>"))
            say("250 ok")
        elif verb == "DATA":
            say("354 end with .")
            data = []
            while True:
                l = f.readline()
                if not l or l in (b".\r\n", b".\n"):
                    break
                data.append(l[1:] if l.startswith(b"..") else l)
            with lock:
                counter[0] += 1
                n = counter[0]
            doc = {"from": mail_from, "rcpt": rcpts, "tls": tls, "user": user,
                   "data": b"".join(data).decode("utf-8", "replace")}
            tmp = os.path.join(OUT, "%d.tmp" % n)
            with open(tmp, "w") as w:
                json.dump(doc, w)
            os.rename(tmp, os.path.join(OUT, "%d.json" % n))
            say("250 queued as %d" % n)
        elif verb == "RSET":
            mail_from, rcpts = None, []
            say("250 ok")
        elif verb == "NOOP":
            say("250 ok")
        elif verb == "QUIT":
            say("221 bye")
            conn.close()
            return
        else:
            say("502 not implemented")


def main():
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    print("port %d" % s.getsockname()[1], flush=True)
    while True:
        c, _ = s.accept()
        threading.Thread(target=lambda: _safe(c), daemon=True).start()


def _safe(c):
    try:
        serve(c)
    except Exception as e:  # a broken client must not stop the sink
        print("sink: %s" % e, file=sys.stderr, flush=True)
        c.close()


main()
