-- PostgREST re-reads its in-database configuration (the pre-request function) at once.
NOTIFY pgrst, 'reload config'
