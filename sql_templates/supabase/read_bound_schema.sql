-- supabase.read-bound: a private schema for the API pre-request function (not exposed by the
-- API: it is not in pgrst.db_schemas).
CREATE SCHEMA IF NOT EXISTS {schema}
