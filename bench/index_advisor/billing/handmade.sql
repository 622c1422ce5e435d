-- A hand-made index set for the billing workload, written with the workload
-- (3 December, before any advisor ran on it), the way a PostgreSQL engineer
-- would index it. The numbers are the workload statements (1-based).
CREATE INDEX ON crm_contact (org_id, last_name, first_name) WHERE deleted_at IS NULL;      -- 1, 3, 18, 24
CREATE INDEX ON crm_contact (upper(email::text));                                          -- 2
CREATE INDEX ON crm_contact (org_id, created_at DESC);                                     -- 28
CREATE INDEX ON billing_invoice (org_id, due_date) WHERE status = 'open';                  -- 4, 5
CREATE INDEX ON billing_invoice (contact_id, created_at DESC);                             -- 6 (and the FK)
CREATE INDEX ON billing_invoice (org_id, paid_at);                                         -- 7, 23, 25 (org prefix)
CREATE INDEX ON billing_invoice (org_id, number);                                          -- 8
CREATE INDEX ON billing_invoice (org_id, created_at);                                      -- 10
CREATE INDEX ON billing_invoice USING gin (metadata jsonb_path_ops);                       -- 17
CREATE INDEX ON billing_invoiceline (invoice_id);                                          -- 9, 10
CREATE INDEX ON catalog_product (org_id, sku);                                             -- 11, 12
CREATE INDEX ON audit_logentry (org_id, created_at DESC);                                  -- 13
CREATE INDEX ON audit_logentry USING brin (created_at);                                    -- 14
CREATE INDEX ON audit_logentry (object_id, object_type);                                   -- 15
CREATE INDEX ON audit_logentry USING gin (payload jsonb_path_ops);                         -- 16
CREATE INDEX ON notes_note (contact_id, created_at DESC);                                  -- 19, 26
CREATE INDEX ON notes_note USING gin (to_tsvector('english'::regconfig, body));            -- 20
CREATE INDEX ON crm_organization (slug);                                                   -- 27
