-- "Supabase-like" cluster: Supabase Storage's tables and the runbook's fallback bucket.
-- Run as `supabase_admin` in database `postgres`.

-- supabase/postgres migrations/db/init-scripts/00000000000002-storage-schema.sql
CREATE ROLE supabase_storage_admin NOINHERIT CREATEROLE LOGIN NOREPLICATION;
CREATE SCHEMA storage AUTHORIZATION supabase_storage_admin;
GRANT USAGE ON SCHEMA storage TO postgres, anon, authenticated, service_role;

-- supabase/storage migrations/tenant/0002-storage-schema.sql, 0007-add-public-to-buckets.sql,
-- 0012-add-bucket-custom-limits.sql
CREATE TABLE storage.buckets (
    id                  text PRIMARY KEY,
    name                text NOT NULL,
    owner               uuid REFERENCES auth.users (id),
    created_at          timestamptz DEFAULT now(),
    updated_at          timestamptz DEFAULT now(),
    public              boolean DEFAULT false,
    file_size_limit     bigint,
    allowed_mime_types  text[]
);
CREATE UNIQUE INDEX bname ON storage.buckets USING btree (name);

-- 0002-storage-schema.sql + 0002-pathtoken-column.sql (path_tokens is a generated column)
CREATE TABLE storage.objects (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    bucket_id           text REFERENCES storage.buckets (id),
    name                text,
    owner               uuid REFERENCES auth.users (id),
    created_at          timestamptz DEFAULT now(),
    updated_at          timestamptz DEFAULT now(),
    last_accessed_at    timestamptz DEFAULT now(),
    metadata            jsonb,
    path_tokens         text[] GENERATED ALWAYS AS (string_to_array(name, '/')) STORED
);
CREATE UNIQUE INDEX bucketid_objname ON storage.objects USING btree (bucket_id, name);
CREATE INDEX name_prefix_search ON storage.objects USING btree (name text_pattern_ops);
ALTER TABLE storage.objects ENABLE ROW LEVEL SECURITY;

-- supabase/storage migrations/tenant/0050-prevent-direct-deletes.sql: rows may only be deleted
-- through the Storage API (which sets storage.allow_delete_query), or the files are orphaned.
CREATE FUNCTION storage.protect_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(current_setting('storage.allow_delete_query', true), 'false') <> 'true' THEN
        RAISE EXCEPTION 'Direct deletion from storage tables is not allowed. Use the Storage API instead.'
            USING HINT = 'This prevents accidental data loss from orphaned objects.',
                  ERRCODE = '42501';
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER protect_buckets_delete BEFORE DELETE ON storage.buckets
    FOR EACH STATEMENT EXECUTE FUNCTION storage.protect_delete();
CREATE TRIGGER protect_objects_delete BEFORE DELETE ON storage.objects
    FOR EACH STATEMENT EXECUTE FUNCTION storage.protect_delete();

ALTER TABLE storage.buckets OWNER TO supabase_storage_admin;
ALTER TABLE storage.objects OWNER TO supabase_storage_admin;
ALTER FUNCTION storage.protect_delete() OWNER TO supabase_storage_admin;
GRANT ALL ON storage.buckets, storage.objects TO postgres, service_role;
GRANT SELECT ON storage.buckets, storage.objects TO anon, authenticated;
-- Supabase lets postgres create policies on storage.objects (supautils.policy_grants, which
-- runs the CREATE POLICY as the table's owner). Vanilla PostgreSQL has no such hook: only the
-- owner may, so postgres becomes a member of the owner role (app.fallback-read).
GRANT supabase_storage_admin TO postgres;

-- The runbook's fallback: bucket bi-reports with one <table>.json per imported table; sizes in
-- the runbook's proportions (the tables and sizes placeholders are parallel arrays).
INSERT INTO storage.buckets (id, name, public, allowed_mime_types)
VALUES ({bucket}, {bucket}, false, ARRAY['application/json']);

INSERT INTO storage.objects (bucket_id, name, created_at, updated_at, last_accessed_at, metadata)
SELECT {bucket}, t.tabela || '.json', ts, ts, ts,
       jsonb_build_object(
           'eTag', '"' || md5(t.tabela || t.bytes) || '"',
           'size', t.bytes,
           'mimetype', 'application/json',
           'cacheControl', 'max-age=3600',
           'lastModified', to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
           'contentLength', t.bytes,
           'httpStatusCode', 200)
FROM unnest({tables}::text[], {sizes}::bigint[]) WITH ORDINALITY AS t(tabela, bytes, n),
     LATERAL (SELECT timestamptz '2026-01-12 06:00:00-03' + n * interval '7 seconds' AS ts) s;
