#!/usr/bin/python3
"""Scales a real PostgreSQL stderr log up to a target size by replaying its sessions.

Usage: scale_log.py SOURCE_LOG TARGET_LOG SIZE_MB

SOURCE_LOG is the server log the Django shop (tests/django/run_handlers.py) produced with the
test prefix '%m [%p] user=%u,db=%d,app=%a,session=%c '. Every copy of it gets new pids and session
ids and later timestamps, so each copy is a new set of sessions, as on a busy server. Written in
large blocks; the output goes to /tmp, never into the repository.
"""
import re
import sys
from datetime import datetime, timedelta

LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) UTC \[(\d+)\] (.*?session=)([0-9a-f]+)\.([0-9a-f]+) ")


def main():
    source, target, size_mb = sys.argv[1], sys.argv[2], int(sys.argv[3])
    lines = open(source, encoding="utf-8", errors="replace").read().splitlines(keepends=True)
    # Template: (time offset in ms, pid, prefix middle, session hex pair, rest) or a continuation line.
    parsed = []
    t0 = None
    for line in lines:
        m = LINE.match(line)
        if not m:
            parsed.append((None, line))
            continue
        t = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S.%f")
        t0 = t0 or t
        offset_ms = int((t - t0).total_seconds() * 1000)
        parsed.append(((offset_ms, int(m.group(2)), m.group(3), m.group(4), m.group(5)), line[m.end():]))
    span_ms = max((p[0][0] for p in parsed if p[0]), default=0) + 2000  # a pause between copies
    target_bytes = size_mb * 1024 * 1024
    written = 0
    copy = 0
    base = datetime(2026, 1, 1)
    with open(target, "w", encoding="utf-8") as out:
        while written < target_bytes:
            start = base + timedelta(milliseconds=copy * span_ms)
            pid_shift = (copy * 97) % 4000000
            block = []
            for head, rest in parsed:
                if head is None:
                    block.append(rest)
                    continue
                offset_ms, pid, middle, s1, s2 = head
                ts = (start + timedelta(milliseconds=offset_ms)).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
                block.append("%s UTC [%d] %s%x.%x %s" % (ts, pid + pid_shift, middle, int(s1, 16) + copy,
                                                          int(s2, 16) + pid_shift, rest))
            text = "".join(block)
            out.write(text)
            written += len(text.encode("utf-8"))
            copy += 1
    print("%s: %d copies of %s, %.1f MB" % (target, copy, source, written / 1048576))


if __name__ == "__main__":
    main()
