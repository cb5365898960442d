-- The OAuth2 authorization server: SCA attempts, authorization codes, fallback uses.
-- SQLite dialect; kept line for line with ../postgres/0003_oauth.sql.

CREATE TABLE sca_attempts (
    id              TEXT PRIMARY KEY,
    bank_code       TEXT NOT NULL,
    purpose         TEXT NOT NULL,
    client_id       TEXT,
    redirect_uri    TEXT,
    scope           TEXT,
    state           TEXT,
    code_challenge  TEXT,
    csrf            TEXT NOT NULL,
    psu_id          TEXT,
    stage           TEXT NOT NULL,
    failures        INTEGER NOT NULL,
    otp_hash        TEXT,
    otp_shown       TEXT,
    sca_at          INTEGER,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL
);

CREATE TABLE auth_codes (
    code_hash       TEXT PRIMARY KEY,
    bank_code       TEXT NOT NULL,
    client_id       TEXT NOT NULL,
    redirect_uri    TEXT NOT NULL,
    psu_id          TEXT NOT NULL,
    scopes          TEXT NOT NULL,
    code_challenge  TEXT,
    sca_at          INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    used_at         INTEGER,
    family_id       TEXT
);

CREATE TABLE fallback_uses (
    jti         TEXT PRIMARY KEY,
    bank_code   TEXT NOT NULL,
    client_id   TEXT NOT NULL,
    psu_ip      TEXT NOT NULL,
    used_at     INTEGER NOT NULL
);

CREATE INDEX tokens_by_psu ON tokens (bank_code, psu_id, client_id);
