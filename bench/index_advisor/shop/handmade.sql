-- A hand-made index set for the shop workload, the way a PostgreSQL engineer
-- would index it by reading the 26 statements (written without running an advisor).
CREATE INDEX ON accounts (email);                                             -- 1, 19
CREATE INDEX ON accounts (upper(username::text));                             -- 2
CREATE INDEX ON accounts (created_at) WHERE plan = 'enterprise' AND deleted_at IS NULL;  -- 17
CREATE INDEX ON accounts (country, plan);                                     -- 18
CREATE INDEX ON accounts USING brin (created_at);                             -- 24
CREATE INDEX ON orders (account_id, created_at);                              -- 3, 8, 19, 21, 23
CREATE INDEX ON orders (tenant_id, created_at) WHERE status = 'pending';      -- 4, 5
CREATE INDEX ON orders (created_at) WHERE status = 'cancelled';               -- 6
CREATE INDEX ON orders (created_at);                                          -- 7
CREATE INDEX ON orders (coupon_code);                                         -- 20
CREATE INDEX ON orders (updated_at);                                          -- 25
CREATE INDEX ON orders (tenant_id, created_at);                               -- 26
CREATE INDEX ON order_items (order_id);                                       -- 9, 10, 23
CREATE INDEX ON order_items (product_id);                                     -- 11
CREATE INDEX ON products (sku);                                               -- 12
CREATE INDEX ON products (category_id, price);                                -- 13, 14
CREATE INDEX ON events (account_id, created_at);                              -- 15, 22
CREATE INDEX ON events (created_at) WHERE kind = 'login';                     -- 16
