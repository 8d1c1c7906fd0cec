-- supabase.read-bound: the function only lowers a timeout for the caller's own transaction.
GRANT EXECUTE ON FUNCTION {schema}.api_read_bound() TO PUBLIC
