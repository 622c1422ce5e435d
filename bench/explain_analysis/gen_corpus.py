#!/usr/bin/env python3
"""Writes the SQL corpus for the explain_analysis benchmark: one query per line.

The queries have the shapes Django's ORM sends for a small shop (the models of
tests/fixtures/sql/seed.sql under Django's table names): .get() with LIMIT 21,
filter/order_by/slices, select_related joins (INNER and LEFT OUTER), the
IN lists of prefetch_related, COUNT and EXISTS, icontains, annotate with
GROUP BY, __in subqueries, Q(...) | Q(...), date ranges, and the INSERT,
UPDATE and DELETE of save() and delete(). About a third have their values
interpolated (psycopg2 logs), the rest carry $n placeholders (psycopg 3 and
pg_stat_statements).

Deterministic: the same seed gives the same file on every machine.
Usage: gen_corpus.py [COUNT] > corpus.sql      (COUNT defaults to 10000)
"""
import random
import sys

MODELS = {
    "shop_tenant": ["id", "name", "plan", "created_at"],
    "shop_customer": ["id", "tenant_id", "email", "full_name", "country", "created_at", "last_login_at"],
    "shop_product": ["id", "tenant_id", "sku", "name", "description", "attrs", "price_cents", "active", "created_at"],
    "shop_order": ["id", "tenant_id", "customer_id", "status", "total_cents", "currency", "created_at", "shipped_at"],
    "shop_orderitem": ["id", "order_id", "product_id", "quantity", "unit_price_cents"],
    "shop_event": ["id", "tenant_id", "customer_id", "kind", "payload", "created_at"],
}
# (child, fk column, parent): what select_related and prefetch_related follow.
FOREIGN_KEYS = [
    ("shop_customer", "tenant_id", "shop_tenant"),
    ("shop_product", "tenant_id", "shop_tenant"),
    ("shop_order", "tenant_id", "shop_tenant"),
    ("shop_order", "customer_id", "shop_customer"),
    ("shop_orderitem", "order_id", "shop_order"),
    ("shop_orderitem", "product_id", "shop_product"),
    ("shop_event", "customer_id", "shop_customer"),
]
FILTERS = {
    "shop_customer": [("country", "text"), ("tenant_id", "int"), ("created_at", "ts")],
    "shop_product": [("active", "bool"), ("tenant_id", "int"), ("price_cents", "int")],
    "shop_order": [("status", "text"), ("tenant_id", "int"), ("customer_id", "int"), ("created_at", "ts")],
    "shop_orderitem": [("order_id", "int"), ("product_id", "int"), ("quantity", "int")],
    "shop_event": [("kind", "text"), ("tenant_id", "int"), ("created_at", "ts")],
    "shop_tenant": [("plan", "text")],
}
TEXT_VALUES = {"country": ["DE", "FR", "US"], "status": ["paid", "pending", "shipped"],
               "kind": ["login", "page_view"], "plan": ["pro", "free"]}


class Query:
    """One statement under construction: numbers its placeholders or inlines values."""

    def __init__(self, rng, inline):
        self.rng = rng
        self.inline = inline
        self.n = 0

    def value(self, kind, column=""):
        if not self.inline:
            self.n += 1
            return f"${self.n}"
        rng = self.rng
        if kind == "int":
            return str(rng.randint(1, 200000))
        if kind == "bool":
            return rng.choice(["true", "false"])
        if kind == "ts":
            return f"'2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T00:00:00+00:00'::timestamptz"
        return "'" + rng.choice(TEXT_VALUES.get(column, ["x"])) + "'"


def q(name):
    return f'"{name}"'


def col(table, column):
    return f'{q(table)}.{q(column)}'


def select_list(table, alias=None):
    t = alias or table
    return ", ".join(col(t, c) for c in MODELS[table])


def where_clause(query, table, count):
    rng = query.rng
    parts = []
    for column, kind in rng.sample(FILTERS[table], min(count, len(FILTERS[table]))):
        if kind == "ts":
            parts.append(f"{col(table, column)} >= {query.value(kind)}")
            parts.append(f"{col(table, column)} < {query.value(kind)}")
        else:
            parts.append(f"{col(table, column)} = {query.value(kind, column)}")
    return " AND ".join(parts)


def order_by(rng, table):
    column = rng.choice(["created_at", "id"]) if "created_at" in MODELS[table] else "id"
    return f"ORDER BY {col(table, column)} {rng.choice(['ASC', 'DESC'])}"


def get_by_pk(query):
    table = query.rng.choice(list(MODELS))
    return f"SELECT {select_list(table)} FROM {q(table)} WHERE {col(table, 'id')} = {query.value('int')} LIMIT 21"


def filtered_page(query):
    rng = query.rng
    table = rng.choice(list(FILTERS))
    sql = f"SELECT {select_list(table)} FROM {q(table)} WHERE {where_clause(query, table, rng.randint(1, 2))} {order_by(rng, table)}"
    sql += f" LIMIT {rng.choice([20, 25, 50, 100])}"
    if rng.random() < 0.4:
        sql += f" OFFSET {rng.choice([20, 100, 1000, 20000])}"
    return sql


def select_related(query):
    rng = query.rng
    child, fk, parent = rng.choice(FOREIGN_KEYS)
    join = "LEFT OUTER JOIN" if child == "shop_event" else "INNER JOIN"
    sql = (f"SELECT {select_list(child)}, {select_list(parent)} FROM {q(child)} {join} {q(parent)} "
           f"ON ({col(child, fk)} = {col(parent, 'id')}) WHERE {where_clause(query, child, 1)}")
    if rng.random() < 0.5:
        sql += f" {order_by(rng, child)} LIMIT 21"
    return sql


def two_joins(query):
    rng = query.rng
    sql = (f"SELECT {select_list('shop_orderitem')}, {select_list('shop_order')}, {select_list('shop_customer')} "
           f"FROM {q('shop_orderitem')} INNER JOIN {q('shop_order')} ON ({col('shop_orderitem', 'order_id')} = {col('shop_order', 'id')}) "
           f"LEFT OUTER JOIN {q('shop_customer')} ON ({col('shop_order', 'customer_id')} = {col('shop_customer', 'id')}) "
           f"WHERE {col('shop_order', 'tenant_id')} = {query.value('int')}")
    if rng.random() < 0.5:
        sql += f" AND {col('shop_order', 'status')} IN ({query.value('text', 'status')}, {query.value('text', 'status')})"
    return sql + f" ORDER BY {col('shop_order', 'created_at')} DESC LIMIT {rng.choice([10, 50])}"


def prefetch_in_list(query):
    rng = query.rng
    child, fk, _parent = rng.choice(FOREIGN_KEYS)
    size = rng.choice([1, 2, 5, 10, 20, 21, 50, 100])
    items = ", ".join(query.value("int") for _ in range(size))
    return f"SELECT {select_list(child)} FROM {q(child)} WHERE {col(child, fk)} IN ({items})"


def count(query):
    table = query.rng.choice(list(FILTERS))
    return f'SELECT COUNT(*) AS "__count" FROM {q(table)} WHERE {where_clause(query, table, 1)}'


def exists(query):
    table = query.rng.choice(list(FILTERS))
    return f'SELECT 1 AS "a" FROM {q(table)} WHERE {where_clause(query, table, 2)} LIMIT 1'


def icontains(query):
    return (f"SELECT {select_list('shop_customer')} FROM {q('shop_customer')} "
            f"WHERE UPPER({col('shop_customer', 'email')}::text) LIKE UPPER({query.value('text')}) "
            f"{order_by(query.rng, 'shop_customer')} LIMIT 25")


def annotate_group(query):
    rng = query.rng
    table, column = rng.choice([("shop_order", "status"), ("shop_event", "kind"), ("shop_customer", "country")])
    return (f"SELECT {col(table, column)}, COUNT({col(table, 'id')}) AS \"n\" FROM {q(table)} "
            f"WHERE {col(table, 'tenant_id')} = {query.value('int')} GROUP BY {col(table, column)} ORDER BY \"n\" DESC")


def in_subquery(query):
    return (f"SELECT {select_list('shop_order')} FROM {q('shop_order')} WHERE {col('shop_order', 'customer_id')} IN "
            f"(SELECT U0.\"id\" FROM \"shop_customer\" U0 WHERE U0.\"country\" = {query.value('text', 'country')}) "
            f"{order_by(query.rng, 'shop_order')} LIMIT 100")


def q_or(query):
    return (f"SELECT {select_list('shop_order')} FROM {q('shop_order')} WHERE ({col('shop_order', 'status')} = "
            f"{query.value('text', 'status')} OR {col('shop_order', 'total_cents')} > {query.value('int')}) "
            f"{order_by(query.rng, 'shop_order')} LIMIT 50")


def insert(query):
    table = query.rng.choice(["shop_event", "shop_orderitem", "shop_order"])
    columns = MODELS[table][1:]
    values = ", ".join(query.value("int") for _ in columns)
    return (f"INSERT INTO {q(table)} ({', '.join(q(c) for c in columns)}) VALUES ({values}) "
            f"RETURNING {col(table, 'id')}")


def update(query):
    table = query.rng.choice(["shop_order", "shop_customer", "shop_product"])
    columns = query.rng.sample(MODELS[table][1:], 2)
    sets = ", ".join(f"{q(c)} = {query.value('int')}" for c in columns)
    return f"UPDATE {q(table)} SET {sets} WHERE {col(table, 'id')} = {query.value('int')}"


def delete(query):
    table = query.rng.choice(["shop_event", "shop_orderitem"])
    return f"DELETE FROM {q(table)} WHERE {col(table, 'id')} IN ({query.value('int')}, {query.value('int')})"


# Weights: reads dominate a Django app's traffic.
SHAPES = [(get_by_pk, 18), (filtered_page, 14), (select_related, 14), (two_joins, 5), (prefetch_in_list, 12),
          (count, 7), (exists, 5), (icontains, 3), (annotate_group, 3), (in_subquery, 3), (q_or, 3),
          (insert, 6), (update, 5), (delete, 2)]


def main():
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
    rng = random.Random(20240601)
    shapes = [shape for shape, _ in SHAPES]
    weights = [weight for _, weight in SHAPES]
    out = sys.stdout
    for _ in range(total):
        shape = rng.choices(shapes, weights)[0]
        out.write(shape(Query(rng, inline=rng.random() < 0.33)) + "\n")


if __name__ == "__main__":
    main()
