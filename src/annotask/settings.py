"""One typed settings object for the whole server.

Every setting is declared once here with a default and a description; the
documentation in ``docs/configuration.md`` is checked against this class by a
test, so a new setting cannot ship undocumented.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MiB = 1024 * 1024
# Database connections beyond the thread limit (see ``effective_pool_size``).
POOL_HEADROOM = 10


class Settings(BaseSettings):
    """Server settings, read from ``ANNOTASK_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="ANNOTASK_", extra="ignore")

    data_dir: Path = Field(
        default=Path("./annotask-data"),
        description="Directory holding the SQLite database, queue, cache, task media and uploads.",
    )
    database_url: str = Field(
        default="",
        description="SQLAlchemy database URL. Empty means a SQLite file `annotask.db` in the "
        "data dir (WAL mode). Example: `postgresql+psycopg://user@host/db`.",
    )
    queue_url: str = Field(
        default="",
        description="Job queue. Empty means the embedded SQLite-backed queue `queue.db` in the "
        "data dir; `redis://host:6379/0` uses Redis so many workers on many machines can share it.",
    )
    cache_url: str = Field(
        default="",
        description="Chunk cache. Empty means a size-bounded disk cache in `<data dir>/cache`; "
        "`redis://host:6379/1` uses Redis.",
    )
    redis_namespace: str = Field(
        default="annotask",
        description="Prefix of every Redis key annotask writes (queue and cache), so several "
        "deployments can share one Redis without taking each other's jobs.",
    )
    cache_size_limit: int = Field(
        default=4096 * MiB,
        description="Upper bound in bytes of the disk chunk cache; least used items are evicted.",
    )
    share_root: Path | None = Field(
        default=None,
        description="Root of the connected file share (`server_files`). Unset disables the share.",
    )
    public_base_url: str = Field(
        default="",
        description="Absolute base URL clients reach the server at (e.g. `https://cvat.example.com`)."
        " Empty means absolute URLs are built from the request's Host header.",
    )
    secret_key: str = Field(
        default="",
        description="Secret for signing. Empty means one is generated on first start and "
        "persisted in `<data dir>/secret.key`.",
    )
    worker_concurrency: int = Field(
        default=2, description="Number of jobs one worker process runs at once."
    )
    worker_network_concurrency: int = Field(
        default=2,
        ge=1,
        description="Number of network jobs (dataset repository clones and pushes, task "
        "creation from `remote_files`) one worker process runs at once. They have their own "
        "queue lane and threads beside `worker_concurrency`, so slow or hanging remote "
        "servers never hold up other users' task creation, imports and exports.",
    )
    http_header_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        description="A connection that has not sent a complete request line and headers "
        "within this many seconds (of connecting, or of starting its next request) is closed, "
        "so half-open connections cannot pile up. Applies to `annotask serve`.",
    )
    web_workers: int = Field(
        default=1,
        ge=1,
        description="Web server processes `annotask serve` runs (`--workers`). One suits the "
        "embedded default; use one per core when many annotators stream chunks at once.",
    )
    web_threads: int = Field(
        default=40,
        ge=1,
        description="Worker threads of one web process for blocking request work (the "
        "database, media): how many requests one process works on at once, the rest wait "
        "for a thread on the event loop. A request's transaction begins and ends inside one "
        "thread trip, so a waiting request never holds a database lock.",
    )
    database_pool_size: int = Field(
        default=0,
        ge=0,
        description="Database connections each engine of a process keeps open. 0 means "
        "`web_threads` plus headroom (`web_threads + 10`); a smaller value than "
        "`web_threads + 2` is refused at start, because a thread that waits for a connection "
        "holds a thread slot. On PostgreSQL, `max_connections` must cover every process's "
        "pool (plus 10 overflow connections each).",
    )
    embedded_worker: bool = Field(
        default=True,
        description="Whether `annotask serve` also starts a worker process. Turn off when "
        "separate `annotask worker` processes consume the queue.",
    )
    job_lease_seconds: int = Field(
        default=60,
        description="A started job whose worker has not renewed its lease for this long is "
        "considered dead and is re-run (or failed after `job_max_attempts`).",
    )
    job_max_attempts: int = Field(
        default=2, description="How many times a job is started before it is failed for good."
    )
    session_days: int = Field(default=14, description="Lifetime of a login session in days.")
    login_rate_limit: int = Field(
        default=10,
        description="Failed password attempts allowed per account and client address within "
        "`login_rate_window_seconds`, counted over every way to present a password (login by "
        "name or e-mail, HTTP Basic); further attempts get 429.",
    )
    login_rate_window_seconds: int = Field(
        default=300, description="Window for `login_rate_limit`."
    )
    login_account_rate_limit: int = Field(
        default=100,
        description="Failed password attempts allowed per account from all addresses together "
        "within `login_account_rate_window_seconds` (a looser cap against guessing from many "
        "addresses); addresses the account logged in from recently are exempt.",
    )
    login_account_rate_window_seconds: int = Field(
        default=900, description="Window for `login_account_rate_limit`."
    )
    login_known_address_days: int = Field(
        default=30,
        description="How long an address stays exempt from `login_account_rate_limit` after a "
        "successful login to that account from it.",
    )
    basic_auth_cache_seconds: float = Field(
        default=60.0,
        ge=0,
        description="How long one process remembers an HTTP Basic password it verified, so "
        "that clients sending Basic on every request do not pay Argon2 each time. A password "
        "change or a deactivation still takes effect at once (the remembered entry is tied to "
        "the stored hash and the user row is read on every request); failed attempts are "
        "never remembered. 0 verifies every request.",
    )
    max_upload_bytes: int = Field(
        default=100 * 1024 * MiB,
        description="Largest single uploaded file (bulk or TUS) in bytes.",
    )
    max_request_body_bytes: int = Field(
        default=110 * MiB,
        description="Largest body of one multipart or JSON request in bytes (TUS chunks and "
        "bulk groups are at most 100 MiB of files).",
    )
    disk_reserve_bytes: int = Field(
        default=64 * MiB,
        ge=0,
        description="Free space kept in reserve on the data directory's file system: a TUS "
        "upload whose length would eat into it is refused at creation (507), and "
        "`/api/server/health` reports `storage` as failing below it.",
    )
    upload_expiry_hours: int = Field(
        default=24, description="Unfinished uploads older than this are removed."
    )
    remote_max_files: int = Field(
        default=1000, description="Most URLs one task may download (`remote_files`)."
    )
    remote_max_bytes: int = Field(
        default=2048 * MiB, description="Largest file downloaded from a remote URL, in bytes."
    )
    remote_timeout_seconds: float = Field(
        default=60.0, description="Time limit for downloading one remote file."
    )
    remote_allow_private: bool = Field(
        default=False,
        description="Allow remote URLs that resolve to loopback or private addresses. Only "
        "for tests and trusted networks: it opens the server to SSRF.",
    )
    archive_max_entries: int = Field(
        default=100_000, description="Most entries an uploaded archive may hold."
    )
    archive_max_bytes: int = Field(
        default=64 * 1024 * MiB,
        description="Most bytes an uploaded archive may expand to. Whatever this says, an "
        "archive is also refused when it would leave less than `archive_disk_reserve_bytes` "
        "free on the disk.",
    )
    archive_disk_reserve_bytes: int = Field(
        default=1024 * MiB,
        description="Free disk space an archive extraction must leave: an archive whose "
        "declared sizes exceed the free space minus this is refused before anything is written.",
    )
    archive_max_ratio_media: float = Field(
        default=20.0,
        description="Largest expansion ratio (uncompressed / archive size) of a media archive "
        "(task data: images, video, point clouds), which barely compress. Archives expanding to "
        "less than 1 MiB are never refused for their ratio.",
    )
    archive_max_ratio_annotations: float = Field(
        default=200.0,
        description="Largest expansion ratio of an annotation archive (annotation or dataset "
        "import, backups): XML and JSON legitimately compress 20-100 times.",
    )
    image_max_pixels: int = Field(
        default=300_000_000,
        description="Largest image (width x height) accepted; guards against decompression bombs.",
    )
    page_size: int = Field(default=10, description="Default page size of list endpoints.")
    max_page_size: int = Field(default=1000, description="Largest `page_size` a client may ask.")
    request_retention_hours: int = Field(
        default=24,
        description="Finished and failed background requests are kept (and can be polled) "
        "this long, then removed.",
    )
    job_requeue_seconds: int = Field(
        default=300,
        description="A request still queued after this long is sent to the queue again, in "
        "case its message was lost (queue reset, crash between commit and enqueue). A duplicate "
        "message is harmless: only one worker can claim the request.",
    )
    worker_grace_seconds: int = Field(
        default=10,
        description="On SIGTERM a worker stops taking jobs and waits this long for running "
        "ones; those still running are then put back in the queue for another worker.",
    )
    git_enabled: bool = Field(
        default=True,
        description="Dataset repositories: tasks can push their annotations to a git "
        "repository (https, ssh, git@host:path, file:// or a local path), with the `git` "
        "binary of the server's user (its SSH keys and credential helpers). Off hides the "
        "feature (`GIT_INTEGRATION` false) and refuses `/api/git/repository/*` with 404.",
    )
    git_allow_local: bool = Field(
        default=False,
        description="Whether dataset repositories may be local (`file://` or a path on the "
        "server): on-premise mirrors. Off by default, since any user who may change a task "
        "could otherwise make the server clone, and push to, repositories its account can "
        "read or write.",
    )
    git_allowed_hosts: str = Field(
        default="",
        description="Comma-separated git hosts (names such as `git.corp`, `*.corp` for "
        "subdomains, or IP addresses) that dataset repositories may use although they resolve "
        "to loopback or private addresses: on-premise git servers. Only these hosts may use "
        "`git://` and Git LFS. Every other host must resolve to public addresses only, which "
        "the connection is then pinned to (see docs/security.md). Independent of "
        "`git_allow_local`, which is about `file://` and local paths; "
        "`remote_allow_private` allows every address for git too.",
    )
    git_connect_timeout_seconds: float = Field(
        default=15.0,
        gt=0,
        description="How long git over ssh waits to connect to a dataset repository's server.",
    )
    git_idle_timeout_seconds: float = Field(
        default=60.0,
        gt=0,
        description="A git clone, fetch or push that receives nothing (http: less than 1 "
        "byte/s; ssh: no answer to keep-alives) for this long is stopped.",
    )
    git_network_timeout_seconds: float = Field(
        default=300.0,
        gt=0,
        description="Time limit of one git command that talks to a dataset repository's server "
        "(clone, fetch, push), however it progresses.",
    )
    function_call_timeout_seconds: float = Field(
        default=60.0,
        gt=0,
        description="How long a single-frame function call (`POST /api/lambda/functions/{id}`) "
        "waits for an agent of the function to answer; after that the call fails with 504 and "
        "its request is failed, never left in the queue.",
    )
    storage_url: str = Field(
        default="",
        description="Where task data objects are stored. Empty means plain files in the data "
        "dir; `s3://bucket/prefix` uses an S3-compatible bucket (the prefix is optional), so "
        "several hosts without a shared file system can serve the same tasks. Task data is "
        "not yet stored through it (see the README's Object storage section).",
    )
    storage_endpoint_url: str = Field(
        default="",
        description="Endpoint of the S3-compatible service (e.g. `https://minio.internal:9000`)."
        " Empty means AWS S3 of `storage_region`.",
    )
    storage_region: str = Field(
        default="",
        description="Region of the bucket. Empty means boto3's default (`AWS_REGION`, "
        "`~/.aws/config`).",
    )
    storage_access_key_id: SecretStr | None = Field(
        default=None,
        description="Access key id for the bucket. Empty (with the secret empty too) means "
        "boto3's default credentials chain (`AWS_*` variables, `~/.aws`, instance roles).",
    )
    storage_secret_access_key: SecretStr | None = Field(
        default=None,
        description="Secret access key for the bucket (never logged, never shown).",
    )
    storage_part_bytes: int = Field(
        default=8 * MiB,
        ge=5 * MiB,
        description="Part size of multipart uploads to the bucket, in bytes (at least 5 MiB, "
        "S3's minimum). An upload holds about `storage_max_concurrency` + 2 parts in memory.",
    )
    storage_max_concurrency: int = Field(
        default=4,
        ge=1,
        description="Parts of one upload to the bucket sent at once.",
    )
    diagnostics_enabled: bool = Field(
        default=False,
        description="Enable `POST /api/requests/diagnostics/sleep` (admins only), a job that "
        "only sleeps and reports progress. It exists for testing the job machinery; keep it "
        "off in production.",
    )

    @field_validator("storage_url")
    @classmethod
    def _storage_url_scheme(cls, value: str) -> str:
        if not value:
            return value
        parts = urlsplit(value)
        if parts.scheme == "s3" and parts.netloc:
            return value
        if parts.scheme == "file" and parts.netloc in ("", "localhost") and parts.path[:1] == "/":
            return value
        raise ValueError("must be empty, s3://bucket/prefix or file:///absolute/path")

    @model_validator(mode="after")
    def _pool_covers_threads(self) -> Settings:
        if self.database_pool_size and self.database_pool_size < self.web_threads + 2:
            raise ValueError(
                f"database_pool_size ({self.database_pool_size}) must be at least web_threads "
                f"+ 2 ({self.web_threads + 2}), or 0 for the default: every web thread needs a "
                "connection, and a thread waiting for one would hold its slot."
            )
        return self

    @property
    def effective_pool_size(self) -> int:
        """Connections per engine: the setting, or the thread limit plus headroom (the
        worker's threads, the after-commit touches, health checks)."""
        return self.database_pool_size or self.web_threads + POOL_HEADROOM

    # ---- derived paths -------------------------------------------------

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'annotask.db').resolve()}"

    @property
    def git_allowed_host_list(self) -> tuple[str, ...]:
        """``git_allowed_hosts`` split at commas, without blanks."""
        return tuple(h.strip() for h in self.git_allowed_hosts.split(",") if h.strip())

    @property
    def queue_path(self) -> Path:
        return self.data_dir / "queue.db"

    @property
    def cache_dir(self) -> Path:
        return self.data_dir / "cache"

    @property
    def tasks_dir(self) -> Path:
        return self.data_dir / "tasks"

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def exports_dir(self) -> Path:
        return self.data_dir / "exports"

    def ensure_dirs(self) -> None:
        """Create the data directory layout; cheap and idempotent."""
        for path in (self.data_dir, self.tasks_dir, self.uploads_dir, self.exports_dir):
            path.mkdir(parents=True, exist_ok=True)

    def effective_secret_key(self) -> str:
        """Return the configured secret, or the persisted generated one (created once)."""
        if self.secret_key:
            return self.secret_key
        key_file = self.data_dir / "secret.key"
        if key_file.exists():
            return key_file.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        key_file.touch(mode=0o600)
        key_file.write_text(key)
        return key
