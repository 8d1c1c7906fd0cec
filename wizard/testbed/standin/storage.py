"""Storage: list a bucket's folder (storage3's body) and download an object, as the caller's
role, so that ``storage.objects``' RLS decides, as in Supabase Storage."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, LiteralString

from wizard.testbed.standin.protocol import ApiState, Request, Response, storage_error

if TYPE_CHECKING:
    import psycopg


class StorageApi(ApiState):
    def _connect(self) -> psycopg.Connection[Any]:
        import psycopg

        info = {"connect_timeout": 5, "application_name": "fdw-wizard-standin", **self.db}
        return psycopg.connect(autocommit=False, **info)

    def _become(self, conn: psycopg.Connection[Any], claims: Mapping[str, Any]) -> str | None:
        """PostgREST's per-request role switch; None when the claim names no usable role."""
        from wizard.testbed.bed import impersonate

        role = str(claims.get("role") or "anon")
        row = conn.execute(
            "SELECT pg_has_role('authenticator', oid, 'MEMBER') FROM pg_roles WHERE rolname = %s",
            [role],
        ).fetchone()
        if row is None or not row[0]:
            return None
        impersonate(conn, role)
        conn.execute(
            "SELECT set_config('request.jwt.claims', %s, true)", [json.dumps(dict(claims))]
        )
        return role

    def _storage(self, claims: Mapping[str, Any], req: Request, rest: list[str]) -> Response:
        if len(rest) >= 3 and rest[:2] == ["object", "list"] and req.method == "POST":
            try:
                body = json.loads(req.body or b"{}")
            except ValueError:
                return storage_error(400, "invalid_request", "body must be JSON")
            return self.storage_list(claims, rest[2], body if isinstance(body, dict) else {})
        if rest and rest[0] == "object" and req.method in ("GET", "HEAD"):
            tail = rest[1:]
            if tail and tail[0] == "authenticated":
                tail = tail[1:]
            if len(tail) < 2:
                return storage_error(400, "invalid_request", "bucket and object name required")
            response = self.storage_download(claims, tail[0], "/".join(tail[1:]))
            if req.method == "HEAD":
                response.body = b""
            return response
        return storage_error(404, "not_found", "Route not found")

    def storage_list(
        self, claims: Mapping[str, Any], bucket: str, body: Mapping[str, Any]
    ) -> Response:
        """storage3 ``list``: one folder level under ``prefix``, sorted, paginated."""
        prefix = str(body.get("prefix") or "").strip("/")
        try:
            limit = int(body.get("limit", 100))
            offset = int(body.get("offset", 0))
        except (TypeError, ValueError):
            return storage_error(400, "invalid_request", "limit and offset must be numbers")
        sort = body.get("sortBy") or {}
        column = str(sort.get("column", "name"))
        if column not in ("name", "updated_at", "created_at", "last_accessed_at"):
            return storage_error(400, "invalid_request", "invalid sortBy column")
        descending = str(sort.get("order", "asc")).lower() == "desc"
        search = str(body.get("search") or "")
        base = prefix + "/" if prefix else ""
        rows = self._objects(
            claims,
            bucket,
            "SELECT name, id, updated_at, created_at, last_accessed_at, metadata"
            " FROM storage.objects WHERE bucket_id = %s AND starts_with(name, %s)",
            base,
        )
        if isinstance(rows, Response):
            return rows
        entries: dict[str, dict[str, Any]] = {}
        for name, oid, updated, created, accessed, metadata in rows:
            rest_name = str(name)[len(base) :]
            first, sep, _ = rest_name.partition("/")
            if search and not first.lower().startswith(search.lower()):
                continue
            if sep:  # a deeper object: its folder is listed once, without metadata
                entries.setdefault(
                    first,
                    {
                        "name": first,
                        "id": None,
                        "updated_at": None,
                        "created_at": None,
                        "last_accessed_at": None,
                        "metadata": None,
                    },
                )
                continue
            entries[first] = {
                "name": first,
                "id": str(oid),
                "updated_at": _iso(updated),
                "created_at": _iso(created),
                "last_accessed_at": _iso(accessed),
                "metadata": metadata,
            }
        items = sorted(entries.values(), key=lambda e: (e[column] is None, str(e[column] or "")))
        if descending:
            items.reverse()
        return Response.json(200, items[offset : offset + max(limit, 0)])

    def storage_download(self, claims: Mapping[str, Any], bucket: str, name: str) -> Response:
        not_found = storage_error(404, "not_found", "Object not found")
        if any(part in ("", ".", "..") for part in name.split("/")):
            return storage_error(400, "invalid_key", "Invalid key: " + name)
        rows = self._objects(
            claims,
            bucket,
            "SELECT metadata FROM storage.objects WHERE bucket_id = %s AND name = %s",
            name,
        )
        if isinstance(rows, Response):
            return rows
        if not rows:
            return not_found  # absent, or the role's RLS hides it (Storage says the same)
        row = rows[0]  # (bucket_id, name) is unique
        root = (self.storage_dir / bucket).resolve()
        path = (root / name).resolve()
        if root not in path.parents or not path.is_file():
            return not_found
        metadata = row[0] if isinstance(row[0], dict) else {}
        mimetype = str(metadata.get("mimetype") or "application/octet-stream")
        return Response(200, path.read_bytes(), {"Content-Type": mimetype})

    def _objects(
        self, claims: Mapping[str, Any], bucket: str, query: LiteralString, key: str
    ) -> list[tuple[Any, ...]] | Response:
        """``query`` on storage.objects (with the bucket and ``key``) as the claims' role, on a
        connection of its own, so that the role's RLS applies; or Storage's answer when the role
        is not allowed (403) or the bucket does not exist (404)."""
        conn = self._connect()
        try:
            if self._become(conn, claims) is None:
                return storage_error(403, "Unauthorized", "role not allowed")
            found = conn.execute("SELECT 1 FROM storage.buckets WHERE id = %s", [bucket])
            if found.fetchone() is None:
                return storage_error(404, "Bucket not found", "Bucket not found")
            return conn.execute(query, [bucket, key]).fetchall()
        finally:
            conn.close()


def _iso(value: Any) -> str | None:
    if not isinstance(value, datetime):
        return None
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
