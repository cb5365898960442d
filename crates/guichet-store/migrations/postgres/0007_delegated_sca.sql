-- SCA delegated to the bank's OpenID Connect provider: what the authorization request sent
-- and the callback must find again (the hash of `state`, the `nonce`, the PKCE verifier), on
-- the attempt, so that the callback may reach any instance. Cleared once the callback is used.
-- Kept line for line between the sqlite and postgres folders.

ALTER TABLE sca_attempts ADD COLUMN oidc_state_hash TEXT;
ALTER TABLE sca_attempts ADD COLUMN oidc_nonce TEXT;
ALTER TABLE sca_attempts ADD COLUMN oidc_verifier TEXT;
