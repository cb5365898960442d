-- Nothing changes on SQLite: see ../postgres/0013_stamps_in_order.sql, where a transaction's
-- access stamps are written at its commit in the order of their keys so that two writers of
-- the same PSUs do not deadlock. SQLite has one writer at a time, which writes each stamp as
-- it writes the row (0012). The version is kept so that both backends number alike.

SELECT 1;
