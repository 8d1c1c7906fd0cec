-- supabase.read-bound: every role PostgREST may switch to runs the pre-request function (a role
-- that cannot would get an error on every request), so all need USAGE; the schema holds nothing
-- else than the function.
GRANT USAGE ON SCHEMA {schema} TO PUBLIC
