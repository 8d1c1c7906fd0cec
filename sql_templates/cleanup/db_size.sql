-- Runbook 6.1 "Verificar espaço recuperado": the database size in bytes.
SELECT pg_database_size(current_database());
