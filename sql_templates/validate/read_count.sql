-- The runbook's 2.3 test query: a COUNT the DW should compute (aggregate pushdown).
SELECT count(*) FROM {table}
