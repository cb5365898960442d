-- The access stamps of a transaction written at its commit in the order of their keys, where
-- 0012 wrote them in the order of the transaction's writes: two transactions that write rows
-- of the same PSUs in opposite orders (two imports of different accounts of the same
-- customers) no longer lock each other's stamps at commit, one waiting for the other instead
-- of PostgreSQL stopping one of them (40P01).
--
-- 0012's deferred triggers now note the PSU of each row written (stamp_access) in
-- access_stamps_due, which no two transactions share (its key starts with the transaction's
-- id). The first note of a PSU queues one more deferred trigger, which runs after the
-- transaction's other deferred triggers (PostgreSQL runs those queued while it runs deferred
-- triggers after them, in the same commit): the first of them writes every stamp noted, in
-- the order of (bank_code, psu_id), and deletes the notes; the others find none. The stamps
-- are still written, and locked, only as the transaction commits.
--
-- The notes of a transaction that rolls back go with it; a committed one leaves none.
-- PostgreSQL dialect; ../sqlite/0013_stamps_in_order.sql keeps the numbering.

CREATE TABLE access_stamps_due (
    txid       BIGINT NOT NULL,
    bank_code  TEXT NOT NULL,
    psu_id     TEXT NOT NULL,
    PRIMARY KEY (txid, bank_code, psu_id)
);

CREATE OR REPLACE FUNCTION stamp_access(bank TEXT, psu TEXT) RETURNS void AS $$
  INSERT INTO access_stamps_due (txid, bank_code, psu_id)
  VALUES (txid_current(), bank, COALESCE(psu, ''))
  ON CONFLICT DO NOTHING
$$ LANGUAGE sql;

CREATE FUNCTION write_due_stamps() RETURNS trigger AS $$
BEGIN
  WITH due AS (
    DELETE FROM access_stamps_due WHERE txid = txid_current() RETURNING bank_code, psu_id
  )
  INSERT INTO access_stamps (bank_code, psu_id, stamp)
  SELECT bank_code, psu_id, txid_current() FROM due
   ORDER BY bank_code COLLATE "C", psu_id COLLATE "C"
  ON CONFLICT (bank_code, psu_id) DO UPDATE SET stamp = EXCLUDED.stamp
  WHERE access_stamps.stamp IS DISTINCT FROM EXCLUDED.stamp;
  RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER access_stamps_due_write AFTER INSERT ON access_stamps_due
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION write_due_stamps();
