-- cleanup: the columns a backup of the table holds (generated and dropped columns excluded: COPY
-- cannot write them back), with their types and whether they are part of the primary key.
-- Parameters: {table_text} (the quoted, schema-qualified name as text)
SELECT a.attname,
       format_type(a.atttypid, a.atttypmod),
       coalesce(a.attnum = ANY (i.indkey), false) AS in_primary_key
FROM pg_attribute AS a
LEFT JOIN pg_index AS i ON i.indrelid = a.attrelid AND i.indisprimary
WHERE a.attrelid = {table_text}::regclass
  AND a.attnum > 0
  AND NOT a.attisdropped
  AND a.attgenerated = ''
ORDER BY a.attnum;
