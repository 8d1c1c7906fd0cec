-- cleanup.report: Storage use of the fallback bucket, from Storage's own table.
-- Parameters: {bucket}
SELECT count(*), coalesce(sum((metadata ->> 'size')::bigint), 0)
FROM storage.objects
WHERE bucket_id = {bucket};
