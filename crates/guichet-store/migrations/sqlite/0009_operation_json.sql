-- An operation's STET JSON, kept with it and written with it, so that a page of operations is
-- its operations' JSON one after the other (operation_json.rs). Rows written before this
-- migration have none until Store::fill_operation_json writes it, at the first start after it.
-- No partial index finds them: on SQLite, a partial index of the table makes every page query
-- be compiled again at each request (the planner weighs it against the bound values).
--
-- A row whose columns change without its JSON (an earlier version's import during an upgrade,
-- an operator's UPDATE) has it forgotten by the trigger: pages answer such a row from its
-- columns and write its JSON again (fill.rs). SQLite dialect; kept line for line with
-- ../postgres/0009_operation_json.sql.

ALTER TABLE transactions ADD COLUMN json TEXT;

CREATE TRIGGER transactions_json_follows_columns
  AFTER UPDATE OF resource_id, entry_reference, amount_minor, currency, credit_debit, status,
    imputation_date, value_date, transaction_date, remittance, remittance_structured, btc_domain,
    btc_family, btc_sub_family, btc_code, btc_issuer
  ON transactions FOR EACH ROW WHEN NEW.json IS OLD.json
BEGIN
  UPDATE transactions SET json = NULL WHERE rowid = NEW.rowid;
END;
