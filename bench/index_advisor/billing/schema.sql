-- bench/index_advisor/billing: a multi-tenant invoicing and CRM SaaS (third,
-- independent workload, written on 3 December before any advisor ran on it):
-- Django-named tables, soft-deleted and archived contacts found by iexact
-- email, invoices listed per tenant and status, a jsonb metadata search, an
-- append-only audit log (created_at in storage order, jsonb payload), notes
-- searched with to_tsvector on the fly. 5,000 organizations, 500k contacts,
-- 1.5M invoices, 3M invoice lines, 3M audit entries, 300k notes.
-- Deterministic (generate_series and arithmetic, no random()); flags vary within
-- each organization (g / 5000), not with g % 5000, which is the organization. Primary keys
-- and foreign keys only: the advisors propose everything else.
DROP TABLE IF EXISTS notes_note, audit_logentry, billing_invoiceline, billing_invoice, catalog_product, crm_contact,
  crm_organization CASCADE;

CREATE TABLE crm_organization (
  id integer PRIMARY KEY,
  slug varchar(50) NOT NULL,
  name varchar(200) NOT NULL,
  country char(2) NOT NULL,
  created_at timestamptz NOT NULL
);
INSERT INTO crm_organization
SELECT g, 'org-' || g, 'Organization ' || g, (ARRAY['DE', 'FR', 'US', 'GB', 'NL'])[g % 5 + 1],
       timestamptz '2021-01-01' + g * interval '2 hours'
FROM generate_series(1, 5000) g;

CREATE TABLE crm_contact (
  id integer PRIMARY KEY,
  org_id integer NOT NULL REFERENCES crm_organization (id),
  email varchar(254) NOT NULL,
  first_name varchar(100) NOT NULL,
  last_name varchar(100) NOT NULL,
  phone varchar(40) NOT NULL,
  is_archived boolean NOT NULL,
  created_at timestamptz NOT NULL,
  deleted_at timestamptz
);
INSERT INTO crm_contact
SELECT g, g % 5000 + 1, 'Contact.' || g || '@Example.org',
       (ARRAY['Anna', 'Ben', 'Clara', 'David', 'Eva', 'Felix', 'Greta', 'Hannah', 'Ivan', 'Julia'])[g / 5000 % 10 + 1],
       (ARRAY['Schmidt', 'Martin', 'Smith', 'Jones', 'Bakker', 'Dubois', 'Weber', 'Brown', 'Visser', 'Moreau'])[g / 5000 * 7 % 10 + 1]
         || '-' || (g % 997),
       '+49 30 ' || (1000000 + g),
       g / 5000 % 20 = 0,
       timestamptz '2022-01-01' + g * interval '90 seconds',
       CASE WHEN g / 5000 % 50 = 7 THEN timestamptz '2023-06-01' + g * interval '1 second' END
FROM generate_series(1, 500000) g;

CREATE TABLE catalog_product (
  id integer PRIMARY KEY,
  org_id integer NOT NULL REFERENCES crm_organization (id),
  sku varchar(40) NOT NULL,
  name varchar(200) NOT NULL,
  unit_cents integer NOT NULL,
  active boolean NOT NULL
);
INSERT INTO catalog_product
SELECT g, g % 5000 + 1, 'SKU-' || lpad(g::text, 6, '0'), 'Product ' || (g * 31 % 1000), 100 + g % 9900, g % 7 <> 0
FROM generate_series(1, 20000) g;

CREATE TABLE billing_invoice (
  id bigint PRIMARY KEY,
  org_id integer NOT NULL REFERENCES crm_organization (id),
  contact_id integer NOT NULL REFERENCES crm_contact (id),
  number varchar(20) NOT NULL,
  status varchar(10) NOT NULL,
  currency char(3) NOT NULL,
  amount_cents bigint NOT NULL,
  metadata jsonb NOT NULL,
  due_date date NOT NULL,
  created_at timestamptz NOT NULL,
  paid_at timestamptz
);
INSERT INTO billing_invoice
SELECT g, g % 5000 + 1, (g::bigint * 7919) % 500000 + 1, 'INV-' || lpad(g::text, 8, '0'),
       CASE WHEN g / 7 % 20 < 2 THEN 'draft' WHEN g / 7 % 20 < 5 THEN 'open' WHEN g / 7 % 20 = 5 THEN 'void' ELSE 'paid' END,
       (ARRAY['EUR', 'USD', 'GBP'])[g % 3 + 1],
       (g * 137) % 500000 + 500,
       jsonb_build_object('channel', (ARRAY['stripe', 'bank', 'manual'])[g % 3 + 1], 'external_id', 'ch_' || g,
                          'reminders', g % 4),
       (timestamptz '2023-01-01' + g * interval '60 seconds')::date + 30,
       timestamptz '2023-01-01' + g * interval '60 seconds',
       CASE WHEN g / 7 % 20 >= 6 THEN timestamptz '2023-01-01' + g * interval '60 seconds' + (g % 30) * interval '1 day' END
FROM generate_series(1, 1500000) g;

CREATE TABLE billing_invoiceline (
  id bigint PRIMARY KEY,
  invoice_id bigint NOT NULL REFERENCES billing_invoice (id),
  product_id integer NOT NULL REFERENCES catalog_product (id),
  quantity integer NOT NULL,
  unit_cents integer NOT NULL
);
INSERT INTO billing_invoiceline
SELECT g, (g::bigint * 999983) % 1500000 + 1, (g * 13) % 20000 + 1, g % 9 + 1, 100 + g % 9900
FROM generate_series(1, 3000000) g;

CREATE TABLE audit_logentry (
  id bigint PRIMARY KEY,
  org_id integer NOT NULL REFERENCES crm_organization (id),
  actor_id integer NOT NULL REFERENCES crm_contact (id),
  action varchar(20) NOT NULL,
  object_type varchar(20) NOT NULL,
  object_id bigint NOT NULL,
  payload jsonb NOT NULL,
  created_at timestamptz NOT NULL
);
INSERT INTO audit_logentry
SELECT g, g * 7 % 5000 + 1, (g::bigint * 104729) % 500000 + 1,
       (ARRAY['create', 'update', 'update', 'view', 'delete', 'export'])[g % 6 + 1],
       (ARRAY['invoice', 'invoice', 'contact', 'product', 'note'])[g % 5 + 1],
       (g::bigint * 7) % 1500000 + 1,
       jsonb_build_object('ip', '10.' || (g % 200) || '.' || (g * 7 % 256) || '.' || (g * 13 % 256),
                          'via', (ARRAY['web', 'api', 'import'])[g % 3 + 1]),
       timestamptz '2025-01-01' + g * interval '10 seconds'
FROM generate_series(1, 3000000) g;

CREATE TABLE notes_note (
  id integer PRIMARY KEY,
  contact_id integer NOT NULL REFERENCES crm_contact (id),
  author_id integer NOT NULL REFERENCES crm_contact (id),
  body text NOT NULL,
  created_at timestamptz NOT NULL
);
INSERT INTO notes_note
SELECT g, (g::bigint * 7919) % 500000 + 1, (g::bigint * 31) % 500000 + 1,
       (ARRAY['Called about the renewal, will send the contract.', 'Asked for a discount on the annual plan.',
              'Sent the onboarding guide and the API keys.', 'Meeting moved to next week.',
              'Wants the invoices in English.', 'Interested in the premium support tier.'])[g % 6 + 1]
         || CASE WHEN g % 300 = 0 THEN ' Requested a refund for the last invoice.' ELSE '' END,
       timestamptz '2023-01-01' + g * interval '5 minutes'
FROM generate_series(1, 300000) g;

VACUUM ANALYZE;
