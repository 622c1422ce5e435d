-- A catalog the size of a large application: 10,000 tables with 30,000
-- indexes (primary key + two secondary indexes each), 10,000 sequences, a
-- few rows per table and fresh statistics. Run by bench/health/run with psql
-- in autocommit mode: each statement is its own transaction, so no
-- transaction needs 40,000 locks.
SELECT format('CREATE TABLE IF NOT EXISTS bench_t%s (id serial PRIMARY KEY, account_id int, created_at timestamptz, note text)', g)
FROM generate_series(1, 10000) g \gexec
SELECT format('CREATE INDEX IF NOT EXISTS bench_t%s_account_idx ON bench_t%s (account_id)', g, g)
FROM generate_series(1, 10000) g \gexec
SELECT format('CREATE INDEX IF NOT EXISTS bench_t%s_created_idx ON bench_t%s (created_at)', g, g)
FROM generate_series(1, 10000) g \gexec
SELECT format('INSERT INTO bench_t%s (account_id, created_at, note) SELECT g, now(), ''row '' || g FROM generate_series(1, 20) g', g)
FROM generate_series(1, 10000) g \gexec
ANALYZE;
