COPY pg_temp.fdw_wizard_secret (statement, secret) FROM STDIN
