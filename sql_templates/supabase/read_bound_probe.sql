-- supabase.read-bound verify: one API request's preamble as PostgREST runs it (the role, its own
-- statement_timeout, request.path); the caller then runs the pre-request function, reads
-- statement_timeout and rolls back.
SELECT pg_catalog.set_config('role', {role_name}, true),
       pg_catalog.set_config('statement_timeout', {role_timeout}, true),
       pg_catalog.set_config('request.method', 'GET', true),
       pg_catalog.set_config('request.path', {path}, true)
