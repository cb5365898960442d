-- The OAuth2 authorization server: SCA attempts, authorization codes, fallback uses.
-- PostgreSQL dialect; kept line for line with ../sqlite/0003_oauth.sql.

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
    failures        BIGINT NOT NULL,
    otp_hash        TEXT,
    otp_shown       TEXT,
    sca_at          BIGINT,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL
);

CREATE TABLE auth_codes (
    code_hash       TEXT PRIMARY KEY,
    bank_code       TEXT NOT NULL,
    client_id       TEXT NOT NULL,
    redirect_uri    TEXT NOT NULL,
    psu_id          TEXT NOT NULL,
    scopes          TEXT NOT NULL,
    code_challenge  TEXT,
    sca_at          BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    used_at         BIGINT,
    family_id       TEXT
);

CREATE TABLE fallback_uses (
    jti         TEXT PRIMARY KEY,
    bank_code   TEXT NOT NULL,
    client_id   TEXT NOT NULL,
    psu_ip      TEXT NOT NULL,
    used_at     BIGINT NOT NULL
);

CREATE INDEX tokens_by_psu ON tokens (bank_code, psu_id, client_id);
