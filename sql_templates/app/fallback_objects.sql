-- app.fallback without a service key: the fallback files as Storage's own table describes them.
-- One row per object of the bucket; no row with bucket_exists false means the bucket is missing.
-- Parameters: {bucket}
SELECT b.id IS NOT NULL AS bucket_exists,
       o.name,
       coalesce((o.metadata ->> 'size')::bigint, 0) AS size,
       o.metadata ->> 'lastModified' AS last_modified,
       o.updated_at
FROM (SELECT {bucket}::text AS id) AS wanted
LEFT JOIN storage.buckets AS b ON b.id = wanted.id
LEFT JOIN storage.objects AS o ON o.bucket_id = b.id
ORDER BY o.name;
