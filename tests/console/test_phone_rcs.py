"""The virtual phone and RCS: a handset talks with one of the account's RCS senders, sees its cards, carousels and
quick replies drawn from their content, and taps them; the tap reaches the Messaging Service's webhook, signed,
exactly as the simulator's ``POST /sim/v1/Handsets/{Phone}/Messages`` sends it.

Two ways put an RCS message in a handset's inbox:

- **the SDK path** (:func:`test_a_card_sent_through_the_api_is_tapped_in_the_console`,
  :func:`test_a_carousel_scrolls_sideways_and_quick_reply_chips_tap`): a content template sent with
  ``client.messages.create(messaging_service_sid=…, content_sid=…, content_variables=…)`` to an RCS handset;
- **the helper path** (the other tests): :func:`tests.console.helpers.deliver_rcs` stores a message from the
  ``rcs:`` sender with content of the test's choosing — content no template can hold (script URLs, fields of the
  wrong kind), a list picker (not an RCS type of Twilio's), an RCS message of plain text — as a send over RCS
  stores it, and Loft's worker and simulator carrier deliver it.

Everything else is real: a ``loft serve`` on SQLite, the official SDK, a receiver on 127.0.0.1, headless Chromium.
"""

from __future__ import annotations

import json
import re
import struct
import zlib
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from twilio.request_validator import RequestValidator
from twilio.rest import Client
from twilio.rest.content.v1.content import ContentList

from tests.console.helpers import deliver_rcs, shoot, sign_in
from tests.senders.conftest import agent as new_agent
from tests.senders.conftest import request
from tests.support import clients
from tests.support.receiver import Answer, Received, Receiver
from tests.support.server import LoftServer
from tests.support.sim import Sim
from tests.support.waiting import eventually


def png(red: int, green: int, blue: int) -> bytes:
    """A real 1×1 PNG of one colour (the browser draws the cards' images from the bot's receiver)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(bytes([0, red, green, blue]))) + chunk(b"IEND", b""))


@pytest.fixture(scope="module", autouse=True)
def pictures(bot: Receiver) -> None:
    for path in ("/parcel.png", "/pixel.png", *(f"/shoe{n}.png" for n in range(1, 5))):
        bot.answer(path, Answer(raw=png(49, 81, 211), content_type="image/png"))


def shipped(bot: Receiver) -> dict[str, Any]:
    return {"type": "twilio/card", "title": "Order 1234 shipped", "subtitle": "Hi Ada, it is on its way",
            "media": [bot.url("/parcel.png")],
            "actions": [{"type": "QUICK_REPLY", "title": "Track it", "id": "track_1234"},
                        {"type": "URL", "title": "Details", "url": "https://example.com/o/1234"},
                        {"type": "PHONE_NUMBER", "title": "Call us", "phone": "+12125551212"}]}


def rcs_sender(client: Client, bot: Receiver, path: str) -> tuple[str, str]:
    """An online RCS sender of the test's account in a new Messaging Service whose inbound webhook is ``path`` on
    the bot: (its ``rcs:<agent>``, the service's SID)."""
    sender = client.messaging.v2.channels_senders.create(request({"sender_id": new_agent()}))
    assert eventually(lambda: client.messaging.v2.channels_senders(sender.sid).fetch().status == "ONLINE", timeout=10)
    service = client.messaging.v1.services.create(friendly_name="Deliveries", inbound_request_url=bot.url(path))
    client.messaging.v1.services(service.sid).channel_senders.create(sid=sender.sid)
    return str(sender.sender_id), str(service.sid)


def delivered(sim: Sim, handset: str, sid: str) -> dict[str, Any]:
    """The message ``sid`` once it is in the handset's inbox."""
    found: dict[str, Any] = eventually(lambda: next((m for m in sim.inbox(handset) if m["sid"] == sid), None))
    return found


def open_thread(page: Page, handset: str, peer: str) -> None:
    page.goto(f"/console/phone?handset={handset.replace('+', '%2B')}&number={peer}")


def webhook(bot: Receiver, path: str, count: int = 1) -> Received:
    bot.wait_for(lambda got: len([call for call in got if call.path == path]) >= count)
    return bot.to(path)[count - 1]


def signed(call: Received, url: str, auth_token: str) -> bool:
    return bool(RequestValidator(auth_token).validate(url, call.params, call.headers["x-twilio-signature"]))


def test_a_card_is_drawn_and_its_quick_reply_tapped(page: Page, account: tuple[str, str], client: Client,
                                                   sim: Sim, bot: Receiver, server: LoftServer) -> None:
    """Helper path: the card reaches the inbox through Loft's worker and simulator carrier."""
    agent, service = rcs_sender(client, bot, "/rcs-card")
    sim.configure("+15550107001", Rcs="true")
    sid = deliver_rcs(server, account[0], agent, "+15550107001", shipped(bot), body="Order 1234 shipped")
    assert delivered(sim, "+15550107001", sid)["channel"] == "rcs"

    sign_in(page, *account)
    open_thread(page, "+15550107001", agent)
    expect(page.locator("#pick-handset select[name=number]")).to_have_value(agent)
    card = page.locator(f'.bubble.theirs[data-sid="{sid}"] .rcs-card')
    expect(card.locator(".rcs-title")).to_have_text("Order 1234 shipped")
    expect(card.locator(".rcs-subtitle")).to_have_text("Hi Ada, it is on its way")
    expect(card.locator("img.rcs-media")).to_have_attribute("src", bot.url("/parcel.png"))
    assert eventually(lambda: card.locator("img.rcs-media").evaluate("image => image.naturalWidth") == 1)
    details = card.get_by_role("link", name="Details")
    expect(details).to_have_attribute("href", "https://example.com/o/1234")
    expect(details).to_have_attribute("target", "_blank")
    expect(details).to_have_attribute("rel", re.compile(r"\bnoopener\b"))
    expect(card.locator(".action.call")).to_have_text("Call us · +12125551212")
    shoot(page, "phone-rcs-card")

    card.get_by_role("button", name="Track it").click()
    call = webhook(bot, "/rcs-card")
    assert signed(call, bot.url("/rcs-card"), account[1])
    assert (call.param("From"), call.param("To"), call.param("ButtonPayload"), call.param("ButtonText"),
            call.param("Body"), call.param("MessagingServiceSid")) == (
        "rcs:+15550107001", agent, "track_1234", "Track it", "Track it", service)
    tap = page.locator(".bubble.mine")
    expect(tap).to_have_count(1)
    expect(tap.locator(".text")).to_have_text("Track it")
    expect(tap.locator(".meta")).to_contain_text("tapped")
    assert page.locator(".bubble").nth(1).get_attribute("data-sid") == call.param("MessageSid")  # after the card

    # The handset also writes to the sender in plain text.
    page.locator("#composer-body").fill("When will it arrive?")
    page.get_by_role("button", name="Send").click()
    call = webhook(bot, "/rcs-card", 2)
    assert (call.param("From"), call.param("Body"), call.param("ButtonPayload")) == (
        "rcs:+15550107001", "When will it arrive?", None)
    expect(page.locator(".bubble.mine .text")).to_have_text(["Track it", "When will it arrive?"])


def send_content(client: Client, service: str, to: str, types: dict[str, Any]) -> str:
    """A template of ``types`` sent through the Messaging Service ``service`` (the SDK path): its message's SID."""
    template = client.content.v1.contents.create(ContentList.ContentCreateRequest(
        {"friendly_name": "picks", "language": "en", "types": types}))
    return str(client.messages.create(messaging_service_sid=service, to=to, content_sid=template.sid).sid)


def test_a_carousel_scrolls_sideways_and_quick_reply_chips_tap(page: Page, account: tuple[str, str],
                                                              client: Client, sim: Sim, bot: Receiver) -> None:
    """The SDK path: a carousel and a quick reply sent through the service."""
    agent, service = rcs_sender(client, bot, "/rcs-carousel")
    sim.configure("+15550107002", Rcs="true")
    cards = [{"title": f"Shoe {n}", "body": f"Size {40 + n}", "media": bot.url(f"/shoe{n}.png"),
              "actions": [{"type": "QUICK_REPLY", "title": f"Buy shoe {n}", "id": f"buy_{n}"}]} for n in range(1, 5)]
    picks = send_content(client, service, "+15550107002", {"twilio/carousel": {"body": "Our picks", "cards": cards}})
    delivered(sim, "+15550107002", picks)
    chips = send_content(client, service, "+15550107002", {"twilio/quick-reply": {
        "body": "Did it fit?", "actions": [{"type": "QUICK_REPLY", "title": "Yes", "id": "fit_yes"},
                                           {"type": "QUICK_REPLY", "title": "No", "id": "fit_no"}]}})
    delivered(sim, "+15550107002", chips)

    sign_in(page, *account)
    open_thread(page, "+15550107002", agent)
    carousel = page.locator(".bubble.theirs .carousel")
    expect(carousel.locator(".rcs-card .rcs-title")).to_have_text(["Shoe 1", "Shoe 2", "Shoe 3", "Shoe 4"])
    expect(carousel.locator(".rcs-card .text")).to_have_text(["Size 41", "Size 42", "Size 43", "Size 44"])
    expect(carousel.locator(".rcs-card img")).to_have_count(4)
    expect(carousel.locator(".rcs-card img").first).to_have_attribute("src", bot.url("/shoe1.png"))
    # Side by side, wider than the bubble: scrolled horizontally, within the phone (the page does not widen).
    assert carousel.evaluate("box => getComputedStyle(box).overflowX") == "auto"
    assert carousel.evaluate("box => box.scrollWidth > box.clientWidth")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    first, second = (carousel.locator(".rcs-card").nth(n).bounding_box() for n in (0, 1))
    assert first and second and round(first["y"]) == round(second["y"]) and second["x"] > first["x"]

    bubble = page.locator(f'.bubble.theirs[data-sid="{chips}"]')
    expect(bubble.locator(".text")).to_have_text("Did it fit?")
    expect(bubble.locator(".chips button")).to_have_text(["Yes", "No"])
    shoot(page, "phone-rcs-carousel")
    bubble.get_by_role("button", name="No").click()
    call = webhook(bot, "/rcs-carousel")
    assert (call.param("ButtonPayload"), call.param("ButtonText"), call.param("From")) == (
        "fit_no", "No", "rcs:+15550107002")
    expect(page.locator(".bubble.mine .text")).to_have_text(["No"])

    carousel.locator(".rcs-card").nth(3).scroll_into_view_if_needed()
    carousel.get_by_role("button", name="Buy shoe 4").click()
    call = webhook(bot, "/rcs-carousel", 2)
    assert (call.param("ButtonPayload"), call.param("ButtonText")) == ("buy_4", "Buy shoe 4")
    expect(page.locator(".bubble.mine .text")).to_have_text(["No", "Buy shoe 4"])


def test_call_to_action_list_picker_and_plain_rcs_text(page: Page, account: tuple[str, str], client: Client,
                                                      sim: Sim, bot: Receiver, server: LoftServer) -> None:
    """Helper path."""
    agent, _ = rcs_sender(client, bot, "/rcs-cta")
    sim.configure("+15550107003", Rcs="true")
    deliver_rcs(server, account[0], agent, "+15550107003", {
        "type": "twilio/call-to-action", "body": "Your parcel is near",
        "actions": [{"type": "URL", "title": "Follow it", "url": "https://example.com/map"},
                    {"type": "PHONE_NUMBER", "title": "Driver", "phone": "+12125550000"}]})
    deliver_rcs(server, account[0], agent, "+15550107003", {
        "type": "twilio/list-picker", "body": "Pick a slot", "button": "Slots",
        "items": [{"id": "am", "item": "Morning", "description": "8–12"}, {"id": "pm", "item": "Afternoon"}]})
    last = deliver_rcs(server, account[0], agent, "+15550107003", None,
                       body="Plain words over RCS")
    delivered(sim, "+15550107003", last)

    sign_in(page, *account)
    open_thread(page, "+15550107003", agent)
    link = page.get_by_role("link", name="Follow it")
    expect(link).to_have_attribute("href", "https://example.com/map")
    expect(link).to_have_attribute("rel", re.compile(r"\bnoopener\b"))
    expect(page.locator(".action.call")).to_have_text("Driver · +12125550000")
    picker = page.locator(".list-picker")
    expect(picker.locator("li button")).to_have_text(["Morning", "Afternoon"])
    expect(picker.locator("li small")).to_have_text(["8–12"])
    plain = page.locator(f'.bubble.theirs[data-sid="{last}"]')
    expect(plain.locator(".text")).to_have_text("Plain words over RCS")
    expect(plain).to_have_attribute("data-channel", "rcs")
    picker.get_by_role("button", name="Afternoon").click()
    call = webhook(bot, "/rcs-cta")
    assert (call.param("ButtonPayload"), call.param("ButtonText")) == ("pm", "Afternoon")


SCRIPT = "<script>window.__pwned = 1</script>"


def hostile(bot: Receiver) -> dict[str, Any]:
    return {"type": "twilio/card", "title": SCRIPT, "subtitle": '<img src=x onerror="window.__pwned = 2">',
            "media": ["javascript:window.__pwned = 3", bot.url("/pixel.png") + '"><script>window.__pwned=4</script>'],
            "actions": [{"type": "QUICK_REPLY", "title": "<b>bold</b>", "id": "<i>id</i>"},
                        {"type": "URL", "title": "Sneaky", "url": "javascript:window.__pwned = 5"}]}


def test_rich_content_is_shown_as_text(page: Page, account: tuple[str, str], client: Client, sim: Sim,
                                       bot: Receiver, server: LoftServer) -> None:
    """Helper path: a card whose texts are HTML, whose media and link are scripts."""
    agent, _ = rcs_sender(client, bot, "/rcs-hostile")
    sim.configure("+15550107004", Rcs="true")
    delivered(sim, "+15550107004", deliver_rcs(server, account[0], agent, "+15550107004", hostile(bot)))

    sign_in(page, *account)
    open_thread(page, "+15550107004", agent)
    for drawn in ("by the script", "by the server"):
        card = page.locator(".rcs-card")
        expect(card.locator(".rcs-title")).to_have_text(SCRIPT)
        expect(card.locator(".rcs-subtitle")).to_have_text('<img src=x onerror="window.__pwned = 2">')
        expect(card.get_by_role("button", name="<b>bold</b>")).to_be_visible()
        expect(card.locator("span.action")).to_have_text("Sneaky")  # no link to a script
        images = card.locator("img")
        expect(images).to_have_count(1)
        assert images.get_attribute("src") == bot.url("/pixel.png") + '"><script>window.__pwned=4</script>', drawn
        assert page.locator("#thread script, #thread b, #thread a[href^=javascript]").count() == 0, drawn
        page.reload()
    card.get_by_role("button", name="<b>bold</b>").click()
    call = webhook(bot, "/rcs-hostile")
    assert (call.param("ButtonPayload"), call.param("ButtonText")) == ("<i>id</i>", "<b>bold</b>")
    expect(page.locator(".bubble.mine .text")).to_have_text(["<b>bold</b>"])
    assert page.evaluate("window.__pwned") is None


def test_without_the_script_the_server_draws_the_card_and_a_tap_is_a_form(
        browser: Browser, server: LoftServer, account: tuple[str, str], client: Client, sim: Sim,
        bot: Receiver) -> None:
    """Helper path; the page as the server renders it (Jinja), scripts off."""
    agent, _ = rcs_sender(client, bot, "/rcs-noscript")
    sim.configure("+15550107005", Rcs="true")
    sid = deliver_rcs(server, account[0], agent, "+15550107005", {**hostile(bot), "title": "Plain card"})
    delivered(sim, "+15550107005", sid)
    context = browser.new_context(java_script_enabled=False, base_url=server.base_url)
    try:
        page = context.new_page()
        sign_in(page, *account)
        open_thread(page, "+15550107005", agent)
        card = page.locator(f'.bubble[data-sid="{sid}"] .rcs-card')
        expect(card.locator(".rcs-title")).to_have_text("Plain card")
        expect(card.locator(".rcs-subtitle")).to_have_text('<img src=x onerror="window.__pwned = 2">')
        expect(card.locator("img")).to_have_count(1)
        card.get_by_role("button", name="<b>bold</b>").click()
        expect(page).to_have_url(re.compile(r"/console/phone\?handset=%2B15550107005&number=rcs%3A"))
        expect(page.locator(".bubble.mine .text")).to_have_text(["<b>bold</b>"])
        call = webhook(bot, "/rcs-noscript")
        assert (call.param("ButtonPayload"), call.param("From")) == ("<i>id</i>", "rcs:+15550107005")
    finally:
        context.close()


def test_a_handset_without_rcs_is_told_and_can_turn_it_on(page: Page, account: tuple[str, str], client: Client,
                                                          sim: Sim, bot: Receiver) -> None:
    agent, _ = rcs_sender(client, bot, "/rcs-off")
    number = client.incoming_phone_numbers.create(area_code="415").phone_number
    sign_in(page, *account)
    open_thread(page, "+15550107006", number)
    expect(page.locator("#pick-handset select[name=number] option")).to_have_text([number, agent])
    expect(page.locator("#rcs-off")).to_have_count(0)  # a number needs no RCS

    open_thread(page, "+15550107006", agent)
    expect(page.locator("#rcs-off")).to_contain_text("does not support RCS")
    page.locator("#composer-body").fill("hello agent")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#phone-error")).to_contain_text("does not support RCS")
    expect(page.locator("#phone-error")).to_contain_text("63106")
    assert client.messages.list(to=agent) == []

    page.get_by_role("button", name="Turn RCS on for this handset").click()
    expect(page.locator(".flash.notice")).to_have_text("The handset +15550107006 supports RCS now.")
    expect(page.locator("#rcs-off")).to_have_count(0)
    assert sim.http.get("/sim/v1/Handsets/+15550107006").json()["rcs"] is True
    page.locator("#composer-body").fill("hello agent")
    page.get_by_role("button", name="Send").click()
    expect(page.locator(".bubble.mine .text")).to_have_text(["hello agent"])
    assert webhook(bot, "/rcs-off").param("From") == "rcs:+15550107006"


def test_the_thread_json_carries_channel_and_content(page: Page, account: tuple[str, str], client: Client,
                                                     sim: Sim, bot: Receiver, server: LoftServer) -> None:
    """Helper path."""
    agent, _ = rcs_sender(client, bot, "/rcs-json")
    sim.configure("+15550107007", Rcs="true")
    sent = shipped(bot)
    sid = deliver_rcs(server, account[0], agent, "+15550107007", sent)
    delivered(sim, "+15550107007", sid)
    sign_in(page, *account)
    answer = page.request.get(f"/console/phone/thread.json?handset=%2B15550107007&number={agent}")
    [message] = answer.json()["messages"]
    assert (message["sid"], message["channel"], message["mine"]) == (sid, "rcs", False)
    content = message["content"]
    assert (content["type"], content["title"], content["subtitle"], content["media"]) == (
        sent["type"], sent["title"], sent["subtitle"], sent["media"])
    assert [(a["type"], a["title"], a["id"], a["url"], a["phone"]) for a in content["actions"]] == [
        ("QUICK_REPLY", "Track it", "track_1234", "", ""), ("URL", "Details", "", "https://example.com/o/1234", ""),
        ("PHONE_NUMBER", "Call us", "", "", "+12125551212")]


def test_a_card_sent_through_the_api_is_tapped_in_the_console(page: Page, account: tuple[str, str], client: Client,
                                                             sim: Sim, bot: Receiver) -> None:
    """The SDK path: a template sent through a Messaging Service that holds the RCS sender, to an RCS handset."""
    agent, service = rcs_sender(client, bot, "/rcs-sdk")
    template = client.content.v1.contents.create(ContentList.ContentCreateRequest({
        "friendly_name": "order_shipped", "language": "en", "variables": {"1": "there", "order": "0000"},
        "types": {"twilio/card": {"title": "Order {{order}} shipped", "subtitle": "Hi {{1}}, it is on its way",
                                  "media": [bot.url("/parcel.png")],
                                  "actions": [{"type": "QUICK_REPLY", "title": "Track it", "id": "track_{{order}}"}]},
                  "twilio/text": {"body": "Hi {{1}}, order {{order}} shipped"}}}))
    sim.configure("+15550107008", Rcs="true")
    sent = client.messages.create(messaging_service_sid=service, to="+15550107008", content_sid=template.sid,
                                  content_variables=json.dumps({"1": "Ada", "order": "1234"}))
    assert delivered(sim, "+15550107008", sent.sid)["from"] == agent

    sign_in(page, *account)
    open_thread(page, "+15550107008", agent)
    card = page.locator(f'.bubble.theirs[data-sid="{sent.sid}"] .rcs-card')
    expect(card.locator(".rcs-title")).to_have_text("Order 1234 shipped")
    expect(card.locator(".rcs-subtitle")).to_have_text("Hi Ada, it is on its way")
    card.get_by_role("button", name="Track it").click()
    call = webhook(bot, "/rcs-sdk")
    assert signed(call, bot.url("/rcs-sdk"), account[1])
    assert (call.param("From"), call.param("To"), call.param("ButtonPayload"), call.param("ButtonText")) == (
        "rcs:+15550107008", agent, "track_1234", "Track it")
    expect(page.locator(".bubble.mine .text")).to_have_text(["Track it"])


def test_taps_need_the_csrf_token_and_reach_only_the_account_s_own_senders(
        page: Page, account: tuple[str, str], client: Client, main_client: Client, server: LoftServer, sim: Sim,
        bot: Receiver) -> None:
    agent, _ = rcs_sender(client, bot, "/rcs-forged")
    other = main_client.api.accounts.create(friendly_name="Another tenant")
    theirs, _ = rcs_sender(clients.sdk(server.base_url, other.sid, other.auth_token), bot, "/rcs-theirs")
    sign_in(page, *account)
    open_thread(page, "+15550107009", agent)
    expect(page.locator("#pick-handset select[name=number] option")).to_have_text([agent])  # not theirs

    tap = {"handset": "+15550107009", "number": agent, "button_payload": "yes", "button_text": "Yes"}
    for path, form in (("/console/phone/send", tap), ("/console/phone/rcs", {"handset": "+15550107009"}),
                       ("/console/phone/read", {"handset": "+15550107009", "sid": "SM" + "0" * 32})):
        for token in ({}, {"csrf_token": "guess"}):
            refused = page.request.post(path, form={**form, **token}, max_redirects=0)
            assert refused.status == 403 and "CSRF check failed" in refused.text()
    assert sim.http.get("/sim/v1/Handsets/+15550107009").json()["rcs"] is False

    csrf = page.locator("#composer input[name=csrf_token]").get_attribute("value") or ""
    page.request.post("/console/phone/rcs", form={"handset": "+15550107009", "csrf_token": csrf})
    answer = page.request.post("/console/phone/send", form={**tap, "number": theirs, "csrf_token": csrf},
                               headers={"Accept": "application/json"})
    assert (answer.status, answer.json()["code"]) == (404, 20404)
    assert client.messages.list(to=theirs) == [] and bot.to("/rcs-theirs") == []


def test_an_rcs_message_on_the_phone_s_screen_is_read_with_its_receipt(
        page: Page, account: tuple[str, str], client: Client, sim: Sim, bot: Receiver) -> None:
    """A phone sends a read receipt for an RCS message once it shows it: the console's phone reads each one it
    draws (``delivered`` → ``read``), and the status callback says so, signed. SMS sends no read receipt."""
    agent, service = rcs_sender(client, bot, "/rcs-read")
    handset = "+15550107011"
    sim.configure(handset, Rcs="true")
    rcs = client.messages.create(messaging_service_sid=service, to=handset, body="Your table is ready",
                                 status_callback=bot.url("/read-status"))
    assert delivered(sim, handset, rcs.sid)["channel"] == "rcs"
    number = client.incoming_phone_numbers.create(area_code="415").phone_number
    sms = client.messages.create(from_=number, to=handset, body="Plain text")
    assert delivered(sim, handset, sms.sid)["channel"] == "sms"
    assert eventually(lambda: client.messages(rcs.sid).fetch().status == "delivered")
    assert eventually(lambda: client.messages(sms.sid).fetch().status == "delivered")

    sign_in(page, *account)
    open_thread(page, handset, agent)
    expect(page.locator(f'.bubble.theirs[data-sid="{rcs.sid}"] .text')).to_have_text("Your table is ready")
    assert eventually(lambda: client.messages(rcs.sid).fetch().status == "read")
    call = bot.wait_for(lambda got: any(c.path == "/read-status" and c.param("MessageStatus") == "read" for c in got))
    receipt = next(c for c in call if c.path == "/read-status" and c.param("MessageStatus") == "read")
    assert signed(receipt, bot.url("/read-status"), account[1]) and receipt.param("MessageSid") == rcs.sid
    thread = page.request.get(f"/console/phone/thread.json?handset=%2B{handset[1:]}&number={agent}").json()
    assert [(m["sid"], m["unread"]) for m in thread["messages"]] == [(rcs.sid, False)]

    open_thread(page, handset, number)
    expect(page.locator(f'.bubble.theirs[data-sid="{sms.sid}"] .text')).to_have_text("Plain text")
    thread = page.request.get(f"/console/phone/thread.json?handset=%2B{handset[1:]}&number=%2B{number[1:]}").json()
    assert [(m["sid"], m["unread"]) for m in thread["messages"]] == [(sms.sid, False)]
    csrf = page.locator("#composer input[name=csrf_token]").get_attribute("value") or ""
    answer = page.request.post("/console/phone/read", form={"handset": handset, "sid": sms.sid, "csrf_token": csrf},
                               headers={"Accept": "application/json"})
    assert answer.status == 200 and answer.json() == {"read": []}
    assert client.messages(sms.sid).fetch().status == "delivered"
