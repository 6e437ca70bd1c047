"""The bot channel's job: post an inbound SMS's ``message`` Activity to the bot, retrying with backoff.

The job is recorded by the bot's ``sms_url`` in the transaction that answers Twilio (:mod:`loft.bots.endpoints`);
here the Activity goes out through the outbound guard (:mod:`loft.webhooks.sender`), and each try is kept in the
message's webhook log (kind ``bot``). A bot that is down is tried again after 1, 2, 4 … 60 seconds, at most
:data:`TRIES` times. The bot answers only once its turn is over (its replies come back meanwhile, on the
connector), so no transaction is open while it runs.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import timedelta

from loft.bots import activities, identity, service
from loft.context import Loft
from loft.delivery import jobs, outbox
from loft.delivery.outbox import Job
from loft.webhooks import attempts, sender

BOT = "bot"
#: How many times an Activity is posted before it is given up.
TRIES = 10
log = logging.getLogger("loft.bots")


def backoff(tries: int) -> timedelta:
    return timedelta(seconds=min(2 ** max(tries - 1, 0), 60))


@jobs.handles(BOT)
async def post_activity(loft: Loft, job: Job) -> None:
    async with loft.db.read() as conn:
        bot = await service.find(conn, str(job.payload["bot"]))
    if bot is None or bot.account_sid != job.account_sid:
        async with loft.db.write() as conn:
            await outbox.complete(conn, job)
        return
    params = [(str(name), str(value)) for name, value in job.payload["params"]]
    activity = activities.inbound(params, service_url=str(job.payload["service_url"]), bot_name=bot.friendly_name)
    token = hashlib.sha256(f"{job.account_sid}:{job.subject_sid}:bot".encode()).hexdigest()[:40]
    headers: tuple[tuple[str, str], ...] = ()
    if bot.microsoft_app_id:  # without one, no header at all: botbuilder's local mode fails on any
        signed = await identity.activity_token(loft, app_id=bot.microsoft_app_id,
                                               service_url=str(job.payload["service_url"]))
        headers = (("Authorization", f"Bearer {signed}"),)
    request = sender.WebhookRequest(url=bot.messaging_endpoint, method="POST", params=params, auth_token="",
                                    idempotency_token=token, json=json.dumps(activity), headers=headers)
    outcome = await sender.send(loft.http, request)
    async with loft.db.write() as conn:
        await attempts.record(conn, account_sid=job.account_sid, message_sid=job.subject_sid, kind=BOT,
                              request=request, outcome=outcome)
        if outcome.ok:
            await outbox.complete(conn, job)
        elif job.attempts >= TRIES:
            log.warning("bot %s: the Activity of %s was given up after %d tries", bot.sid, job.subject_sid,
                        job.attempts)
            await outbox.complete(conn, job)
        else:
            await outbox.postpone(conn, job, delay=backoff(job.attempts))
