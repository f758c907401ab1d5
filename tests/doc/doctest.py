#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The doc test: every shell example of README.md and docs/*.md, run as written.

It copies the repository's files into a fresh folder (so .run/ starts empty),
runs `bash scripts/run.sh` there as a reader would, waits until it serves on
127.0.0.1:8080, then runs each document's ```sh blocks in order in one bash
(set -euo pipefail; an example may use what an earlier one of the same
document made) from that folder, and stops run.sh. A block right after
<!-- doc-test: skip (why) --> is not run; the reasons are printed. Every
document must run to the end, and no block may be skipped without a reason.

  doctest.py [--live]   --live: use the run.sh already serving in this tree
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOCS = ["README.md", "docs/api.md", "docs/cli.md", "docs/configuration.md", "docs/operations.md"]
PORTS = {8080: "the server", 15432: "PostgreSQL", 16379: "Redis"}
BLOCK = re.compile(r"(?:<!-- doc-test: skip \(([^)]*)\) -->\n)?```sh\n(.*?)```", re.S)


def blocks(path):
    """[(line, skip reason or None, text)] of the document's sh blocks."""
    text = open(path, encoding="utf-8").read()
    out = []
    for m in BLOCK.finditer(text):
        out.append((text.count("\n", 0, m.start()) + 1, m.group(1), m.group(2)))
    return out


def port_busy(port):
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def copy_tree(dst):
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT,
                           check=True, capture_output=True, text=True).stdout.split("\n")
    for f in files:
        src = os.path.join(ROOT, f)
        if not f or not os.path.isfile(src):
            continue
        os.makedirs(os.path.dirname(os.path.join(dst, f)), exist_ok=True)
        shutil.copy2(src, os.path.join(dst, f))


def wait_up(proc, log, limit_s):
    deadline = time.time() + limit_s
    while time.time() < deadline:
        if proc and proc.poll() is not None:
            sys.exit("run.sh exited early:\n" + open(log, errors="replace").read()[-4000:])
        try:
            with urllib.request.urlopen("http://127.0.0.1:8080/healthz", timeout=2) as r:
                if r.status == 200 and b'"ok"' in r.read():  # not "starting"
                    return
        except OSError:
            pass
        time.sleep(0.5)
    sys.exit("run.sh did not serve within %d s:\n%s" % (limit_s, open(log).read()[-4000:]))


def run_doc(tree, doc):
    script = ["set -euo pipefail"]
    skipped = []
    n = 0
    for line, skip, text in blocks(os.path.join(tree, doc)):
        if skip is not None:
            if not skip.strip():
                return False, ["%s:%d: skipped without a reason" % (doc, line)], 0
            skipped.append("%s:%d: %s" % (doc, line, skip))
            continue
        n += 1
        script.append("echo '### %s:%d' >&2" % (doc, line))
        script.append(text)
    p = subprocess.Popen(["bash", "-c", "\n".join(script)], cwd=tree, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
                         start_new_session=True)
    try:
        out, err = p.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)  # the whole group: nothing outlives the test
        out, err = p.communicate()
        p.returncode = -1
    if p.returncode != 0:
        where = [l for l in err.split("\n") if l.startswith("### ")]
        print("FAIL %s (exit %d) in %s" % (doc, p.returncode, where[-1][4:] if where else "?"))
        print(out[-3000:])
        print(err[-3000:])
        return False, skipped, n
    return True, skipped, n


def main():
    live = "--live" in sys.argv
    tree, proc, log = ROOT, None, None
    if not live:
        busy = [what + " (%d)" % p for p, what in PORTS.items() if port_busy(p)]
        if busy:
            sys.exit("the doc test runs scripts/run.sh, whose ports are taken: " + ", ".join(busy))
        tree = tempfile.mkdtemp(prefix="ac-doctest-")
        os.chmod(tree, 0o755)
        copy_tree(tree)
        log = os.path.join(tree, "run.log")
    ok_all, passed, failed, skipped_all = True, 0, 0, []
    try:
        # run.sh's ports are fixed, below Linux's ephemeral range (32768 and
        # up), so no other test's outgoing connection can hold them (55432
        # could: a CI run lost its doc test to that). A port some other
        # program binds for a moment still fails PostgreSQL's or the server's
        # bind, so such a start is tried again (3 times)
        for attempt in range(3):
            if live:
                break
            proc = subprocess.Popen(["bash", "scripts/run.sh"], cwd=tree, stdout=open(log, "w"),
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True)
            try:
                wait_up(proc, log, 900)
                break
            except SystemExit:
                text = open(log, errors="replace").read()
                if attempt == 2 or "already in use" not in text:
                    raise
                print("run.sh could not bind a port (in use for a moment); again in 5 s")
                proc.wait(timeout=60)
                proc = None
                time.sleep(5)
        if live:
            wait_up(None, "/dev/null", 900)
        for doc in DOCS:
            ok, skipped, n = run_doc(tree, doc)
            skipped_all += skipped
            print("%s %s (%d blocks)" % ("ok  " if ok else "FAIL", doc, n))
            passed += ok
            failed += not ok
            ok_all = ok_all and ok
    finally:
        if proc and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        if not live:
            shutil.rmtree(tree, ignore_errors=True)
    for s in skipped_all:
        print("skipped " + s)
    print("%d passed, %d failed" % (passed, failed))
    return 0 if ok_all else 1


if __name__ == "__main__":
    sys.exit(main())
