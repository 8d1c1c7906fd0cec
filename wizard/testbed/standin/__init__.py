"""A LOCAL STAND-IN for the few Supabase HTTP APIs fdw-wizard uses. It is not Supabase.

Tests and the rehearsal sandbox cannot reach a real Supabase project, so this module serves the
documented endpoints the product (and the runbook's app) call through supabase-py, backed by
the Supabase-like test bed cluster, on 127.0.0.1 only:

* REST (PostgREST semantics): ``GET|HEAD /rest/v1/<relation>?select=&limit=&offset=&order=&
  col=op.v`` with ``Accept-Profile`` choosing the schema and ``Prefer: count=exact`` adding the
  total to ``Content-Range`` (``0-9/1200``; 206 when the rows are part of the total; HEAD has no
  body: supabase-js' ``select('*', {count: 'exact', head: true})``). The schema must be in
  ``pgrst.db_schemas`` of the ``authenticator`` role (read from the database), else 406
  PGRST106. Each request runs on one of a pool of long-lived connections (LIFO, so
  postgres_fdw's cached connection to the DW is warm, as behind a real PostgREST; a request
  waits up to ``pool_timeout_s`` for one, then 504 PGRST003), in PostgREST's order:
  ``BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY``; one ``SELECT set_config(..., true), ...``
  of search_path, role, request.jwt.claims, request.method, request.path, request.headers,
  request.cookies and the role's own ``ALTER ROLE ... SET`` settings (anon's 3 s /
  authenticated's 8 s statement_timeout); ``SELECT <pgrst.db_pre_request>()`` when authenticator
  names one; the query; ``COMMIT`` (``ROLLBACK`` on error). SQLSTATEs map to HTTP statuses as
  PostgREST documents them (08* -> 503, 57014 / HV* -> 500, 42501 -> 401 for anon / 403, 42P01
  -> 404 PGRST205).
* Storage: ``POST /storage/v1/object/list/<bucket>`` (storage3's list body) and
  ``GET /storage/v1/object[/authenticated]/<bucket>/<path>``. Listing reads ``storage.objects``
  as the caller's role (so its RLS applies, as in Supabase Storage); the bytes come from
  ``<storage_dir>/<bucket>/<name>``. :func:`write_fallback_files` exports the DW tables there
  the way the ETL does and updates the objects' metadata.
* Functions: ``POST /functions/v1/fdw-health-check``, the runbook's Edge Function 5.1: it times
  ``select=count`` through the REST path as ``service_role`` on :class:`HealthCheck`'s relation.
  The runbook reads ``public.dim_clientes``; with the secure default (foreign tables in the
  private ``bi`` schema, which the API does not expose) a function cannot ``.schema('bi')``, so
  point it at the exposed view ``v_clientes_360`` instead (``HealthCheck("public",
  "v_clientes_360")``). A function not in ``functions`` answers 404, like an undeployed one.

What it still does NOT do (it is a fake): REST writes (POST/PATCH/DELETE), RPC, embedded
resources, JSON/array operators, ranges by header, ``Prefer: count=planned|estimated`` (answered
like no count), the schema cache (a missing relation is found by the database's error, and the
in-database configuration is read on every request instead of at ``NOTIFY pgrst, 'reload
config'``); Storage uploads, moves, deletes, signed or public URLs and the bucket API; Auth
(GoTrue: ``/auth/v1`` answers 404, so no sign-in, JWT audiences or asymmetric keys); functions
other than the health check (a listed one answers ``{}``); Supavisor, Kong's rate limits. It
connects as the configured database user (``supabase_admin`` in tests, not ``authenticator``),
and Storage opens a connection per request (its role switches with a session ``SET ROLE``); the
health function reads through the REST path and its pool.

Keys are HS256 JWTs with a ``role`` claim (:func:`make_key`); the gateway refuses a request
without a valid ``apikey`` (401) like Supabase's, and ``Authorization: Bearer`` picks the role.

Modules: ``server`` (:class:`StandIn`: lifecycle, the gateway, HTTP), ``rest`` and
``rest_query`` (PostgREST), ``pool`` (its connections), ``storage``, ``functions``, ``auth``
(keys), ``protocol`` (requests, responses, error bodies), ``fallback`` (the ETL's JSON files),
``cli``.

Run it on its own (secrets come from files or the environment, never argv)::

    python -m wizard.testbed.standin --db-host 127.0.0.1 --db-port P --storage-dir D \\
        --jwt-secret-file F [--db-password-file F2 | env FDW_WIZARD_STANDIN_DB_PASSWORD]
"""

from wizard.testbed.standin.auth import make_key, verify_key
from wizard.testbed.standin.cli import main
from wizard.testbed.standin.fallback import write_fallback_files
from wizard.testbed.standin.protocol import HEALTH_FUNCTION, HealthCheck, Response, postgrest_status
from wizard.testbed.standin.server import StandIn

__all__ = [
    "HEALTH_FUNCTION",
    "HealthCheck",
    "Response",
    "StandIn",
    "main",
    "make_key",
    "postgrest_status",
    "verify_key",
    "write_fallback_files",
]
