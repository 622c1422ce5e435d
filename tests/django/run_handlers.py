#!/usr/bin/python3
"""Runs the shop's request handlers on a real PostgreSQL and writes the query logs they produce.

Usage: run_handlers.py OUT_DIR   (DBOPT_TEST_DATABASE_URL names the server; the shop uses its own
database, dbopt_nplusone, created and filled here, so nothing else is touched.)

Writes to OUT_DIR:
  django.log      the django.db.backends debug log (3.2 form, a formatter prefix, dbopt-unit: markers)
  queries.jsonl   JSON Lines from a connection execute_wrapper: sql, params, duration_ms, request_id, stack
  postgres.log / postgres.csv / postgres.json
                  the server's own stderr/csvlog/jsonlog lines of this run (statements of dbopt_nplusone are
                  logged with log_min_duration_statement = 0), when the server log is readable here
  run.json        what was written, and why a server log is missing
Each handler runs in its own database session with application_name = the handler's name.
"""
import json
import logging
import os
import sys
import time
import traceback
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


def configure_django(params, out_dir):
    sys.path.insert(0, HERE)
    import django
    from django.conf import settings

    settings.configure(
        DEBUG=True,  # Django 3.2 logs SQL only with DEBUG on
        INSTALLED_APPS=["shop"],
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
        LOGGING={
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {"plain": {"format": "%(asctime)s %(name)s %(levelname)s %(message)s"}},
            "handlers": {
                "file": {
                    "class": "logging.FileHandler",
                    "filename": os.path.join(out_dir, "django.log"),
                    "mode": "w",
                    "formatter": "plain",
                }
            },
            "loggers": {
                "django.db.backends": {"handlers": ["file"], "level": "DEBUG", "propagate": False},
                "dbopt": {"handlers": ["file"], "level": "INFO", "propagate": False},
            },
        },
    )
    django.setup()


def create_schema_and_data():
    from django.db import connection
    from shop import models

    with connection.schema_editor() as editor:
        for model in (models.Review, models.Card, models.Reader, models.Book, models.Tag, models.Publisher,
                      models.Author, models.Profile):
            editor.execute("DROP TABLE IF EXISTS %s CASCADE" % model._meta.db_table)
        editor.execute("DROP TABLE IF EXISTS shop_book_tags CASCADE")
        for model in (models.Profile, models.Author, models.Publisher, models.Tag, models.Book, models.Reader,
                      models.Card, models.Review):
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


def copy_new_lines(path, offset, target):
    with open(path, "rb") as src, open(target, "wb") as dst:
        src.seek(offset)
        dst.write(src.read())


def main():
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    params = server_params()
    logs, lock = prepare_database(params)
    readable = {}
    problems = []
    for kind, path in logs.items():
        try:
            readable[kind] = (path, os.path.getsize(path))
        except OSError as e:
            problems.append("%s log %s: %s" % (kind, path, e))
    configure_django(params, out_dir)
    from django.db import connection
    from shop import handlers

    create_schema_and_data()
    marker = logging.getLogger("dbopt")
    current = {"request": "setup"}
    jsonl = open(os.path.join(out_dir, "queries.jsonl"), "w")

    def capture(execute, sql, sql_params, many, context):
        stack = traceback.extract_stack()[:-1]  # without this wrapper's own frame
        start = time.perf_counter()
        try:
            return execute(sql, sql_params, many, context)
        finally:
            jsonl.write(json.dumps({
                "sql": sql,
                "params": [str(p) for p in (sql_params or [])] if not many else None,
                "duration_ms": (time.perf_counter() - start) * 1000,
                "ts": time.time(),
                "request_id": current["request"],
                "framework": "django",
                "stack": ["%s:%d in %s" % (f.filename, f.lineno, f.name) for f in stack],
            }) + "\n")

    with connection.execute_wrapper(capture):
        for handler in handlers.HANDLERS:
            name = handler.__name__
            connection.close()  # a new session per request, named after the handler
            connection.settings_dict["OPTIONS"]["application_name"] = name
            current["request"] = name
            marker.info("dbopt-unit: %s", name)
            handler()
        connection.close()
    jsonl.close()
    logging.shutdown()

    written = ["django.log", "queries.jsonl"]
    if readable:
        # The logging collector writes asynchronously: wait until this run's last session shows up.
        names = {"stderr": "postgres.log", "csvlog": "postgres.csv", "jsonlog": "postgres.json"}
        last = handlers.HANDLERS[-1].__name__
        deadline = time.time() + 10
        while time.time() < deadline:
            if all(last.encode() in open(p, "rb").read()[off:] for p, off in readable.values()):
                break
            time.sleep(0.2)
        for kind, (path, offset) in readable.items():
            copy_new_lines(path, offset, os.path.join(out_dir, names[kind]))
            written.append(names[kind])
    with open(os.path.join(out_dir, "run.json"), "w") as f:
        json.dump({"written": written, "problems": problems,
                   "handlers": [h.__name__ for h in handlers.HANDLERS]}, f)
    lock.close()  # releases the advisory lock


if __name__ == "__main__":
    main()
