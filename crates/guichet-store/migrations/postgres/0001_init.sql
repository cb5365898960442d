-- Guichet schema, PostgreSQL dialect. Kept line for line with ../sqlite/0001_init.sql.
-- Portable types only: TEXT, BIGINT (64-bit), instants as Unix seconds, days as 'YYYY-MM-DD',
-- amounts as integer minor units.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE psus (
    bank_code      TEXT NOT NULL,
    psu_id         TEXT NOT NULL,
    persona        TEXT NOT NULL,
    kind           TEXT NOT NULL,
    name_prefix    TEXT,
    first_name     TEXT,
    last_name      TEXT,
    display_name   TEXT NOT NULL,
    segment        TEXT NOT NULL,
    PRIMARY KEY (bank_code, psu_id)
);

CREATE TABLE accounts (
    bank_code          TEXT NOT NULL,
    resource_id        TEXT NOT NULL,
    psu_id             TEXT NOT NULL,
    iban               TEXT NOT NULL,
    currency           TEXT NOT NULL,
    name               TEXT NOT NULL,
    details            TEXT,
    usage              TEXT,
    cash_account_type  TEXT NOT NULL,
    product            TEXT,
    psu_status         TEXT,
    company_scheme     TEXT,
    company_id         TEXT,
    segment            TEXT NOT NULL,
    eligible           BIGINT NOT NULL,
    position           BIGINT NOT NULL,
    PRIMARY KEY (bank_code, resource_id)
);
CREATE UNIQUE INDEX accounts_by_iban ON accounts (bank_code, iban);
CREATE INDEX accounts_by_psu ON accounts (bank_code, psu_id, position);

CREATE TABLE balances (
    bank_code       TEXT NOT NULL,
    account_id      TEXT NOT NULL,
    balance_type    TEXT NOT NULL,
    name            TEXT NOT NULL,
    amount_minor    BIGINT NOT NULL,
    currency        TEXT NOT NULL,
    reference_date  TEXT,
    last_change     BIGINT,
    last_committed  TEXT,
    PRIMARY KEY (bank_code, account_id, balance_type)
);

CREATE TABLE transactions (
    bank_code         TEXT NOT NULL,
    account_id        TEXT NOT NULL,
    seq               BIGINT NOT NULL,
    resource_id       TEXT NOT NULL,
    entry_reference   TEXT,
    amount_minor      BIGINT NOT NULL,
    currency          TEXT NOT NULL,
    credit_debit      TEXT NOT NULL,
    status            TEXT NOT NULL,
    imputation_date   TEXT NOT NULL,
    value_date        TEXT,
    transaction_date  TEXT,
    remittance        TEXT NOT NULL,
    btc_domain        TEXT,
    btc_family        TEXT,
    btc_sub_family    TEXT,
    btc_code          TEXT,
    btc_issuer        TEXT,
    PRIMARY KEY (bank_code, account_id, seq)
);
CREATE INDEX transactions_by_day ON transactions (bank_code, account_id, imputation_date, seq);
CREATE INDEX transactions_by_entry_reference ON transactions (bank_code, account_id, entry_reference);

CREATE TABLE beneficiaries (
    bank_code       TEXT NOT NULL,
    psu_id          TEXT NOT NULL,
    beneficiary_id  TEXT NOT NULL,
    name            TEXT NOT NULL,
    iban            TEXT NOT NULL,
    bic             TEXT,
    country         TEXT NOT NULL,
    address_line    TEXT NOT NULL,
    position        BIGINT NOT NULL,
    PRIMARY KEY (bank_code, psu_id, beneficiary_id)
);

CREATE TABLE tokens (
    token_hash       TEXT PRIMARY KEY,
    kind             TEXT NOT NULL,
    family_id        TEXT NOT NULL,
    bank_code        TEXT NOT NULL,
    client_id        TEXT NOT NULL,
    psu_id           TEXT,
    scopes           TEXT NOT NULL,
    issued_at        BIGINT NOT NULL,
    expires_at       BIGINT NOT NULL,
    sca_at           BIGINT,
    revoked_at       BIGINT,
    cert_thumbprint  TEXT
);
CREATE INDEX tokens_by_family ON tokens (family_id);

CREATE TABLE consents (
    bank_code              TEXT NOT NULL,
    psu_id                 TEXT NOT NULL,
    client_id              TEXT NOT NULL,
    psu_identity           BIGINT NOT NULL,
    trusted_beneficiaries  BIGINT NOT NULL,
    updated_at             BIGINT NOT NULL,
    PRIMARY KEY (bank_code, psu_id, client_id)
);

CREATE TABLE consent_accounts (
    bank_code   TEXT NOT NULL,
    psu_id      TEXT NOT NULL,
    client_id   TEXT NOT NULL,
    account_id  TEXT NOT NULL,
    operation   TEXT NOT NULL,
    PRIMARY KEY (bank_code, psu_id, client_id, account_id, operation)
);

CREATE TABLE call_counters (
    bank_code   TEXT NOT NULL,
    client_id   TEXT NOT NULL,
    psu_id      TEXT NOT NULL,
    account_id  TEXT NOT NULL,
    method      TEXT NOT NULL,
    day         TEXT NOT NULL,
    calls       BIGINT NOT NULL,
    PRIMARY KEY (bank_code, client_id, psu_id, account_id, method, day)
);
