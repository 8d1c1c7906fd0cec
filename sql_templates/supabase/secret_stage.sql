-- Where a statement that carries a secret waits for secret_execute.sql. Rows arrive through
-- COPY ... FROM STDIN (secret_copy.sql): COPY data is never written to the server log, unlike
-- statement text (log_statement) and bind parameters (their DETAIL line at log_statement = all).
-- Temporary, this session only, gone at commit; the step also drops it right after use.
CREATE TEMP TABLE fdw_wizard_secret (statement text NOT NULL, secret text NOT NULL) ON COMMIT DROP
