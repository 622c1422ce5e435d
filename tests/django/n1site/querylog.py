"""JSON Lines of every statement a request runs, from a connection execute_wrapper."""
import json
import os
import threading
import time
import traceback

current = threading.local()  # the request being served: its handler's name
HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class QueryLog:
    """JSON Lines of every statement: sql, params, duration_ms, ts, request_id, thread, stack."""

    def __init__(self, path, innermost_first):
        self.out = open(path, "w")
        self.lock = threading.Lock()
        # Sequential pass: Sentry's order, without this wrapper. Threads pass: the traceback as Python
        # gives it, this wrapper's frame included (a frame every statement has: never the call site).
        self.innermost_first = innermost_first

    def frame(self, f):
        # Like Sentry's in-app frames: the project's files relative to its root, the rest absolute.
        name = os.path.relpath(f.filename, HERE) if self.innermost_first and f.filename.startswith(HERE) else f.filename
        return "%s:%d in %s" % (name, f.lineno, f.name)

    def __call__(self, execute, sql, params, many, context):
        stack = traceback.extract_stack()
        if self.innermost_first:
            stack = stack[:-1]
            stack.reverse()
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            line = json.dumps({
                "sql": sql,
                "params": [str(p) for p in (params or [])] if not many else None,
                "duration_ms": (time.perf_counter() - start) * 1000,
                "ts": time.time(),
                "request_id": getattr(current, "name", "setup"),
                "thread": threading.current_thread().name,
                "framework": "django",
                "stack": [self.frame(f) for f in stack],
            })
            with self.lock:
                self.out.write(line + "\n")

    def close(self):
        self.out.close()
