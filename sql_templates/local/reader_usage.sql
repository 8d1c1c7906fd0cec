GRANT USAGE ON SCHEMA {schema} TO {role}
