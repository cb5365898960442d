-- The stamp of an account's operations: a value that changes whenever one of its operations is
-- written (inserted, updated, deleted), by whichever process, in the same transaction. The
-- token's read carries it to the transactions page, which answers a page kept in memory only
-- when the stamp it was kept with is still the account's (page_cache.rs): a page changed on
-- another instance is read again at once. NULL: no stamp yet, no page kept.
--
-- One write leaves the stamp alone: the JSON given to an operation that had none, where it was
-- (same account, day and id), as fill.rs writes it. No kept page holds such an operation (a
-- page with an operation without JSON is not kept, and taking an operation's JSON away is a
-- write that moves the stamp), and the operation stays in the pages it was in. So the fill,
-- which runs behind pages, neither makes kept pages be read again nor waits for the account.
--
-- The stamp is the writing transaction's id (txid_current(): 64 bits, never given twice), set
-- once per transaction and account: an import of a thousand operations of an account leaves
-- one new version of the account's row, not a thousand. TRUNCATE moves every stamp.
-- PostgreSQL dialect; kept line for line with ../sqlite/0010_operations_stamp.sql.

ALTER TABLE accounts ADD COLUMN operations_stamp BIGINT;

UPDATE accounts SET operations_stamp = txid_current();

CREATE FUNCTION transactions_stamp_account() RETURNS trigger AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    UPDATE accounts SET operations_stamp = txid_current()
     WHERE bank_code = OLD.bank_code AND resource_id = OLD.account_id
       AND operations_stamp IS DISTINCT FROM txid_current();
  END IF;
  IF TG_OP <> 'DELETE' THEN
    UPDATE accounts SET operations_stamp = txid_current()
     WHERE bank_code = NEW.bank_code AND resource_id = NEW.account_id
       AND operations_stamp IS DISTINCT FROM txid_current();
  END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER transactions_stamp_insert_or_delete AFTER INSERT OR DELETE ON transactions
  FOR EACH ROW EXECUTE FUNCTION transactions_stamp_account();

CREATE TRIGGER transactions_stamp_update AFTER UPDATE ON transactions FOR EACH ROW
  WHEN (OLD.json IS NOT NULL
    OR NEW.bank_code IS DISTINCT FROM OLD.bank_code OR NEW.account_id IS DISTINCT FROM OLD.account_id
    OR NEW.seq IS DISTINCT FROM OLD.seq OR NEW.imputation_date IS DISTINCT FROM OLD.imputation_date)
  EXECUTE FUNCTION transactions_stamp_account();

CREATE FUNCTION transactions_stamp_every_account() RETURNS trigger AS $$
BEGIN
  UPDATE accounts SET operations_stamp = txid_current();
  RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER transactions_stamp_truncate AFTER TRUNCATE ON transactions
  FOR EACH STATEMENT EXECUTE FUNCTION transactions_stamp_every_account();
