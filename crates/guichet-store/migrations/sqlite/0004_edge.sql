-- SCA failure counting and blocking (RTS art. 4(3)(d)), funds-confirmation registrations
-- (PSD2 art. 65) and TPP roles. SQLite dialect; kept line for line with ../postgres/0004_edge.sql.

-- Consecutive failed SCA tries of a PSU at a bank, and the block they led to.
CREATE TABLE sca_failures (
    bank_code        TEXT NOT NULL,
    psu_id           TEXT NOT NULL,
    failures         INTEGER NOT NULL,
    last_failure_at  INTEGER NOT NULL,
    blocked_until    INTEGER,
    PRIMARY KEY (bank_code, psu_id)
);

-- Every block ever set: an append-only record (id orders blocks of the same second).
CREATE TABLE sca_blocks (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    bank_code      TEXT NOT NULL,
    psu_id         TEXT NOT NULL,
    blocked_at     INTEGER NOT NULL,
    blocked_until  INTEGER NOT NULL,
    failures       INTEGER NOT NULL,
    reason         TEXT NOT NULL
);
CREATE INDEX sca_blocks_by_psu ON sca_blocks (bank_code, psu_id, blocked_at);

-- Funds-confirmation contracts between a PSU and a TPP, registered by the bank.
CREATE TABLE funds_checks (
    bank_code      TEXT NOT NULL,
    psu_id         TEXT NOT NULL,
    client_id      TEXT NOT NULL,
    account_id     TEXT NOT NULL,
    registered_at  INTEGER NOT NULL,
    revoked_at     INTEGER,
    PRIMARY KEY (bank_code, psu_id, client_id, account_id)
);
CREATE INDEX funds_checks_by_account ON funds_checks (bank_code, client_id, account_id);

-- The PSD2 roles of a TPP's certificate, space-separated (NULL: registered before roles were kept).
ALTER TABLE tpps ADD COLUMN roles TEXT;
