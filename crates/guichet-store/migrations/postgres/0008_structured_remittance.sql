-- Statements imported from camt: an operation's structured remittance information (STET 1.4.2
-- RemittanceInformation.structured, a JSON array of StructuredRemittanceInformation built from
-- the entry's RmtInf/Strd/CdtrRefInf), and the operations of an account found by their
-- resourceId, the key an import matches an entry on. PostgreSQL dialect; kept line for line
-- with ../sqlite/0008_structured_remittance.sql.

ALTER TABLE transactions ADD COLUMN remittance_structured TEXT;
CREATE INDEX transactions_by_resource_id ON transactions (bank_code, account_id, resource_id);
