-- The stamp of an account's operations: a value that changes whenever one of its operations is
-- written (inserted, updated, deleted), by whichever process, in the same transaction. The
-- token's read carries it to the transactions page, which answers a page kept in memory only
-- when the stamp it was kept with is still the account's (page_cache.rs): a page changed on
-- another instance is read again at once. NULL: no stamp yet, no page kept.
--
-- A sequence gives each write a value never given before; once per statement and account (a
-- statement-level trigger: an import of a thousand operations moves the stamp once).
-- PostgreSQL dialect; kept line for line with ../sqlite/0010_operations_stamp.sql.

ALTER TABLE accounts ADD COLUMN operations_stamp BIGINT;

CREATE SEQUENCE operations_stamps;

UPDATE accounts SET operations_stamp = nextval('operations_stamps');

CREATE FUNCTION transactions_stamp_accounts() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    UPDATE accounts a SET operations_stamp = nextval('operations_stamps')
      FROM (SELECT DISTINCT bank_code, account_id FROM new_rows) w
     WHERE a.bank_code = w.bank_code AND a.resource_id = w.account_id;
  ELSIF TG_OP = 'DELETE' THEN
    UPDATE accounts a SET operations_stamp = nextval('operations_stamps')
      FROM (SELECT DISTINCT bank_code, account_id FROM old_rows) w
     WHERE a.bank_code = w.bank_code AND a.resource_id = w.account_id;
  ELSE
    UPDATE accounts a SET operations_stamp = nextval('operations_stamps')
      FROM (SELECT bank_code, account_id FROM new_rows
            UNION SELECT bank_code, account_id FROM old_rows) w
     WHERE a.bank_code = w.bank_code AND a.resource_id = w.account_id;
  END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER transactions_stamp_insert AFTER INSERT ON transactions
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION transactions_stamp_accounts();

CREATE TRIGGER transactions_stamp_update AFTER UPDATE ON transactions
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION transactions_stamp_accounts();

CREATE TRIGGER transactions_stamp_delete AFTER DELETE ON transactions
  REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION transactions_stamp_accounts();
