"""The schema, as SQLAlchemy Core tables. Alembic migrations in ``loft/db/migrations`` create it."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    false,
    text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

#: An autoincrementing 64-bit key that is SQLite's rowid there.
Serial = BigInteger().with_variant(Integer(), "sqlite")


def _stamp(name: str, *, nullable: bool = False) -> Column[object]:
    return Column(name, DateTime(timezone=True), nullable=nullable)


accounts = Table(
    "accounts",
    metadata,
    Column("sid", String(34), primary_key=True),
    Column("parent_sid", String(34), ForeignKey("accounts.sid"), nullable=True, index=True),
    Column("friendly_name", String(255), nullable=False),
    Column("status", String(16), nullable=False),
    Column("type", String(8), nullable=False),
    Column("auth_token_sealed", Text, nullable=False),
    Column("is_main", Boolean, nullable=False, default=False),
    _stamp("date_created"),
    _stamp("date_updated"),
)

incoming_phone_numbers = Table(
    "incoming_phone_numbers",
    metadata,
    Column("sid", String(34), primary_key=True),
    Column("account_sid", String(34), ForeignKey("accounts.sid"), nullable=False, index=True),
    Column("phone_number", String(32), nullable=False, unique=True),
    Column("friendly_name", String(255), nullable=False),
    Column("number_type", String(16), nullable=False),
    Column("origin", String(16), nullable=False),
    Column("capability_voice", Boolean, nullable=False),
    Column("capability_sms", Boolean, nullable=False),
    Column("capability_mms", Boolean, nullable=False),
    Column("capability_fax", Boolean, nullable=False),
    Column("sms_url", Text),
    Column("sms_method", String(4), nullable=False),
    Column("sms_fallback_url", Text),
    Column("sms_fallback_method", String(4), nullable=False),
    Column("sms_application_sid", String(34)),
    Column("status_callback", Text),
    Column("status_callback_method", String(4), nullable=False),
    Column("voice_url", Text),
    Column("voice_method", String(4), nullable=False),
    Column("voice_fallback_url", Text),
    Column("voice_fallback_method", String(4), nullable=False),
    Column("voice_application_sid", String(34)),
    Column("voice_caller_id_lookup", Boolean, nullable=False),
    Column("voice_receive_mode", String(8), nullable=False),
    Column("trunk_sid", String(34)),
    Column("identity_sid", String(34)),
    Column("address_sid", String(34)),
    Column("address_requirements", String(8), nullable=False),
    Column("emergency_status", String(16), nullable=False),
    Column("emergency_address_sid", String(34)),
    Column("emergency_address_status", String(32), nullable=False),
    Column("bundle_sid", String(34)),
    _stamp("date_created"),
    _stamp("date_updated"),
)

messages = Table(
    "messages",
    metadata,
    Column("seq", Serial, primary_key=True, autoincrement=True),
    Column("sid", String(34), nullable=False, unique=True),
    Column("account_sid", String(34), nullable=False),
    Column("direction", String(16), nullable=False),
    Column("from_addr", String(64), nullable=False),
    Column("to_addr", String(64), nullable=False),
    Column("body", Text, nullable=False),
    Column("status", String(24), nullable=False),
    Column("num_segments", Integer, nullable=False),
    Column("num_media", Integer, nullable=False),
    #: The price Loft will bill (negative decimal string), shown once the message has been sent.
    Column("price_quote", String(16)),
    Column("price_unit", String(3), nullable=False),
    Column("error_code", Integer),
    Column("error_message", Text),
    Column("messaging_service_sid", String(34)),
    Column("application_sid", String(34)),
    Column("status_callback", Text),
    Column("status_callback_method", String(4), nullable=False, server_default="POST"),
    Column("validity_period", Integer, nullable=False),
    #: Create parameters Loft stores but that do not change delivery (Attempt, ProvideFeedback, …).
    Column("options", JSON, nullable=False),
    _stamp("date_created"),
    _stamp("date_updated"),
    _stamp("date_sent", nullable=True),
    # The message's account exists (accounts are closed, never deleted), enforced on SQLite only: on PostgreSQL
    # the check locks the account's row (FOR KEY SHARE) in every transaction that writes a message, and every
    # create of the deployment then locks the same row (migration 0017).
    ForeignKeyConstraint(["account_sid"], ["accounts.sid"]).ddl_if(dialect="sqlite"),
    Index("ix_messages_account_seq", "account_sid", "seq"),
    Index("ix_messages_account_to_seq", "account_sid", "to_addr", "seq"),
    Index("ix_messages_account_from_seq", "account_sid", "from_addr", "seq"),
    # Room on each page for the row's updates, made in place (migration 0014).
    postgresql_with={"fillfactor": 70},
)

message_media = Table(
    "message_media",
    metadata,
    Column("sid", String(34), primary_key=True),
    Column("message_sid", String(34), ForeignKey("messages.sid", ondelete="CASCADE"), nullable=False, index=True),
    Column("account_sid", String(34), nullable=False),
    Column("position", Integer, nullable=False),
    Column("url", Text, nullable=False),
    Column("content_type", String(128), nullable=False),
    _stamp("date_created"),
    _stamp("date_updated"),
)

message_feedback = Table(
    "message_feedback",
    metadata,
    Column("message_sid", String(34), ForeignKey("messages.sid", ondelete="CASCADE"), primary_key=True),
    Column("account_sid", String(34), nullable=False),
    Column("outcome", String(16), nullable=False),
    _stamp("date_created"),
    _stamp("date_updated"),
)

#: How many messages each account has ``scheduled`` (Twilio allows 500,000: ``LOFT_MAX_SCHEDULED_PER_ACCOUNT``),
#: kept as messages enter and leave that status (:mod:`loft.messages.scheduled`; migration 0018).
scheduled_counts = Table(
    "scheduled_counts",
    metadata,
    Column("account_sid", String(34), primary_key=True),
    Column("scheduled", Integer, nullable=False),
)

#: Work that must follow a committed write, recorded in the same transaction (the transactional outbox).
outbox = Table(
    "outbox",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("subject_sid", String(34), nullable=False),
    Column("account_sid", String(34), nullable=False),
    #: What the job needs beyond its subject (a callback's status snapshot, a receipt's outcome).
    Column("payload", JSON, nullable=True),
    _stamp("available_at"),
    _stamp("claimed_until", nullable=True),
    Column("claimed_by", String(64), nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    _stamp("date_created"),
    #: The network carrier whose processes run this job (a send routed to it); null: any worker.
    Column("carrier", String(64), nullable=True),
    Index("ix_outbox_available_at", "available_at"),
    # The jobs nobody holds, for claims (migration 0015): the jobs held meanwhile are not in it.
    Index("ix_outbox_unclaimed", "available_at", "id", sqlite_where=text("claimed_until IS NULL"),
          postgresql_where=text("claimed_until IS NULL")),
    # Never reuse a job id: a worker whose lease ran out must not complete a newer job by mistake.
    sqlite_autoincrement=True,
)

applications = Table(
    "applications",
    metadata,
    Column("sid", String(34), primary_key=True),
    Column("account_sid", String(34), ForeignKey("accounts.sid"), nullable=False, index=True),
    Column("friendly_name", String(255), nullable=False),
    Column("sms_url", Text),
    Column("sms_method", String(4), nullable=False),
    Column("sms_fallback_url", Text),
    Column("sms_fallback_method", String(4), nullable=False),
    Column("sms_status_callback", Text),
    Column("message_status_callback", Text),
    Column("voice_url", Text),
    Column("voice_method", String(4), nullable=False),
    Column("voice_fallback_url", Text),
    Column("voice_fallback_method", String(4), nullable=False),
    Column("status_callback", Text),
    Column("status_callback_method", String(4), nullable=False),
    Column("voice_caller_id_lookup", Boolean, nullable=False),
    Column("public_application_connect_enabled", Boolean, nullable=False),
    _stamp("date_created"),
    _stamp("date_updated"),
)

#: Virtual handsets: how "their carrier" answers messages sent to them, as each account set it (an account's
#: setting applies to its own sends and its subaccounts', never to another account's).
handsets = Table(
    "handsets",
    metadata,
    Column("phone_number", String(32), primary_key=True),
    Column("account_sid", String(34), ForeignKey("accounts.sid"), primary_key=True),
    Column("behavior", String(16), nullable=False),
    Column("receipt_delay_ms", Integer, nullable=False),
    #: Whether the handset supports RCS (``Rcs=true``): it can receive RCS messages and tap their buttons.
    Column("rcs", Boolean, nullable=False, server_default=false()),
    _stamp("date_created"),
    _stamp("date_updated"),
)

#: What each virtual handset has received.
handset_inbox = Table(
    "handset_inbox",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("phone_number", String(32), nullable=False),
    Column("account_sid", String(34), nullable=False),
    Column("message_sid", String(34), nullable=False, unique=True),
    Column("from_addr", String(64), nullable=False),
    Column("body", Text, nullable=False),
    Column("media_urls", JSON, nullable=False),
    #: ``sms``, ``mms`` or ``rcs`` (from an ``rcs:`` sender); ``content``: the rendered rich content, RCS only.
    Column("channel", String(8), nullable=False, server_default="sms"),
    Column("content", JSON),
    _stamp("date_received"),
    Index("ix_handset_inbox_phone_number_id", "phone_number", "id"),
)

#: One row per HTTP attempt at a webhook (status callback, inbound request, fallback).
webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("account_sid", String(34), nullable=False),
    Column("message_sid", String(34), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("url", Text, nullable=False),
    Column("method", String(4), nullable=False),
    Column("request_params", JSON, nullable=False),
    Column("idempotency_token", String(64), nullable=False),
    Column("status_code", Integer),
    Column("latency_ms", Integer, nullable=False),
    Column("response_excerpt", Text, nullable=False),
    Column("error_code", Integer),
    Column("error_message", Text),
    _stamp("date_created"),
)

#: Recipients (phones, ``+E164``) who texted STOP to a sender; sends from that sender to them fail with 21610. The
#: sender of a Messaging Service's pool records the opt-out under the service's SID: it holds for the whole service.
opt_outs = Table(
    "opt_outs",
    metadata,
    Column("sender", String(64), primary_key=True),
    Column("recipient", String(64), primary_key=True),
    Column("account_sid", String(34), nullable=False),
    _stamp("date_created"),
)

#: Media content Loft serves: inbound media from handsets and fetched outbound media.
media_content = Table(
    "media_content",
    metadata,
    Column("media_sid", String(34), primary_key=True),
    Column("content", LargeBinary, nullable=False),
)

#: Per-sender throughput: the earliest moment the sender's next segment may leave.
sender_pacing = Table(
    "sender_pacing",
    metadata,
    Column("sender", String(64), primary_key=True),
    _stamp("next_at"),
)

#: API keys (``SK…``): the secret is shown once, at creation, and only its SHA-256 digest is kept.
api_keys = Table(
    "api_keys",
    metadata,
    Column("sid", String(34), primary_key=True),
    Column("account_sid", String(34), ForeignKey("accounts.sid"), nullable=False, index=True),
    Column("friendly_name", String(255), nullable=False),
    Column("secret_digest", String(64), nullable=False),
    _stamp("date_created"),
    _stamp("date_updated"),
)

#: Signed-in console sessions, so that signing out ends one for good: the session cookie (signed) carries an id
#: whose SHA-256 digest is kept here; a cookie whose row is gone (signed out, expired) is refused.
console_sessions = Table(
    "console_sessions",
    metadata,
    Column("id_digest", String(64), primary_key=True),
    Column("account_sid", String(34), ForeignKey("accounts.sid"), nullable=False),
    _stamp("date_created"),
    _stamp("expires_at"),
    Index("ix_console_sessions_expires_at", "expires_at"),
)

#: Each hand-off of a message to a network carrier: which carrier took it (or refused it), with what references,
#: and what its delivery reports said. A message's Twilio-visible status lives in ``messages``; this is the
#: carrier side. (The simulator keeps its own record: ``handset_inbox``.)
delivery_attempts = Table(
    "delivery_attempts",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("message_sid", String(34), ForeignKey("messages.sid", ondelete="CASCADE"), nullable=False, index=True),
    Column("account_sid", String(34), nullable=False),
    Column("carrier", String(64), nullable=False),
    #: The carrier's reference (the first part's, for a message sent in parts; ``carrier_references`` has all).
    Column("reference", String(128), nullable=True),
    #: ``sent`` (taken), ``delivered``, ``undelivered``, ``failed``, or ``rejected`` (refused at hand-off).
    Column("status", String(16), nullable=False),
    Column("error_code", Integer, nullable=True),
    #: What the carrier said: SMPP ``stat`` / ``err``, the upstream's status, a refusal's reason.
    Column("detail", JSON, nullable=False),
    _stamp("date_created"),
    _stamp("date_updated"),
)

#: The references a carrier gave the parts of a hand-off (one per SMPP ``submit_sm``), by which its delivery
#: reports find the attempt; each part's own report.
carrier_references = Table(
    "carrier_references",
    metadata,
    Column("carrier", String(64), primary_key=True),
    Column("reference", String(128), primary_key=True),
    Column("attempt_id", BigInteger().with_variant(Integer(), "sqlite"),
           ForeignKey("delivery_attempts.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("part", Integer, nullable=False),
    Column("status", String(16), nullable=False),
)

#: The webhooks a relayed upstream (``type = "twilio"``) sent Loft, by their ``I-Twilio-Idempotency-Token``: a
#: retry of one already taken is answered without being taken again. Kept a day (loft/carriers/service.py).
carrier_webhooks = Table(
    "carrier_webhooks",
    metadata,
    Column("carrier", String(64), primary_key=True),
    #: The token's SHA-256 (hex): any length the upstream sends fits, and the key stays small.
    Column("token_digest", String(64), primary_key=True),
    _stamp("date_received"),
    Index("ix_carrier_webhooks_date_received", "date_received"),
)

#: Messaging Services (``MG…``, the messaging v1 API): how messages sent through a service choose their sender, and
#: where a service's inbound messages and status callbacks go.
messaging_services = Table(
    "messaging_services",
    metadata,
    Column("sid", String(34), primary_key=True),
    Column("account_sid", String(34), ForeignKey("accounts.sid"), nullable=False, index=True),
    Column("friendly_name", String(64), nullable=False),
    Column("inbound_request_url", Text),
    Column("inbound_method", String(4), nullable=False),
    Column("fallback_url", Text),
    Column("fallback_method", String(4), nullable=False),
    Column("status_callback", Text),
    Column("sticky_sender", Boolean, nullable=False),
    Column("mms_converter", Boolean, nullable=False),
    Column("smart_encoding", Boolean, nullable=False),
    Column("scan_message_content", String(8), nullable=False),
    Column("fallback_to_long_code", Boolean, nullable=False),
    Column("area_code_geomatch", Boolean, nullable=False),
    Column("validity_period", Integer, nullable=False),
    Column("synchronous_validation", Boolean, nullable=False),
    Column("usecase", String(16), nullable=False),
    Column("use_inbound_webhook_on_number", Boolean, nullable=False),
    _stamp("date_created"),
    _stamp("date_updated"),
)

#: A Messaging Service's sender pool: its phone numbers (``sid`` is the number's ``PN…``, so a number is in one
#: service at most), short codes, alphanumeric senders (``AI…``, for any country or, ``country`` set, for one)
#: and channel senders. Deleting the service, or releasing the number, takes the sender out of the pool.
messaging_service_senders = Table(
    "messaging_service_senders",
    metadata,
    Column("sid", String(34), primary_key=True),
    Column("service_sid", String(34), ForeignKey("messaging_services.sid", ondelete="CASCADE"), nullable=False),
    Column("account_sid", String(34), nullable=False),
    #: ``phone_number``, ``short_code``, ``alpha_sender``, ``destination_alpha_sender`` or ``channel_sender``.
    Column("kind", String(32), nullable=False),
    #: What a message's ``from`` becomes: ``+E164``, the short code's digits, the alphanumeric ID, the channel address.
    Column("address", String(64), nullable=False),
    #: ISO 3166 alpha-2: the number's or short code's country, the country a destination alpha sender is for.
    Column("country", String(2)),
    #: Twilio's names, as the v1 API lists them (``["MMS", "SMS", "Voice"]``).
    Column("capabilities", JSON, nullable=False),
    Column("number_sid", String(34), ForeignKey("incoming_phone_numbers.sid", ondelete="CASCADE"), index=True),
    _stamp("date_created"),
    _stamp("date_updated"),
    Index("ix_messaging_service_senders_service_kind", "service_sid", "kind", "date_created", "sid"),
)

#: Content templates (``HX…``, Content API v1, loft/content/): their types validated, as the client gave them
#: (``null`` fields left out), and the WhatsApp approval request, if one was made (Loft approves it at once).
contents = Table(
    "contents",
    metadata,
    Column("sid", String(34), primary_key=True),
    Column("account_sid", String(34), ForeignKey("accounts.sid"), nullable=False),
    Column("friendly_name", String(255)),
    Column("language", String(16), nullable=False),
    Column("variables", JSON, nullable=False),
    Column("types", JSON, nullable=False),
    Column("approval", JSON),
    _stamp("date_created"),
    _stamp("date_updated"),
    Index("ix_contents_account_created", "account_sid", "date_created", "sid"),
)

#: Channel senders (``XE…``, messaging v2 ``/v2/Channels/Senders``, loft/senders/): RCS agents. ``sender_id`` is
#: ``rcs:<agent>``, unique in Loft as in Twilio; ``status`` moves from ``CREATING`` to ``ONLINE`` by an outbox job.
channel_senders = Table(
    "channel_senders",
    metadata,
    Column("sid", String(34), primary_key=True),
    Column("account_sid", String(34), ForeignKey("accounts.sid"), nullable=False),
    Column("sender_id", String(64), nullable=False, unique=True),
    Column("status", String(32), nullable=False),
    Column("profile", JSON),
    Column("webhook", JSON),
    _stamp("date_created"),
    _stamp("date_updated"),
    Index("ix_channel_senders_account_created", "account_sid", "date_created", "sid"),
)

#: Sticky sender: the sender a Messaging Service last sent to a recipient from (loft/delivery/selection.py), kept
#: while it is used; one that left the pool, or unused for a year, is chosen again.
messaging_sticky_senders = Table(
    "messaging_sticky_senders",
    metadata,
    Column("service_sid", String(34), ForeignKey("messaging_services.sid", ondelete="CASCADE"), primary_key=True),
    Column("recipient", String(64), primary_key=True),
    #: The pool's sender (``messaging_service_senders.sid``) and what it sends as.
    Column("sender_sid", String(34), nullable=False),
    Column("address", String(64), nullable=False),
    _stamp("date_updated"),
)

#: The simulator's clock (loft/sim/clock.py): how far Loft's "now" is ahead of the wall clock, in whole seconds.
#: One row (``id`` 1), made by its first advance; it only grows.
sim_clock = Table(
    "sim_clock",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("offset_seconds", BigInteger, nullable=False),
    #: When it was last advanced, by the wall clock.
    _stamp("date_updated"),
)

#: Bot Framework connections (loft/bots): a botbuilder bot that an account's numbers talk to, Loft being its SMS
#: channel. The app password is sealed (loft/kit/crypto.py) and never returned.
bots = Table(
    "bots",
    metadata,
    Column("sid", String(34), primary_key=True),
    Column("account_sid", String(34), ForeignKey("accounts.sid"), nullable=False, index=True),
    Column("friendly_name", String(255), nullable=False),
    Column("messaging_endpoint", Text, nullable=False),
    Column("microsoft_app_id", String(255)),
    Column("microsoft_app_password_sealed", Text),
    Column("microsoft_app_tenant_id", String(255)),
    _stamp("date_created"),
    _stamp("date_updated"),
)

#: The RSA keys Loft signs bots' Activities with (loft/bots/identity.py), sealed; the JWKS lists them all, the
#: oldest signs (two processes that made one at once both stay valid).
bot_signing_keys = Table(
    "bot_signing_keys",
    metadata,
    Column("kid", String(64), primary_key=True),
    Column("private_key_sealed", Text, nullable=False),
    _stamp("date_created"),
)

#: The workers listening for new work on PostgreSQL (loft/delivery/wakeups.py), each on a channel of its own: a
#: process that records new sends wakes one of them, in turn, rather than all. A worker renews its row while it
#: listens; one not renewed for a while is no longer woken.
listeners = Table(
    "listeners",
    metadata,
    Column("channel", String(63), primary_key=True),
    _stamp("seen_at"),
)
