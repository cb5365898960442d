-- The stamp of what a token's read finds for a PSU of a bank: a value that changes whenever a
-- row that read returns is written (its tokens updated or deleted, its consents and their
-- accounts, its accounts, their balances), by whichever process, in the same transaction.
-- A process keeps the reads it made with the stamp they found (access_cache.rs) and, at the
-- next request with the same token, reads the stamp alone: the same stamp, nothing the read
-- returns has changed since, and the kept read answers; another, the read is made again. So a
-- token or consent revoked on any instance is refused at the next request, as before.
--
-- A new token changes no other token's read, and no read of its own was kept before it
-- existed: inserting one leaves the stamp alone.
--
-- The stamp is the writing transaction's id (txid_current(): never given twice), written
-- when the transaction commits (deferred triggers), so that the stamp's row is locked for the
-- commit only: a long import of a PSU's operations does not hold up the PSU's tokens and
-- consents until it ends. '' stands for the PSU of tokens that have none. TRUNCATE moves
-- every stamp.
--
-- Two transactions that write rows of several PSUs each (two imports of different accounts of
-- the same customers) stamp them at commit in the order of their writes, and may deadlock
-- there: PostgreSQL stops one (40P01), which the inbox imports again and `guichet import`
-- asks to be given again. A transaction that writes these tables and then alters or truncates
-- one of them must first run its deferred triggers (SET CONSTRAINTS ALL IMMEDIATE): a later
-- migration that does so says it.
-- PostgreSQL dialect; kept line for line with ../sqlite/0012_access_stamps.sql.

CREATE TABLE access_stamps (
    bank_code  TEXT NOT NULL,
    psu_id     TEXT NOT NULL,
    stamp      BIGINT NOT NULL,
    PRIMARY KEY (bank_code, psu_id)
);

INSERT INTO access_stamps (bank_code, psu_id, stamp)
  SELECT bank_code, psu_id, txid_current() FROM accounts
  UNION SELECT bank_code, COALESCE(psu_id, ''), txid_current() FROM tokens
  UNION SELECT bank_code, psu_id, txid_current() FROM consents;

CREATE FUNCTION stamp_access(bank TEXT, psu TEXT) RETURNS void AS $$
  INSERT INTO access_stamps (bank_code, psu_id, stamp)
  VALUES (bank, COALESCE(psu, ''), txid_current())
  ON CONFLICT (bank_code, psu_id) DO UPDATE SET stamp = EXCLUDED.stamp
  WHERE access_stamps.stamp IS DISTINCT FROM EXCLUDED.stamp
$$ LANGUAGE sql;

-- Tokens, consents, their accounts and accounts: the PSU is the row's.
CREATE FUNCTION access_stamp_psu() RETURNS trigger AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    PERFORM stamp_access(OLD.bank_code, OLD.psu_id);
  END IF;
  IF TG_OP <> 'DELETE' THEN
    PERFORM stamp_access(NEW.bank_code, NEW.psu_id);
  END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql;

-- Balances: the PSU is their account's, read under a share lock: an account moved to another
-- PSU by a transaction committing meanwhile is found with its new PSU once that one commits,
-- where a plain read would stamp the PSU it left.
CREATE FUNCTION access_stamp_balance() RETURNS trigger AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    PERFORM stamp_access(a.bank_code, a.psu_id) FROM accounts a
     WHERE a.bank_code = OLD.bank_code AND a.resource_id = OLD.account_id FOR SHARE;
  END IF;
  IF TG_OP <> 'DELETE' THEN
    PERFORM stamp_access(a.bank_code, a.psu_id) FROM accounts a
     WHERE a.bank_code = NEW.bank_code AND a.resource_id = NEW.account_id FOR SHARE;
  END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER tokens_access_stamp AFTER UPDATE OR DELETE ON tokens
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION access_stamp_psu();
CREATE CONSTRAINT TRIGGER consents_access_stamp AFTER INSERT OR UPDATE OR DELETE ON consents
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION access_stamp_psu();
CREATE CONSTRAINT TRIGGER consent_accounts_access_stamp
  AFTER INSERT OR UPDATE OR DELETE ON consent_accounts
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION access_stamp_psu();
CREATE CONSTRAINT TRIGGER accounts_access_stamp AFTER INSERT OR UPDATE OR DELETE ON accounts
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION access_stamp_psu();
CREATE CONSTRAINT TRIGGER balances_access_stamp AFTER INSERT OR UPDATE OR DELETE ON balances
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION access_stamp_balance();

CREATE FUNCTION access_stamp_every_psu() RETURNS trigger AS $$
BEGIN
  UPDATE access_stamps SET stamp = txid_current();
  RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER tokens_access_stamp_truncate AFTER TRUNCATE ON tokens
  FOR EACH STATEMENT EXECUTE FUNCTION access_stamp_every_psu();
CREATE TRIGGER consents_access_stamp_truncate AFTER TRUNCATE ON consents
  FOR EACH STATEMENT EXECUTE FUNCTION access_stamp_every_psu();
CREATE TRIGGER consent_accounts_access_stamp_truncate AFTER TRUNCATE ON consent_accounts
  FOR EACH STATEMENT EXECUTE FUNCTION access_stamp_every_psu();
CREATE TRIGGER accounts_access_stamp_truncate AFTER TRUNCATE ON accounts
  FOR EACH STATEMENT EXECUTE FUNCTION access_stamp_every_psu();
CREATE TRIGGER balances_access_stamp_truncate AFTER TRUNCATE ON balances
  FOR EACH STATEMENT EXECUTE FUNCTION access_stamp_every_psu();
