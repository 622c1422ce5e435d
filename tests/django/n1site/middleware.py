"""The test site's middleware: one unit of work per request, as a real deployment would mark it.

Every request gets its own database session named after its handler (application_name), a
`dbopt-unit:` marker in the Django log, and a request id on every statement of the JSON Lines
log, which an execute_wrapper writes with the stack of each statement.
"""
import copy
import json
import logging
import os
import threading
import time
import traceback

from django.db import connection

current = threading.local()
marker = logging.getLogger("dbopt")
HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class QueryLog:
    """JSON Lines of every statement: sql, params, duration_ms, ts, request_id, thread, stack."""

    def __init__(self, path, innermost_first):
        self.out = open(path, "w")
        self.lock = threading.Lock()
        self.innermost_first = innermost_first

    def frame(self, f):
        # Like Sentry's in-app frames: the project's files relative to its root, the rest absolute.
        name = os.path.relpath(f.filename, HERE) if self.innermost_first and f.filename.startswith(HERE) else f.filename
        return "%s:%d in %s" % (name, f.lineno, f.name)

    def __call__(self, execute, sql, params, many, context):
        stack = traceback.extract_stack()[:-1]  # without this wrapper's own frame
        if self.innermost_first:
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


query_log = None  # set by the runner


class UnitOfWorkMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        name = request.path.strip("/")
        current.name = name
        connection.close()  # a new session per request, named after the handler
        if not getattr(connection, "own_settings", False):
            connection.settings_dict = copy.deepcopy(connection.settings_dict)  # this thread's connection only
            connection.own_settings = True
        connection.settings_dict["OPTIONS"]["application_name"] = name
        marker.info("dbopt-unit: %s", name)
        with connection.execute_wrapper(query_log):
            response = self.get_response(request)
        connection.close()
        current.name = "setup"
        return response
