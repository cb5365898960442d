-- Registered TPPs (the portal's "API Register") and their QSealCs. SQLite dialect; kept line
-- for line with ../postgres/0002_tpps.sql.

CREATE TABLE tpps (
    client_id      TEXT PRIMARY KEY,
    name           TEXT NOT NULL,
    contacts       TEXT NOT NULL,
    redirect_uris  TEXT NOT NULL,
    registered_at  INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);

CREATE TABLE tpp_qseals (
    client_id   TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    sha1        TEXT NOT NULL,
    serial      TEXT NOT NULL,
    issuer      TEXT NOT NULL,
    not_after   INTEGER NOT NULL,
    pem         TEXT NOT NULL,
    PRIMARY KEY (client_id, sha256)
);
