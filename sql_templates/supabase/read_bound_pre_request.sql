-- supabase.read-bound: make PostgREST call the function before every request (PostgREST
-- "In-Database Configuration"; Supabase lets postgres set pgrst.* on authenticator through
-- supautils' privileged_role_allowed_configs).
ALTER ROLE authenticator SET pgrst.db_pre_request = {function}
