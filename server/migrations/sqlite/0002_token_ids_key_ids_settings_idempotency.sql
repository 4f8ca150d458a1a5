-- Token ids (for `token list` / `token revoke`), the sealing key of each
-- credential, account settings, idempotency keys.
CREATE TABLE tokens_v2 (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    hash TEXT NOT NULL UNIQUE,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
INSERT INTO tokens_v2 (hash, tenant_id, created_at)
    SELECT hash, tenant_id, created_at FROM tokens ORDER BY rowid;
DROP TABLE tokens;
ALTER TABLE tokens_v2 RENAME TO tokens;
CREATE INDEX tokens_tenant ON tokens(tenant_id, id);
ALTER TABLE integrated_accounts ADD COLUMN key_id TEXT;
ALTER TABLE integrated_accounts ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';
ALTER TABLE integrated_accounts ADD COLUMN updated_at TEXT;
CREATE TABLE idempotency_keys (
    tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status INTEGER,
    body BLOB,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, key)
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys(expires_at);
