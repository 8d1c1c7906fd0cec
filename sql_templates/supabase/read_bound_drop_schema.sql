-- supabase.read-bound undo: the function's schema (RESTRICT: kept if anything else lives there).
DROP SCHEMA IF EXISTS {schema} RESTRICT
