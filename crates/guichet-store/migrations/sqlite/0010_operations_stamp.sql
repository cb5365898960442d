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
-- SQLite has no sequences: a random 64-bit value, which a later write does not give again but
-- with a chance of 2^-64 (a counter would start again at an account deleted and created anew).
-- SQLite dialect; kept line for line with ../postgres/0010_operations_stamp.sql.

ALTER TABLE accounts ADD COLUMN operations_stamp INTEGER;

UPDATE accounts SET operations_stamp = random();

CREATE TRIGGER transactions_stamp_insert AFTER INSERT ON transactions FOR EACH ROW
BEGIN
  UPDATE accounts SET operations_stamp = random()
   WHERE bank_code = NEW.bank_code AND resource_id = NEW.account_id;
END;

CREATE TRIGGER transactions_stamp_update AFTER UPDATE ON transactions FOR EACH ROW
  WHEN OLD.json IS NOT NULL
    OR NEW.bank_code IS NOT OLD.bank_code OR NEW.account_id IS NOT OLD.account_id
    OR NEW.seq IS NOT OLD.seq OR NEW.imputation_date IS NOT OLD.imputation_date
BEGIN
  UPDATE accounts SET operations_stamp = random()
   WHERE bank_code = OLD.bank_code AND resource_id = OLD.account_id;
  UPDATE accounts SET operations_stamp = random()
   WHERE bank_code = NEW.bank_code AND resource_id = NEW.account_id;
END;

CREATE TRIGGER transactions_stamp_delete AFTER DELETE ON transactions FOR EACH ROW
BEGIN
  UPDATE accounts SET operations_stamp = random()
   WHERE bank_code = OLD.bank_code AND resource_id = OLD.account_id;
END;
