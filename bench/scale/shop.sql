-- The shop: a read-mostly catalogue, churning carts and orders, an append-only
-- page-view log. Loaded, counters reset, then the traffic that the truth in
-- truth.json describes. Run by bench/scale/run into dbopt_bench_scale_shop.
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
CREATE TABLE categories (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE products (id bigint PRIMARY KEY, category_id int NOT NULL REFERENCES categories (id), name text NOT NULL,
                       price numeric NOT NULL, description text);
CREATE TABLE customers (id bigint PRIMARY KEY, email text NOT NULL, name text NOT NULL, last_login timestamptz);
CREATE TABLE carts (id bigint PRIMARY KEY, customer_id bigint NOT NULL REFERENCES customers (id), updated_at timestamptz NOT NULL);
CREATE TABLE cart_items (id bigserial PRIMARY KEY, cart_id bigint NOT NULL, product_id bigint NOT NULL, qty int NOT NULL);
CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id bigint NOT NULL REFERENCES customers (id), status text NOT NULL,
                     created_at timestamptz NOT NULL, total numeric NOT NULL);
CREATE TABLE page_views (id bigserial PRIMARY KEY, viewed_at timestamptz NOT NULL, path text NOT NULL, customer_id bigint);
INSERT INTO categories SELECT g, 'category ' || g FROM generate_series(1, 50) g;
INSERT INTO products SELECT g, 1 + g % 50, 'product ' || g, (g % 997) * 1.25, repeat('x', 200) FROM generate_series(1, 200000) g;
INSERT INTO customers SELECT g, 'c' || g || '@example.com', 'customer ' || g, now() FROM generate_series(1, 5000) g;
INSERT INTO carts SELECT g, 1 + g % 5000, now() FROM generate_series(1, 1000) g;
ANALYZE;
-- @traffic: bench/scale/run runs the rest in a new session, once the load's counters are flushed.
-- Every counter of this database (a table's idx_scan is the sum of its indexes' counters, which a
-- per-table reset leaves), then ANALYZE again for n_live_tup.
SELECT pg_stat_reset();
ANALYZE;
SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database WHERE datname = current_database()), 0);
-- Traffic. products and categories: read-heavy.
DO $$ BEGIN FOR i IN 1..20000 LOOP PERFORM name FROM products WHERE id = 1 + (i * 7919) % 200000; END LOOP; END $$;
DO $$ BEGIN FOR i IN 1..5000 LOOP PERFORM name FROM categories WHERE id = 1 + i % 50; END LOOP; END $$;
UPDATE products SET price = price + 1 WHERE id <= 50;
-- customers: read 15 times per write (neither read- nor write-heavy).
DO $$ BEGIN FOR i IN 1..3000 LOOP PERFORM email FROM customers WHERE id = 1 + (i * 31) % 5000; END LOOP; END $$;
DO $$ BEGIN FOR i IN 1..200 LOOP UPDATE customers SET last_login = now() WHERE id = i; END LOOP; END $$;
-- carts and cart_items: write-heavy.
DO $$ BEGIN FOR i IN 1..3000 LOOP UPDATE carts SET updated_at = now() WHERE id = 1 + i % 1000; END LOOP; END $$;
DO $$ BEGIN FOR i IN 1..6000 LOOP INSERT INTO cart_items (cart_id, product_id, qty) VALUES (1 + i % 1000, 1 + i % 200000, 1); END LOOP; END $$;
DO $$ BEGIN FOR i IN 1..3000 LOOP UPDATE cart_items SET qty = qty + 1 WHERE id = i; END LOOP; END $$;
DELETE FROM cart_items WHERE id % 3 = 0;
-- orders: inserted, then their status updated (not append-only): write-heavy.
INSERT INTO orders (customer_id, status, created_at, total)
  SELECT 1 + g % 5000, 'new', timestamptz '2026-01-01' + g * interval '1 minute', g % 300 FROM generate_series(1, 10000) g;
DO $$ BEGIN FOR i IN 1..4000 LOOP UPDATE orders SET status = 'paid' WHERE id = i; END LOOP; END $$;
-- page_views: append-only, in time order.
INSERT INTO page_views (viewed_at, path, customer_id)
  SELECT timestamptz '2026-01-01' + g * interval '10 seconds', '/p/' || (g % 1000), 1 + g % 5000 FROM generate_series(1, 300000) g;
ANALYZE orders;
ANALYZE page_views;
ANALYZE cart_items;
