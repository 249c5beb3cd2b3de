"""The one place that wires the bot from settings. Stages get their collaborators passed in."""

from __future__ import annotations

from bot.errors import IndexMissingError
from bot.settings import Settings

INGEST_HINT = "python ingest.py"


def build_embedder(settings: Settings):
    """The real embedder on the configured backend (loads lazily on first use)."""
    from bot.embed.embedder import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(
        settings.embedding_model,
        settings.models_dir,
        query_prefix=settings.query_prefix,
        passage_prefix=settings.passage_prefix,
        backend=settings.embedding_backend,
        query_cache_size=settings.query_cache_size,
        batch_window_ms=settings.embed_batch_window_ms,
        max_batch=settings.embed_max_batch,
    )


def build_store(settings: Settings):
    from bot.index.chroma_store import ChromaStore, make_client

    return ChromaStore(make_client(settings), settings.collection)


def build_tickets(settings: Settings):
    from bot.tickets.store import TicketStore

    return TicketStore(settings.tickets_db_url, outbox=bool(settings.webhook_url))


def ingest(settings: Settings, *, embedder=None, store=None, progress: bool = True):
    """Validate the knowledge folder (nothing is written if it is malformed), sync the index,
    and write beside it what a person reviews: the detected conflicts and the report."""
    from bot.ingest.indexer import sync
    from bot.ingest.loader import load_corpus
    from bot.ingest.review import write_review

    corpus = load_corpus(settings.knowledge_dir)
    store = store or build_store(settings)
    embedder = embedder or build_embedder(settings)
    report = sync(
        corpus,
        store,
        embedder,
        chunk_max_tokens=settings.chunk_max_tokens,
        encoding=settings.tiktoken_encoding,
        progress=progress,
    )
    report.notes += fit_thresholds(settings, embedder=embedder, store=store, corpus=corpus)
    report.notes += write_review(settings, corpus, report)
    return report


def fit_thresholds(settings: Settings, *, embedder=None, store=None, corpus=None) -> list[str]:
    """Fit this index's decision thresholds from its knowledge (DATA_DIR/thresholds.json),
    unless a team's own calibration on gold questions is there: that one is kept."""
    from bot.calibrate import write_thresholds
    from bot.ingest.fit import fit
    from bot.settings import read_thresholds

    path = settings.thresholds_path
    current = read_thresholds(path)
    if (current.get("calibrated_on") or {}).get("gold"):
        return [f"thresholds: kept the calibration on {current['calibrated_on']['gold']} ({path})"]
    defaults = {
        k: Settings.model_fields[k].default
        for k in ("faq_threshold", "answer_threshold", "refuse_threshold")
    }
    from bot.tickets.store import TicketStore

    # Fitting asks questions and opens no tickets: an in-memory store keeps the real one clean.
    scratch = TicketStore("sqlite://")
    bot = build_bot(
        settings, embedder=embedder, store=store, tickets=scratch, chat_log=False, corpus=corpus
    )
    result = fit(bot, defaults)
    if result is None:
        return ["thresholds: too few FAQ questions to fit on; the defaults apply"]
    write_thresholds(path, result)
    th = result["thresholds"]
    return [
        f"thresholds fitted on {result['fit']['cases']} questions from the knowledge: "
        f"faq {th['faq_threshold']}, answer {th['answer_threshold']}, "
        f"refuse {th['refuse_threshold']} ({path})"
    ]


def open_index(settings: Settings, store, embedder, corpus) -> list:
    """The indexed chunks, after checking the index matches knowledge/ and the model."""
    try:
        store.open(create=False)
        manifest = store.manifest()
    except Exception as e:  # Chroma raises various errors for a missing collection
        raise IndexMissingError(f"索引不存在,请先运行: {INGEST_HINT}") from e
    if not manifest:
        raise IndexMissingError(f"索引不完整(上次导入未完成),请运行: {INGEST_HINT}")
    if manifest.get("knowledge") != corpus.fingerprint:
        raise IndexMissingError(f"索引已过期(knowledge/ 有改动),请运行: {INGEST_HINT}")
    if manifest.get("model") != embedder.fingerprint:
        raise IndexMissingError(
            f"索引由其他嵌入模型构建({manifest.get('model')}),请运行: {INGEST_HINT}"
        )
    return store.all_chunks()


def build_bot(
    settings: Settings, *, embedder=None, store=None, tickets=None, chat_log=True, corpus=None
):
    """Build and warm the whole bot; raises IndexMissingError / CorpusError / ModelError.
    `corpus` is the knowledge already loaded (ingest has it); otherwise it is read here."""
    from bot.chain import Kefu
    from bot.chatlog import ChatLog
    from bot.guard.sensitive import SensitiveWords
    from bot.index.sparse import add_words
    from bot.ingest.loader import load_corpus
    from bot.retrieve.hybrid import HybridRetriever

    corpus = corpus or load_corpus(settings.knowledge_dir)
    embedder = embedder or build_embedder(settings)
    store = store or build_store(settings)
    chunks = open_index(settings, store, embedder, corpus)
    add_words(corpus.profile.vocabulary())  # before the keyword index segments anything
    retriever = HybridRetriever(
        store,
        embedder,
        chunks,
        {f.id: f for f in corpus.faqs},
        candidate_k=settings.candidate_k,
        rrf_k=settings.rrf_k,
    )
    embedder.embed_queries(["warm up"])  # load the model now, not on the first customer's question
    tickets = tickets if tickets is not None else build_tickets(settings)
    screen = build_screen(settings, embedder, store)
    from bot.conversations import ConversationStore

    # Beside the tickets, on their connection pool: the console reads both together.
    conversations = ConversationStore(tickets.engine) if tickets is not None else None
    bot = Kefu(
        settings,
        retriever,
        corpus,
        tickets=tickets,
        chat_log=ChatLog(settings.chat_log_path) if chat_log else None,
        sensitive=SensitiveWords.from_settings(settings),
        webhook=build_webhook(settings, tickets),
        llm=build_llm(settings, corpus.profile),
        screen=screen,
        conversations=conversations,
    )
    bot.index_version = store.version  # what the server compares with the published one
    return bot


def build_screen(settings: Settings, embedder, store):
    """The attack screen over this index's FAQ phrasings; None when turned off (margin >= 1)."""
    if settings.injection_screen_margin >= 1:
        return None
    from bot.guard.screen import load_screen

    return load_screen(
        embedder, store.question_vectors(), settings.data_dir, settings.injection_screen_margin
    )


def build_llm(settings: Settings, profile=None):
    """The generative answerer when an OpenAI-compatible endpoint is set; None otherwise."""
    if not settings.llm_enabled:
        return None
    from bot.answer.llm import LLMAnswerer

    return LLMAnswerer(settings, profile=profile)


def build_webhook(settings: Settings, tickets):
    """The helpdesk webhook's outbox dispatcher, started; None when no webhook_url is set."""
    if not settings.webhook_url or tickets is None:
        return None
    from bot.tickets.webhook import WebhookDispatcher

    dispatcher = WebhookDispatcher(
        tickets,
        settings.webhook_url,
        timeout_s=settings.webhook_timeout_s,
        max_attempts=settings.webhook_max_attempts,
    )
    dispatcher.start()  # also picks up deliveries a previous run left pending
    return dispatcher
