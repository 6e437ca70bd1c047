# mypy: ignore-errors
# (botbuilder lives in the bot's own venv, not in Loft's: mypy cannot see it.)
"""An unchanged botbuilder-python echo bot, as botbuilder's samples write it, for the bot channel's tests.

Run with the venv of tests/support/botvenv: ``python echo_bot.py PORT``. It answers ``Echo: <text>``; ``two``
gets two replies, ``card`` a hero card with two buttons, ``picture`` an image attachment. ``POST /api/notify``
(JSON ``{"text": …}``) sends a proactive message, through ``continue_conversation``, to every conversation the
bot has seen; ``POST /api/start`` starts one with a phone (``create_conversation``). Replies begin with a typing
indicator. It logs each turn's text on stdout. Without ``MicrosoftAppId`` in its environment: botbuilder's local mode (no
tokens); with it, and the four settings of docs/bots.md, it trusts Loft as its channel's identity provider.
"""

import os
import sys

from aiohttp import web
from botbuilder.core import ActivityHandler, CardFactory, MessageFactory, TurnContext
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    CardAction,
    ChannelAccount,
    ConversationParameters,
    ConversationReference,
    HeroCard,
)


class Config:
    PORT = int(sys.argv[1])
    APP_ID = os.environ.get("MicrosoftAppId", "")
    APP_PASSWORD = os.environ.get("MicrosoftAppPassword", "")
    APP_TYPE = "MultiTenant"
    APP_TENANTID = ""
    # Loft as the channel's identity provider (docs/bots.md); unset, Azure's.
    TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL = os.environ.get("TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL")
    TO_BOT_FROM_CHANNEL_TOKEN_ISSUER = os.environ.get("TO_BOT_FROM_CHANNEL_TOKEN_ISSUER")
    TO_CHANNEL_FROM_BOT_LOGIN_URL = os.environ.get("TO_CHANNEL_FROM_BOT_LOGIN_URL")
    TO_CHANNEL_FROM_BOT_OAUTH_SCOPE = os.environ.get("TO_CHANNEL_FROM_BOT_OAUTH_SCOPE")


ADAPTER = CloudAdapter(ConfigurationBotFrameworkAuthentication(Config()))
REFERENCES: dict[str, ConversationReference] = {}


class EchoBot(ActivityHandler):
    async def on_message_activity(self, turn_context: TurnContext) -> None:
        text = turn_context.activity.text or ""
        REFERENCES[turn_context.activity.conversation.id] = TurnContext.get_conversation_reference(
            turn_context.activity)
        print("turn", text, turn_context.activity.conversation.id, flush=True)
        if text == "two":
            await turn_context.send_activity("first reply")
            await turn_context.send_activity("second reply")
        elif text == "card":
            card = HeroCard(title="Pizza?", text="Pick one", buttons=[
                CardAction(type="imBack", title="Margherita", value="m"),
                CardAction(type="imBack", title="Diavola", value="d")])
            await turn_context.send_activity(MessageFactory.attachment(CardFactory.hero_card(card)))
        elif text == "picture":
            await turn_context.send_activity(MessageFactory.content_url(
                "https://demo.twilio.com/owl.png", "image/png", text="an owl"))
        else:
            await turn_context.send_activity(Activity(type=ActivityTypes.typing))
            await turn_context.send_activity(f"Echo: {text}")


BOT = EchoBot()


async def messages(request: web.Request) -> web.Response:
    return await ADAPTER.process(request, BOT)


async def notify(request: web.Request) -> web.Response:
    text = (await request.json())["text"]

    async def say(turn_context: TurnContext) -> None:
        await turn_context.send_activity(text)

    for reference in list(REFERENCES.values()):
        await ADAPTER.continue_conversation(reference, say, Config.APP_ID)
    return web.json_response({"sent": len(REFERENCES)})


async def start(request: web.Request) -> web.Response:
    """Start a conversation with a phone: ``{"service_url", "number", "phone", "text"}``."""
    given = await request.json()
    started = {}

    async def say(turn_context: TurnContext) -> None:
        started["conversation"] = turn_context.activity.conversation.id
        await turn_context.send_activity(given["text"])

    parameters = ConversationParameters(bot=ChannelAccount(id=given["number"]),
                                        members=[ChannelAccount(id=given["phone"])], is_group=False)
    await ADAPTER.create_conversation(Config.APP_ID, say, parameters, "sms", given["service_url"])
    return web.json_response(started)


APP = web.Application()
APP.router.add_post("/api/start", start)
APP.router.add_post("/api/messages", messages)
APP.router.add_post("/api/notify", notify)

if __name__ == "__main__":
    web.run_app(APP, host="127.0.0.1", port=Config.PORT, print=lambda *args: print("listening", flush=True))
