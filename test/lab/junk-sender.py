#!/usr/bin/env python3
# Lab helper for test/lab/cluster-heartbeat.test.ts: sends junk UDP datagrams (16..1400 bytes,
# every 16th one 8 KB) round-robin to the given targets at RATE per second for SECONDS, paced in
# 1 ms slices, then prints one JSON line {"ev":"junk-done","sent":N,"seconds":S,"rate":R}.
# Usage: junk-sender.py RATE SECONDS HOST:PORT [HOST:PORT...]   (lab namespaces only)
import json, os, socket, sys, time

rate, seconds = int(sys.argv[1]), float(sys.argv[2])
targets = [(t.rsplit(':', 1)[0], int(t.rsplit(':', 1)[1])) for t in sys.argv[3:]]
pool = [os.urandom(8192 if i % 16 == 0 else 16 + (i * 137) % 1384) for i in range(64)]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setblocking(False)
sent = 0
t0 = time.monotonic()
end = t0 + seconds
while True:
    now = time.monotonic()
    if now >= end:
        break
    due = int((now - t0) * rate) - sent
    for _ in range(due):
        try:
            s.sendto(pool[sent % 64], targets[sent % len(targets)])
        except BlockingIOError:
            break  # the local queue is full: send the rest in the next slice
        sent += 1
    time.sleep(0.001)
secs = time.monotonic() - t0
print(json.dumps({"ev": "junk-done", "sent": sent, "seconds": round(secs, 3), "rate": round(sent / secs)}), flush=True)
