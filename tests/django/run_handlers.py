#!/usr/bin/python3
"""Runs the test site's request handlers (shop and blog) on a real PostgreSQL and writes the query logs.

Usage: run_handlers.py OUT_DIR   (DBOPT_TEST_DATABASE_URL names the server; the site uses its own
database, dbopt_nplusone, created and filled here, so nothing else is touched.)

Every handler is a view behind n1site.middleware (a real Django request cycle: middleware, URL
resolver, view). Two passes, each on fresh data, each in OUT_DIR/<pass>/:
  sequential  the handlers one after another, each in a thread of its own (as runserver serves them)
  threads     the same handlers on 4 worker threads at once, so every log interleaves them
Each pass writes:
  django.log             the django.db.backends debug log (3.2 form, `%(asctime)s %(name)s ...` prefix,
                         dbopt-unit: markers); sequential pass only: without a thread nothing tells
                         interleaved requests apart
  django_threadname.log  the same with `[%(threadName)s]` in the prefix; markers only in the threads
                         pass (sequentially, each request's thread name is its unit)
  django_thread.log      the same with `%(thread)d` in the prefix, with markers (thread ids are reused)
  *.owners.json          for each Django log: [first line, handler] of every record
  queries.jsonl          JSON Lines from an execute_wrapper: sql, params, duration_ms, request_id, thread,
                         stack (sequential: innermost frame first, project files relative, as Sentry lists
                         them; threads: outermost first, absolute paths, the wrapper's own frame included,
                         as Python's traceback lists them)
  postgres.log / postgres.csv / postgres.json
                         the server's own stderr/csvlog/jsonlog lines of the pass (statements of
                         dbopt_nplusone are logged with log_min_duration_statement = 0), when readable here
OUT_DIR/run.json says what was written, the handlers, and why a server log is missing. Each request
runs in its own database session with application_name = the handler's name.
"""
import json
import logging
import os
import queue
import sys
import threading
import time
from urllib.parse import unquote, urlparse

HERE = os.path.dirname(os.path.abspath(__file__))
DB_NAME = "dbopt_nplusone"
LOCK_KEY = 4242005  # pg_advisory_lock key of a shop run


def server_params():
    url = urlparse(os.environ["DBOPT_TEST_DATABASE_URL"])
    return {
        "host": url.hostname or "127.0.0.1",
        "port": url.port or 5432,
        "user": unquote(url.username or ""),
        "password": unquote(url.password or ""),
        "dbname": url.path.lstrip("/") or "postgres",
    }


def prepare_database(params):
    """Creates the shop's database; returns the server log files and the connection that holds the lock."""
    import psycopg2

    conn = psycopg2.connect(**params)
    conn.autocommit = True
    with conn.cursor() as cur:
        # Test processes may run side by side (ctest -j): one shop run at a time, so that neither
        # drops the other's tables nor writes into the other's slice of the server log.
        cur.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,))
        if not cur.fetchone():
            cur.execute("CREATE DATABASE " + DB_NAME)
        cur.execute("ALTER DATABASE " + DB_NAME + " SET log_min_duration_statement = 0")
        logs = {}
        for kind in ("stderr", "csvlog", "jsonlog"):
            cur.execute("SELECT current_setting('data_directory'), pg_current_logfile(%s)", (kind,))
            data_dir, name = cur.fetchone()
            if name:
                logs[kind] = name if name.startswith("/") else os.path.join(data_dir, name)
    return logs, conn


def configure_django(params):
    sys.path.insert(0, HERE)
    import django
    from django.conf import settings

    settings.configure(
        DEBUG=True,  # Django 3.2 logs SQL only with DEBUG on
        INSTALLED_APPS=["shop", "blog"],
        ROOT_URLCONF="n1site.urls",
        MIDDLEWARE=["n1site.middleware.UnitOfWorkMiddleware"],
        ALLOWED_HOSTS=["*"],
        DATABASES={
            "default": {
                "ENGINE": "django.db.backends.postgresql",
                "NAME": DB_NAME,
                "USER": params["user"],
                "PASSWORD": params["password"],
                "HOST": params["host"],
                "PORT": params["port"],
                "OPTIONS": {"application_name": "setup"},
            }
        },
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        USE_TZ=True,
        LOGGING_CONFIG=None,
    )
    django.setup()


class OwnedLineLog(logging.FileHandler):
    """A log file that also records which request wrote each record: [first line, handler]."""

    def __init__(self, path, fmt, with_markers):
        super().__init__(path, mode="w")
        self.setFormatter(logging.Formatter(fmt))
        self.owners_path = path + ".owners.json"
        self.owners = []
        self.line = 1
        self.with_markers = with_markers

    def emit(self, record):  # called under the handler's lock
        if record.name == "dbopt" and not self.with_markers:
            return
        from n1site.querylog import current

        text = self.format(record)
        self.owners.append([self.line, getattr(current, "name", "setup")])
        self.line += text.count("\n") + 1
        super().emit(record)

    def close(self):
        with open(self.owners_path, "w") as f:
            json.dump(self.owners, f)
        super().close()


# name, format, the passes whose log has the dbopt-unit: markers, the passes that write it
DJANGO_LOGS = [
    ("django.log", "%(asctime)s %(name)s %(levelname)s %(message)s", {"sequential"}, {"sequential"}),
    ("django_threadname.log", "%(asctime)s [%(threadName)s] %(name)s %(levelname)s %(message)s", {"threads"},
     {"sequential", "threads"}),
    ("django_thread.log", "%(asctime)s %(thread)d %(name)s %(levelname)s %(message)s", {"sequential", "threads"},
     {"sequential", "threads"}),
]


def start_logs(pass_dir, pass_name):
    """The Django logs of a pass; interleaved requests need a thread in the prefix to be told apart."""
    from n1site import middleware, querylog

    handlers = [OwnedLineLog(os.path.join(pass_dir, name), fmt, pass_name in markers)
                for name, fmt, markers, passes in DJANGO_LOGS if pass_name in passes]
    for name in ("django.db.backends", "dbopt"):
        logger = logging.getLogger(name)
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
        for h in handlers:
            logger.addHandler(h)
    middleware.query_log = querylog.QueryLog(os.path.join(pass_dir, "queries.jsonl"),
                                               innermost_first=pass_name == "sequential")
    return handlers


def stop_logs(handlers):
    from n1site import middleware

    for name in ("django.db.backends", "dbopt"):
        for h in handlers:
            logging.getLogger(name).removeHandler(h)
    for h in handlers:
        h.close()
    middleware.query_log.close()


def create_schema_and_data():
    from django.db import connection
    from shop import models

    from blog import views as blog_views

    shop_models = [models.Profile, models.Author, models.Publisher, models.Tag, models.Book, models.Reader,
                   models.Card, models.Review]
    every_model = shop_models + blog_views.model_classes()
    with connection.schema_editor() as editor:
        for model in reversed(every_model):
            editor.execute("DROP TABLE IF EXISTS %s CASCADE" % model._meta.db_table)
        editor.execute("DROP TABLE IF EXISTS shop_book_tags CASCADE")
        editor.execute("DROP TABLE IF EXISTS blog_post_tags CASCADE")
        for model in every_model:
            editor.create_model(model)
    profiles = models.Profile.objects.bulk_create([models.Profile(bio="bio %d" % i) for i in range(12)])
    authors = models.Author.objects.bulk_create(
        [models.Author(name="author %d" % i, profile=profiles[i]) for i in range(12)])
    publishers = models.Publisher.objects.bulk_create([models.Publisher(name="pub %d" % i) for i in range(3)])
    tags = models.Tag.objects.bulk_create([models.Tag(name="tag %d" % i) for i in range(5)])
    books = models.Book.objects.bulk_create([
        models.Book(title="book %02d" % i, author=authors[i % 12], publisher=publishers[i % 3], price=10 + i)
        for i in range(20)])
    through = models.Book.tags.through
    through.objects.bulk_create(
        [through(book_id=b.id, tag_id=tags[(b.id + k) % 5].id) for b in books for k in range(2)])
    readers = models.Reader.objects.bulk_create([models.Reader(name="reader %d" % i) for i in range(10)])
    models.Card.objects.bulk_create([models.Card(reader=r, number="C%03d" % r.id) for r in readers])
    models.Review.objects.bulk_create([
        models.Review(book=books[i % 20], reader=readers[i % 10], approved=i % 2 == 0, stars=i % 5)
        for i in range(60)])
    blog_views.create_data()


def copy_new_lines(path, offset, target):
    with open(path, "rb") as src, open(target, "wb") as dst:
        src.seek(offset)
        dst.write(src.read())


def server_log_offsets(logs, problems):
    readable = {}
    for kind, path in logs.items():
        try:
            readable[kind] = (path, os.path.getsize(path))
        except OSError as e:
            problems.append("%s log %s: %s" % (kind, path, e))
    return readable


def copy_server_logs(readable, pass_name, pass_dir, params):
    """Copies the server log lines of this pass, once the collector has written its end marker."""
    import psycopg2

    end = "dbopt_pass_end_" + pass_name
    conn = psycopg2.connect(application_name=end, **params)
    with conn.cursor() as cur:
        cur.execute("SELECT 1")
    conn.close()
    names = {"stderr": "postgres.log", "csvlog": "postgres.csv", "jsonlog": "postgres.json"}
    deadline = time.time() + 10
    while time.time() < deadline:
        if all(end.encode() in open(p, "rb").read()[off:] for p, off in readable.values()):
            break
        time.sleep(0.2)
    written = []
    for kind, (path, offset) in readable.items():
        copy_new_lines(path, offset, os.path.join(pass_dir, names[kind]))
        written.append(names[kind])
    return written


def run_pass(pass_name, out_dir, params, logs, problems):
    from django.core.handlers.base import BaseHandler
    from django.test import RequestFactory
    from n1site.urls import HANDLERS

    create_schema_and_data()
    pass_dir = os.path.join(out_dir, pass_name)
    os.makedirs(pass_dir, exist_ok=True)
    readable = server_log_offsets(logs, problems)
    handlers = start_logs(pass_dir, pass_name)
    factory = RequestFactory()

    def serve(handler):
        site = BaseHandler()
        site.load_middleware()
        response = site.get_response(factory.get("/%s/" % handler.__name__))
        assert response.status_code == 200, (handler.__name__, response.status_code)

    if pass_name == "sequential":
        for h in HANDLERS:  # a thread per request, as Django's runserver serves them
            t = threading.Thread(target=serve, args=(h,))
            t.start()
            t.join()
    else:
        work = queue.Queue()
        for h in HANDLERS:
            work.put(h)
        failures = []

        def worker():
            while True:
                try:
                    h = work.get_nowait()
                except queue.Empty:
                    return
                try:
                    serve(h)
                except Exception as e:  # reported after the pass
                    failures.append(repr(e))

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if failures:
            raise RuntimeError("handlers failed: %s" % failures)
    stop_logs(handlers)
    written = [os.path.basename(h.baseFilename) for h in handlers] + ["queries.jsonl"]
    if readable:
        written += copy_server_logs(readable, pass_name, pass_dir, params)
    return written


def main():
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    params = server_params()
    logs, lock = prepare_database(params)
    problems = []
    configure_django(params)
    from n1site.urls import HANDLERS

    written = {}
    for pass_name in ("sequential", "threads"):
        written[pass_name] = run_pass(pass_name, out_dir, dict(params, dbname=DB_NAME), logs, problems)
    with open(os.path.join(out_dir, "run.json"), "w") as f:
        json.dump({"passes": written, "problems": problems, "handlers": [h.__name__ for h in HANDLERS]}, f)
    lock.close()  # releases the advisory lock


if __name__ == "__main__":
    main()
