-- Bumped by every change of an account, so a server drops what it cached
-- for the account when another process changed it.
ALTER TABLE integrated_accounts ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
