-- bench/index_advisor/helpdesk: a multi-tenant helpdesk SaaS (second, independent
-- workload, written before any tuning): soft deletes, an append-only event
-- stream with jsonb properties, a help-center with a stored tsvector, comment
-- bodies searched with to_tsvector on the fly, ticket titles searched with
-- ILIKE '%...%'. 2,000 tenants, 100k users, 1M tickets, 2M comments, 2M events.
-- Deterministic (generate_series and arithmetic, no random()). Primary keys
-- and foreign keys only: the advisors propose everything else.
DROP TABLE IF EXISTS ticket_tags, tags, comments, tickets, projects, users, events, articles, tenants CASCADE;

CREATE TABLE tenants (
  id integer PRIMARY KEY,
  slug varchar(50) NOT NULL,
  name varchar(200) NOT NULL,
  plan varchar(20) NOT NULL,
  created_at timestamptz NOT NULL
);
INSERT INTO tenants
SELECT g, 'tenant-' || g, 'Tenant ' || g, (ARRAY['free', 'team', 'business', 'enterprise'])[g % 4 + 1],
       timestamptz '2022-01-01' + g * interval '3 hours'
FROM generate_series(1, 2000) g;

CREATE TABLE users (
  id integer PRIMARY KEY,
  tenant_id integer NOT NULL REFERENCES tenants (id),
  email varchar(254) NOT NULL,
  full_name varchar(150) NOT NULL,
  is_active boolean NOT NULL,
  last_login timestamptz,
  deleted_at timestamptz
);
INSERT INTO users
SELECT g, g % 2000 + 1, 'Agent' || g || '@Example.com', 'Agent ' || (g * 7 % 1000) || ' ' || g, g % 9 <> 0,
       timestamptz '2024-01-01' + (g * 37 % 10000) * interval '1 hour',
       CASE WHEN g % 50 = 0 THEN timestamptz '2024-05-01' END
FROM generate_series(1, 100000) g;

CREATE TABLE projects (
  id integer PRIMARY KEY,
  tenant_id integer NOT NULL REFERENCES tenants (id),
  name varchar(200) NOT NULL,
  archived boolean NOT NULL,
  created_at timestamptz NOT NULL
);
INSERT INTO projects
SELECT g, g % 2000 + 1, 'Project ' || (g * 13 % 997), g % 6 = 0, timestamptz '2022-06-01' + g * interval '20 minutes'
FROM generate_series(1, 20000) g;

CREATE TABLE tickets (
  id bigint PRIMARY KEY,
  tenant_id integer NOT NULL REFERENCES tenants (id),
  project_id integer NOT NULL REFERENCES projects (id),
  reporter_id integer NOT NULL REFERENCES users (id),
  assignee_id integer REFERENCES users (id),
  status varchar(20) NOT NULL,
  priority smallint NOT NULL,
  title varchar(300) NOT NULL,
  metadata jsonb NOT NULL,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  deleted_at timestamptz
);
INSERT INTO tickets
SELECT g, g % 2000 + 1, (g * 7) % 20000 + 1, (g * 31) % 100000 + 1,
       CASE WHEN g % 5 = 0 THEN NULL ELSE (g * 17) % 100000 + 1 END,
       CASE WHEN g % 20 = 3 THEN 'open' WHEN g % 33 = 5 THEN 'pending' ELSE 'closed' END,
       g % 4,
       (ARRAY['Cannot log in', 'Invoice question', 'Printer offline', 'Refund request', 'Slow dashboard',
              'Password reset', 'Export fails', 'Billing address change'])[g % 8 + 1] || ' #' || g,
       jsonb_build_object('source', (ARRAY['email', 'web', 'chat', 'api'])[g % 4 + 1], 'sla', g % 3,
                          'vip', g % 250 = 0),
       timestamptz '2023-01-01' + g * interval '40 seconds',
       timestamptz '2023-01-01' + g * interval '40 seconds' + (g % 500) * interval '1 hour',
       CASE WHEN g % 31 = 0 THEN timestamptz '2023-01-01' + g * interval '41 seconds' END
FROM generate_series(1, 1000000) g;

CREATE TABLE comments (
  id bigint PRIMARY KEY,
  ticket_id bigint NOT NULL REFERENCES tickets (id),
  author_id integer NOT NULL REFERENCES users (id),
  body text NOT NULL,
  is_internal boolean NOT NULL,
  created_at timestamptz NOT NULL
);
INSERT INTO comments
SELECT g, (g::bigint * 499979) % 1000000 + 1, (g::bigint * 7919) % 100000 + 1,
       (ARRAY['Thanks, that fixed it.', 'Could you send a screenshot of the error?', 'We are looking into this.',
              'The export finished after a retry.', 'Please check the attached log file.',
              'I restarted the service and it works again.', 'Escalating to the billing team.',
              'Customer asked for a callback tomorrow.'])[g % 8 + 1]
         || CASE WHEN g % 400 = 0 THEN ' A refund was issued to the card.' ELSE '' END,
       g % 5 = 0,
       timestamptz '2023-01-01' + g * interval '20 seconds'
FROM generate_series(1, 2000000) g;

CREATE TABLE tags (
  id integer PRIMARY KEY,
  tenant_id integer NOT NULL REFERENCES tenants (id),
  name varchar(50) NOT NULL
);
INSERT INTO tags SELECT g, g % 2000 + 1, 'tag-' || g FROM generate_series(1, 20000) g;

CREATE TABLE ticket_tags (
  ticket_id bigint NOT NULL REFERENCES tickets (id),
  tag_id integer NOT NULL REFERENCES tags (id),
  PRIMARY KEY (ticket_id, tag_id)
);
INSERT INTO ticket_tags
SELECT t, (t * 13 + k * 7001) % 20000 + 1 FROM generate_series(1, 1000000) t, generate_series(0, 1) k;

CREATE TABLE events (
  id bigint PRIMARY KEY,
  tenant_id integer NOT NULL REFERENCES tenants (id),
  user_id integer NOT NULL REFERENCES users (id),
  kind varchar(30) NOT NULL,
  ts timestamptz NOT NULL,
  props jsonb NOT NULL
);
INSERT INTO events
SELECT g, g * 7 % 2000 + 1, (g::bigint * 6007) % 100000 + 1,
       (ARRAY['page_view', 'page_view', 'page_view', 'ticket_view', 'ticket_update', 'search', 'login', 'export'])[g % 8 + 1],
       timestamptz '2024-01-01' + g * interval '15 seconds',
       jsonb_build_object('path', '/t/' || (g % 5000), 'campaign', 'c-' || (g % 997), 'ms', g % 800)
FROM generate_series(1, 2000000) g;

CREATE TABLE articles (
  id integer PRIMARY KEY,
  tenant_id integer NOT NULL REFERENCES tenants (id),
  title varchar(300) NOT NULL,
  body text NOT NULL,
  published boolean NOT NULL,
  search tsvector GENERATED ALWAYS AS (to_tsvector('english', title || ' ' || body)) STORED,
  created_at timestamptz NOT NULL
);
INSERT INTO articles (id, tenant_id, title, body, published, created_at)
SELECT g, g % 2000 + 1,
       (ARRAY['How to reset your password', 'Setting up single sign-on', 'Exporting reports to CSV',
              'Understanding your invoice', 'Connecting the mobile app', 'Managing user roles'])[g % 6 + 1] || ' (' || g || ')',
       repeat('This article explains the steps in detail with screenshots and examples. ', 6)
         || (ARRAY['password', 'sso saml', 'csv export', 'invoice billing', 'mobile ios android', 'roles permissions'])[g % 6 + 1]
         || CASE WHEN g % 500 = 0 THEN ' webhook signature verification' ELSE '' END,
       g % 10 <> 0, timestamptz '2022-01-01' + g * interval '30 minutes'
FROM generate_series(1, 200000) g;
