-- The stamp of what a token's read finds for a PSU of a bank: a value that changes whenever a
-- row that read returns is written (its tokens updated or deleted, its consents and their
-- accounts, its accounts, their balances), by whichever process, in the same transaction.
-- A process keeps the reads it made with the stamp they found (access_cache.rs) and, at the
-- next request with the same token, reads the stamp alone: the same stamp, nothing the read
-- returns has changed since, and the kept read answers; another, the read is made again. So a
-- token or consent revoked by any process is refused at the next request, as before.
--
-- A new token changes no other token's read, and no read of its own was kept before it
-- existed: inserting one leaves the stamp alone.
--
-- SQLite has no transaction ids: a random 64-bit value, which a later write does not give
-- again but with a chance of 2^-64; its writer is one at a time, so a stamp written at each
-- row holds no one up. An update stamps the row's PSU before the update only when it moved
-- (each operation imported updates its account: one write more, not two). '' stands for the
-- PSU of tokens that have none.
-- SQLite dialect; kept line for line with ../postgres/0012_access_stamps.sql.

CREATE TABLE access_stamps (
    bank_code  TEXT NOT NULL,
    psu_id     TEXT NOT NULL,
    stamp      INTEGER NOT NULL,
    PRIMARY KEY (bank_code, psu_id)
);

INSERT OR IGNORE INTO access_stamps (bank_code, psu_id, stamp)
  SELECT bank_code, psu_id, random() FROM accounts
  UNION SELECT bank_code, COALESCE(psu_id, ''), random() FROM tokens
  UNION SELECT bank_code, psu_id, random() FROM consents;

CREATE TRIGGER tokens_access_stamp_update AFTER UPDATE ON tokens FOR EACH ROW
BEGIN
  INSERT INTO access_stamps SELECT OLD.bank_code, COALESCE(OLD.psu_id, ''), random()
   WHERE OLD.bank_code IS NOT NEW.bank_code OR OLD.psu_id IS NOT NEW.psu_id
    ON CONFLICT (bank_code, psu_id) DO UPDATE SET stamp = excluded.stamp;
  INSERT INTO access_stamps VALUES (NEW.bank_code, COALESCE(NEW.psu_id, ''), random())
    ON CONFLICT (bank_code, psu_id) DO UPDATE SET stamp = excluded.stamp;
END;
CREATE TRIGGER tokens_access_stamp_delete AFTER DELETE ON tokens FOR EACH ROW
BEGIN
  INSERT INTO access_stamps VALUES (OLD.bank_code, COALESCE(OLD.psu_id, ''), random())
    ON CONFLICT (bank_code, psu_id) DO UPDATE SET stamp = excluded.stamp;
END;

CREATE TRIGGER consents_access_stamp_insert AFTER INSERT ON consents FOR EACH ROW
BEGIN
  INSERT INTO access_stamps VALUES (NEW.bank_code, NEW.psu_id, random())
    ON CONFLICT (bank_code, psu_id) DO UPDATE SET stamp = excluded.stamp;
END;
CREATE TRIGGER consents_access_stamp_update AFTER UPDATE ON consents FOR EACH ROW
BEGIN
  INSERT INTO access_stamps SELECT OLD.bank_code, OLD.psu_id, random()
   WHERE OLD.bank_code IS NOT NEW.bank_code OR OLD.psu_id IS NOT NEW.psu_id
    ON CONFLICT (bank_code, psu_id) DO UPDATE SET stamp = excluded.stamp;
  INSERT INTO access_stamps VALUES (NEW.bank_code, NEW.psu_id, random())
    ON CONFLICT (bank_code, psu_id) DO UPDATE SET stamp = excluded.stamp;
END;
CREATE TRIGGER consents_access_stamp_delete AFTER DELETE ON consents FOR EACH ROW
BEGIN
  INSERT INTO access_stamps VALUES (OLD.bank_code, OLD.psu_id, random())
    ON CONFLICT (bank_code, psu_id) DO UPDATE SET stamp = excluded.stamp;
END;

CREATE TRIGGER consent_accounts_access_stamp_insert AFTER INSERT ON consent_accounts FOR EACH ROW
BEGIN
  INSERT INTO access_stamps VALUES (NEW.bank_code, NEW.psu_id, random())
    ON CONFLICT (bank_code, psu_id) DO UPDATE SET stamp = excluded.stamp;
END;
CREATE TRIGGER consent_accounts_access_stamp_update AFTER UPDATE ON consent_accounts FOR EACH ROW
BEGIN
  INSERT INTO access_stamps SELECT OLD.bank_code, OLD.psu_id, random()
   WHERE OLD.bank_code IS NOT NEW.bank_code OR OLD.psu_id IS NOT NEW.psu_id
    ON CONFLICT (bank_code, psu_id) DO UPDATE SET stamp = excluded.stamp;
  INSERT INTO access_stamps VALUES (NEW.bank_code, NEW.psu_id, random())
    ON CONFLICT (bank_code, psu_id) DO UPDATE SET stamp = excluded.stamp;
END;
CREATE TRIGGER consent_accounts_access_stamp_delete AFTER DELETE ON consent_accounts FOR EACH ROW
BEGIN
  INSERT INTO access_stamps VALUES (OLD.bank_code, OLD.psu_id, random())
    ON CONFLICT (bank_code, psu_id) DO UPDATE SET stamp = excluded.stamp;
END;

CREATE TRIGGER accounts_access_stamp_insert AFTER INSERT ON accounts FOR EACH ROW
BEGIN
  INSERT INTO access_stamps VALUES (NEW.bank_code, NEW.psu_id, random())
    ON CONFLICT (bank_code, psu_id) DO UPDATE SET stamp = excluded.stamp;
END;
CREATE TRIGGER accounts_access_stamp_update AFTER UPDATE ON accounts FOR EACH ROW
BEGIN
  INSERT INTO access_stamps SELECT OLD.bank_code, OLD.psu_id, random()
   WHERE OLD.bank_code IS NOT NEW.bank_code OR OLD.psu_id IS NOT NEW.psu_id
    ON CONFLICT (bank_code, psu_id) DO UPDATE SET stamp = excluded.stamp;
  INSERT INTO access_stamps VALUES (NEW.bank_code, NEW.psu_id, random())
    ON CONFLICT (bank_code, psu_id) DO UPDATE SET stamp = excluded.stamp;
END;
CREATE TRIGGER accounts_access_stamp_delete AFTER DELETE ON accounts FOR EACH ROW
BEGIN
  INSERT INTO access_stamps VALUES (OLD.bank_code, OLD.psu_id, random())
    ON CONFLICT (bank_code, psu_id) DO UPDATE SET stamp = excluded.stamp;
END;

CREATE TRIGGER balances_access_stamp_insert AFTER INSERT ON balances FOR EACH ROW
BEGIN
  INSERT INTO access_stamps SELECT a.bank_code, a.psu_id, random() FROM accounts a
   WHERE a.bank_code = NEW.bank_code AND a.resource_id = NEW.account_id
    ON CONFLICT (bank_code, psu_id) DO UPDATE SET stamp = excluded.stamp;
END;
CREATE TRIGGER balances_access_stamp_update AFTER UPDATE ON balances FOR EACH ROW
BEGIN
  INSERT INTO access_stamps SELECT a.bank_code, a.psu_id, random() FROM accounts a
   WHERE a.bank_code = OLD.bank_code AND a.resource_id = OLD.account_id
     AND (OLD.bank_code IS NOT NEW.bank_code OR OLD.account_id IS NOT NEW.account_id)
    ON CONFLICT (bank_code, psu_id) DO UPDATE SET stamp = excluded.stamp;
  INSERT INTO access_stamps SELECT a.bank_code, a.psu_id, random() FROM accounts a
   WHERE a.bank_code = NEW.bank_code AND a.resource_id = NEW.account_id
    ON CONFLICT (bank_code, psu_id) DO UPDATE SET stamp = excluded.stamp;
END;
CREATE TRIGGER balances_access_stamp_delete AFTER DELETE ON balances FOR EACH ROW
BEGIN
  INSERT INTO access_stamps SELECT a.bank_code, a.psu_id, random() FROM accounts a
   WHERE a.bank_code = OLD.bank_code AND a.resource_id = OLD.account_id
    ON CONFLICT (bank_code, psu_id) DO UPDATE SET stamp = excluded.stamp;
END;
