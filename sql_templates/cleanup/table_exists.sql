-- cleanup: does the operational table exist? Parameters: {table_text} ('public.clientes')
SELECT to_regclass({table_text}) IS NOT NULL;
