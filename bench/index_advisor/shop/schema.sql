-- bench/index_advisor: an ORM-style shop, 1M orders, 2M order items, 1M events.
-- Deterministic (generate_series and arithmetic, no random()). Only primary
-- keys: the advisors propose everything else.
DROP TABLE IF EXISTS order_items, orders, events, products, accounts CASCADE;

CREATE TABLE accounts (
  id integer PRIMARY KEY,
  email varchar(254) NOT NULL,
  username varchar(150) NOT NULL,
  plan varchar(20) NOT NULL,
  country char(2) NOT NULL,
  created_at timestamptz NOT NULL,
  deleted_at timestamptz
);
INSERT INTO accounts
SELECT g, 'user' || g || '@example.com', 'User_' || g,
       CASE WHEN g % 100 = 0 THEN 'enterprise' WHEN g % 10 = 1 THEN 'pro' ELSE 'free' END,
       (ARRAY['US', 'DE', 'FR', 'GB', 'NZ', 'JP', 'BR', 'IN'])[g % 8 + 1],
       timestamptz '2023-01-01' + g * interval '150 seconds',
       CASE WHEN g % 33 = 0 THEN timestamptz '2024-06-01' END
FROM generate_series(1, 200000) g;

CREATE TABLE products (
  id integer PRIMARY KEY,
  sku varchar(32) NOT NULL,
  name varchar(200) NOT NULL,
  category_id integer NOT NULL,
  price numeric(10, 2) NOT NULL,
  active boolean NOT NULL
);
INSERT INTO products
SELECT g, 'SKU-' || lpad(g::text, 6, '0'), 'Product ' || g, g % 200 + 1, (g * 37 % 10000) / 100.0, g % 20 <> 0
FROM generate_series(1, 50000) g;

CREATE TABLE orders (
  id bigint PRIMARY KEY,
  account_id integer NOT NULL REFERENCES accounts (id),
  tenant_id integer NOT NULL,
  status varchar(20) NOT NULL,
  total numeric(12, 2) NOT NULL,
  coupon_code varchar(20),
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL
);
INSERT INTO orders
SELECT g, (g::bigint * 7919) % 200000 + 1, g % 500 + 1,
       CASE WHEN g % 100 = 7 THEN 'cancelled' WHEN g % 33 = 1 THEN 'pending' WHEN g % 16 = 2 THEN 'shipped' ELSE 'delivered' END,
       (g * 13 % 50000) / 100.0,
       CASE WHEN g % 40 = 0 THEN 'SAVE' || (g % 7) END,
       timestamptz '2024-01-01' + g * interval '30 seconds',
       timestamptz '2024-01-01' + g * interval '30 seconds' + (g % 97) * interval '1 hour'
FROM generate_series(1, 1000000) g;

CREATE TABLE order_items (
  id bigint PRIMARY KEY,
  order_id bigint NOT NULL REFERENCES orders (id),
  product_id integer NOT NULL REFERENCES products (id),
  quantity integer NOT NULL,
  unit_price numeric(10, 2) NOT NULL
);
INSERT INTO order_items
SELECT g, (g + 1) / 2, (g::bigint * 104729) % 50000 + 1, g % 5 + 1, (g * 31 % 10000) / 100.0
FROM generate_series(1, 2000000) g;

CREATE TABLE events (
  id bigint PRIMARY KEY,
  account_id integer NOT NULL,
  kind varchar(20) NOT NULL,
  created_at timestamptz NOT NULL,
  payload jsonb NOT NULL
);
INSERT INTO events
SELECT g, (g::bigint * 6007) % 200000 + 1,
       (ARRAY['login', 'logout', 'view', 'view', 'view', 'search', 'search', 'cart', 'purchase', 'error'])[g % 10 + 1],
       timestamptz '2024-01-01' + g * interval '20 seconds',
       jsonb_build_object('ip', '10.0.' || (g % 250) || '.' || (g % 200), 'ua', 'agent ' || (g % 17))
FROM generate_series(1, 1000000) g;
