-- A hand-made index set for the helpdesk workload, written with the workload
-- (before any advisor ran on it), the way a PostgreSQL engineer would index it.
CREATE INDEX ON tickets (tenant_id, created_at DESC) WHERE status = 'open' AND deleted_at IS NULL;  -- 1, 3
CREATE INDEX ON tickets (assignee_id);                                                              -- 2
CREATE INDEX ON tickets (tenant_id) WHERE deleted_at IS NULL;                                       -- 26, 27, 32
CREATE INDEX ON tickets (project_id);                                                               -- 28
CREATE INDEX ON tickets (updated_at) WHERE status = 'pending' AND deleted_at IS NULL;               -- 21
CREATE INDEX ON tickets (deleted_at) WHERE deleted_at IS NOT NULL;                                  -- 29
CREATE INDEX ON tickets USING gin (upper(title::text) gin_trgm_ops);                                -- 8
CREATE INDEX ON comments (ticket_id);                                                               -- 5
CREATE INDEX ON comments (author_id);                                                               -- 20
CREATE INDEX ON comments USING gin (to_tsvector('english'::regconfig, body));                       -- 11
CREATE INDEX ON users (upper(email::text));                                                         -- 6
CREATE INDEX ON users (tenant_id);                                                                  -- 7, 25
CREATE INDEX ON users USING gin (full_name gin_trgm_ops);                                           -- 31
CREATE INDEX ON events (tenant_id, ts DESC);                                                        -- 13
CREATE INDEX ON events (user_id);                                                                   -- 14
CREATE INDEX ON events USING brin (ts);                                                             -- 12, 15
CREATE INDEX ON events USING gin (props jsonb_path_ops);                                            -- 9
CREATE INDEX ON articles USING gin (search);                                                        -- 10
CREATE INDEX ON articles (tenant_id);                                                               -- 30
CREATE INDEX ON projects (tenant_id);                                                               -- 16
CREATE INDEX ON ticket_tags (tag_id);                                                               -- 18
CREATE INDEX ON tenants (slug);                                                                     -- 19
