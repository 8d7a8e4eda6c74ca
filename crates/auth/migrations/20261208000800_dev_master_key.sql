-- Development only (neither MASTER_KEY nor JWT_SECRET set): the master key
-- that wraps the data keys of events and seals TOTP secrets, kept here so
-- that what was sealed still opens after a restart. A deployment sets
-- MASTER_KEY and this table stays empty.
CREATE TABLE IF NOT EXISTS auth_dev_master_key (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    secret   text    NOT NULL
);
