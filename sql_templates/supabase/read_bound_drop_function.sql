-- supabase.read-bound undo: the pre-request function.
DROP FUNCTION IF EXISTS {schema}.api_read_bound()
