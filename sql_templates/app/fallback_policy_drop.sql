-- app.fallback-read undo: the wizard's read policy on the fallback bucket.
DROP POLICY IF EXISTS {policy} ON storage.objects
