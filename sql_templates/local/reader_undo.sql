-- Undo of local.reader-role: every grant the step made, then the role if the wizard created it.
REVOKE SELECT ON ALL TABLES IN SCHEMA {schema} FROM {role};
REVOKE USAGE ON SCHEMA {schema} FROM {role};
REVOKE CONNECT ON DATABASE {database} FROM {role}
