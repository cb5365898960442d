-- An operation's STET JSON, kept with it and written with it, so that a page of operations is
-- its operations' JSON one after the other (operation_json.rs). Rows written before this
-- migration have none until Store::fill_operation_json writes it, at the first start after it.
-- No partial index finds them: on SQLite, a partial index of the table makes every page query
-- be compiled again at each request (the planner weighs it against the bound values).
-- SQLite dialect; kept line for line with ../postgres/0009_operation_json.sql.

ALTER TABLE transactions ADD COLUMN json TEXT;
