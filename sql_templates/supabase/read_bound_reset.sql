-- supabase.read-bound undo: PostgREST stops calling the pre-request function.
ALTER ROLE authenticator RESET pgrst.db_pre_request
