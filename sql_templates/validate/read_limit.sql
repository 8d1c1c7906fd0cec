-- The app's hook read (runbook 4.1 useBIDataWithFDW: .select('*').limit(10000)).
SELECT * FROM {table} LIMIT {limit}
