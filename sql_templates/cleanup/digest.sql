-- cleanup: how many rows match and a digest of their content, independent of row order.
-- The same query over the live table and over a backup read back into a temporary table gives
-- the same answer when they hold the same rows. Parameters: {columns}, {source}, {filter}
SELECT count(*),
       coalesce(md5(string_agg(h, '' ORDER BY h)), '')
FROM (SELECT md5(r::text) AS h
      FROM (SELECT {columns} FROM {source} WHERE {filter}) AS r) AS hashed;
