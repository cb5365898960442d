-- A refresh token replaced by its renewal is marked, so that presenting it again is told
-- apart from presenting one revoked outright (RFC 9700 §4.14.2). SQLite dialect; kept line for
-- line with ../postgres/0006_rotation.sql.

ALTER TABLE tokens ADD COLUMN rotated_at INTEGER;
