-- app.fallback-read: logged-in users (the role the app reads with) may read the fallback JSONs
-- of this bucket, and only read (Supabase Storage checks storage.objects' RLS for list and
-- download; no INSERT/UPDATE/DELETE policy is added). On Supabase, postgres may create policies
-- on storage.objects (supautils.policy_grants).
CREATE POLICY {policy} ON storage.objects FOR SELECT TO {role} USING (bucket_id = {bucket})
