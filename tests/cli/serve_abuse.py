#!/usr/bin/env python3
"""Hostile clients against a running `attrib serve` (tests/cli/test_serve.sh).

serve_abuse.py idle PORT KEY N      hold N idle TCP connections (headers never
                                    finished), then send 5 valid requests on
                                    new connections; each must be answered 200
                                    within 5 s while the N are still held.
serve_abuse.py bigbody PORT KEY     announce a Content-Length of 99,999,999,999
                                    and send nothing: 413 must come at once.
serve_abuse.py raw PORT KEY BODY    POST BODY, print "STATUS RESPONSE-BODY".
Prints one line per check; exits 1 when a check fails.
"""
import resource
import socket
import sys
import time

REQ = ('{"customer_journeys":[{"conversion_id":"c1","session_id":"s1",'
       '"timestamp":"2023-09-01 10:00:00","channel_label":"SEO","holder_engagement":1,'
       '"closer_engagement":1,"conversion":0,"impression_interaction":0}]}')


def post(port, key, body, timeout=5.0, headers=None):
    """POST body; returns (status, response body) or raises on timeout."""
    data = body.encode() if isinstance(body, str) else body
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        h = headers if headers is not None else {"Content-Length": str(len(data))}
        head = "POST /v1/compute_ihc?conv_type_id=x HTTP/1.1\r\nHost: x\r\nx-api-key: %s\r\n" % key
        head += "".join("%s: %s\r\n" % kv for kv in h.items())
        head += "Connection: close\r\n\r\n"
        s.sendall(head.encode() + (data if headers is None else b""))
        got = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
    finally:
        s.close()
    status = int(got.split(b" ", 2)[1]) if got.startswith(b"HTTP/") else 0
    return status, got.split(b"\r\n\r\n", 1)[-1].decode("utf-8", "replace")


def idle(port, key, n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n + 64:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 64), hard))
    held = []
    for _ in range(n):
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        held.append(s)
    time.sleep(0.5)  # the server has accepted (or queued) them
    ok = True
    for i in range(5):
        t0 = time.monotonic()
        try:
            status, body = post(port, key, REQ)
        except OSError as e:
            status, body = 0, str(e)
        dt = time.monotonic() - t0
        good = status == 200 and '"statusCode":200' in body
        print("request %d with %d idle connections held: HTTP %d in %.2f s" % (i, n, status, dt))
        ok = ok and good
    # the held connections are still open on our side
    alive = sum(1 for s in held if s.fileno() >= 0)
    print("held %d" % alive)
    for s in held:
        s.close()
    return ok and alive == n


def bigbody(port, key):
    t0 = time.monotonic()
    try:
        status, body = post(port, key, "", timeout=5.0,
                            headers={"Content-Length": "99999999999",
                                     "Content-Type": "application/json"})
    except OSError as e:
        status, body = 0, str(e)
    dt = time.monotonic() - t0
    print("Content-Length 99999999999: HTTP %d in %.2f s: %s" % (status, dt, body.strip()))
    return status == 413 and dt < 3


def raw(port, key, body):
    status, resp = post(port, key, body.encode().decode("unicode_escape"))
    print(status, resp)
    return True


def main():
    what, port, key = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    if what == "idle":
        ok = idle(port, key, int(sys.argv[4]))
    elif what == "bigbody":
        ok = bigbody(port, key)
    else:
        ok = raw(port, key, sys.argv[4])
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
