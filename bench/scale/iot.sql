-- The IoT product: multi-tenant (organizations; every table carries
-- organization_id with a foreign key), devices read far more than written,
-- alerts churning, sensor readings appended in time order, a small shared
-- firmware table. Run by bench/scale/run into dbopt_bench_scale_iot.
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
CREATE TABLE organizations (id bigint PRIMARY KEY, name text NOT NULL, plan text NOT NULL);
CREATE TABLE firmware_versions (id int PRIMARY KEY, version text NOT NULL, released date NOT NULL);
CREATE TABLE devices (id bigint PRIMARY KEY, organization_id bigint NOT NULL REFERENCES organizations (id),
                      firmware_id int NOT NULL REFERENCES firmware_versions (id), serial text NOT NULL, label text);
CREATE TABLE sensor_readings (id bigserial PRIMARY KEY, organization_id bigint NOT NULL REFERENCES organizations (id),
                              device_id bigint NOT NULL, recorded_at timestamptz NOT NULL, value double precision NOT NULL);
CREATE TABLE alerts (id bigserial PRIMARY KEY, organization_id bigint NOT NULL REFERENCES organizations (id),
                     device_id bigint NOT NULL, raised_at timestamptz NOT NULL, acknowledged boolean NOT NULL DEFAULT false);
CREATE TABLE dashboards (id bigserial PRIMARY KEY, organization_id bigint NOT NULL REFERENCES organizations (id),
                         name text NOT NULL, layout jsonb);
INSERT INTO organizations SELECT g, 'org ' || g, 'pro' FROM generate_series(1, 40) g;
INSERT INTO firmware_versions SELECT g, '1.' || g, date '2025-01-01' + g FROM generate_series(1, 12) g;
INSERT INTO devices SELECT g, 1 + g % 40, 1 + g % 12, 'SN' || g, 'device ' || g FROM generate_series(1, 4000) g;
INSERT INTO dashboards (organization_id, name) SELECT 1 + g % 40, 'board ' || g FROM generate_series(1, 200) g;
ANALYZE;
-- @traffic: bench/scale/run runs the rest in a new session, once the load's counters are flushed.
-- Every counter of this database (a table's idx_scan is the sum of its indexes' counters, which a
-- per-table reset leaves), then ANALYZE again for n_live_tup.
SELECT pg_stat_reset();
ANALYZE;
SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database WHERE datname = current_database()), 0);
-- devices: read-heavy (the API looks a device up on every message).
DO $$ BEGIN FOR i IN 1..30000 LOOP PERFORM serial FROM devices WHERE id = 1 + (i * 13) % 4000; END LOOP; END $$;
DO $$ BEGIN FOR i IN 1..40 LOOP UPDATE devices SET label = 'renamed' WHERE id = i; END LOOP; END $$;
DO $$ BEGIN FOR i IN 1..3000 LOOP PERFORM version FROM firmware_versions WHERE id = 1 + i % 12; END LOOP; END $$;
-- dashboards: read 30 times per write.
DO $$ BEGIN FOR i IN 1..3000 LOOP PERFORM name FROM dashboards WHERE id = 1 + i % 200; END LOOP; END $$;
UPDATE dashboards SET layout = '{}' WHERE id <= 100;
-- sensor_readings: append-only, in time order.
INSERT INTO sensor_readings (organization_id, device_id, recorded_at, value)
  SELECT 1 + g % 40, 1 + g % 4000, timestamptz '2026-01-01' + g * interval '2 seconds', (g % 1000) * 0.01
  FROM generate_series(1, 400000) g;
-- alerts: raised, acknowledged, cleared: write-heavy.
DO $$ BEGIN FOR i IN 1..5000 LOOP INSERT INTO alerts (organization_id, device_id, raised_at) VALUES (1 + i % 40, 1 + i % 4000, now()); END LOOP; END $$;
DO $$ BEGIN FOR i IN 1..4000 LOOP UPDATE alerts SET acknowledged = true WHERE id = i; END LOOP; END $$;
DELETE FROM alerts WHERE acknowledged;
ANALYZE sensor_readings;
ANALYZE alerts;
