"""TwiML parsing: documents built by twilio's own MessagingResponse, and the broken ones Twilio reports."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from twilio.twiml.messaging_response import Body, Media, Message, MessagingResponse

from loft.webhooks import twiml
from loft.webhooks.twiml import Document, MessageVerb, RedirectVerb, TwimlError

XML = "text/xml"
BASE = "https://app.example.com/sms/incoming?step=1"


def parse(document: str | bytes, content_type: str | None = XML, base_url: str | None = None) -> Document:
    return twiml.parse(document, content_type, base_url=base_url)


def codes(document: Document) -> list[int]:
    return [code for code, _ in document.warnings]


# -- documents built by the SDK ---------------------------------------------------------------------------


def test_message_text_becomes_one_reply() -> None:
    response = MessagingResponse()
    response.message("Thanks for your message!")

    assert parse(str(response)) == Document(verbs=[MessageVerb(body="Thanks for your message!")])


def test_message_attributes_are_read_and_text_unescaped() -> None:
    response = MessagingResponse()
    response.message("Hi & <bye>", to="+15558675310", from_="+15017122661", action="https://example.com/cb",
                     method="GET")

    assert parse(str(response)).verbs == [
        MessageVerb(body="Hi & <bye>", to="+15558675310", from_="+15017122661", action="https://example.com/cb",
                    method="GET")
    ]


def test_message_method_defaults_to_post() -> None:
    response = MessagingResponse()
    response.message("Hi", action="https://example.com/cb")

    [verb] = parse(str(response)).verbs
    assert isinstance(verb, MessageVerb) and verb.method == "POST"


def test_deprecated_status_callback_attribute_is_the_action() -> None:
    response = MessagingResponse()
    response.message("Hi", status_callback="https://example.com/status")

    [verb] = parse(str(response)).verbs
    assert isinstance(verb, MessageVerb) and verb.action == "https://example.com/status"


def test_action_wins_over_status_callback() -> None:
    response = MessagingResponse()
    response.message("Hi", action="https://example.com/action", status_callback="https://example.com/status")

    [verb] = parse(str(response)).verbs
    assert isinstance(verb, MessageVerb) and verb.action == "https://example.com/action"


def test_body_and_media_nouns() -> None:
    message = Message()
    message.body("Here is a picture")
    message.media("https://example.com/cat.jpg")
    message.media("https://example.com/dog.png")
    response = MessagingResponse()
    response.append(message)

    assert parse(str(response)).verbs == [
        MessageVerb(body="Here is a picture", media=("https://example.com/cat.jpg", "https://example.com/dog.png"))
    ]


def test_inline_text_mixed_with_media() -> None:
    response = MessagingResponse()
    response.message("Body text").media("https://example.com/x.jpg")

    assert parse(str(response)).verbs == [MessageVerb(body="Body text", media=("https://example.com/x.jpg",))]


def test_text_after_a_media_noun_is_part_of_the_body() -> None:
    response = MessagingResponse()
    message = response.message("Before ")
    message.media("https://example.com/x.jpg")
    message.nest("after")

    [verb] = parse(str(response)).verbs
    assert isinstance(verb, MessageVerb) and verb.body == "Before after"


def test_media_only_message() -> None:
    response = MessagingResponse()
    response.message().media("https://example.com/x.jpg")

    assert parse(str(response)).verbs == [MessageVerb(body="", media=("https://example.com/x.jpg",))]


def test_several_messages_keep_their_order() -> None:
    response = MessagingResponse()
    response.message("one")
    response.message("two", to="+15558675310")

    assert parse(str(response)).verbs == [MessageVerb(body="one"), MessageVerb(body="two", to="+15558675310")]


@pytest.mark.parametrize(("method", "expected"), [
    pytest.param(None, "POST", id="default-post"),
    pytest.param("GET", "GET", id="get"),
    pytest.param("POST", "POST", id="post"),
])
def test_redirect_is_read(method: str | None, expected: str) -> None:
    response = MessagingResponse()
    response.redirect("https://example.com/next", method=method)

    assert parse(str(response)) == Document(verbs=[RedirectVerb(url="https://example.com/next", method=expected)])


def test_verbs_after_a_redirect_are_ignored() -> None:
    response = MessagingResponse()
    response.message("before")
    response.redirect("https://example.com/next")
    response.message("after")
    response.redirect("https://example.com/other")

    document = parse(str(response))
    assert document.verbs == [MessageVerb(body="before"), RedirectVerb(url="https://example.com/next")]
    assert document.warnings == []


def test_relative_urls_are_resolved_against_the_document_url() -> None:
    response = MessagingResponse()
    message = response.message("pic", action="/status")
    message.media("images/cat.jpg")
    response.redirect("next?x=1&y=2")

    assert parse(str(response), base_url=BASE).verbs == [
        MessageVerb(body="pic", media=("https://app.example.com/sms/images/cat.jpg",),
                    action="https://app.example.com/status"),
        RedirectVerb(url="https://app.example.com/sms/next?x=1&y=2"),
    ]


def test_absolute_urls_stay_as_given_with_a_base_url() -> None:
    response = MessagingResponse()
    response.message("pic", action="http://other.example.org/cb").media("https://cdn.example.net/a.png")

    [verb] = parse(str(response), base_url=BASE).verbs
    assert verb == MessageVerb(body="pic", media=("https://cdn.example.net/a.png",),
                               action="http://other.example.org/cb")


def test_body_longer_than_1600_characters_is_kept_for_the_sender_to_check() -> None:
    response = MessagingResponse()
    response.message("x" * 2000)

    [verb] = parse(str(response)).verbs
    assert isinstance(verb, MessageVerb) and verb.body == "x" * 2000


def test_text_and_attributes_are_stripped_of_surrounding_whitespace() -> None:
    message = Message(to=" +15558675310 ")
    message.body("\n   Hello there \t\n")
    message.media("  https://example.com/x.jpg\n")
    response = MessagingResponse()
    response.append(message)

    assert parse(str(response)).verbs == [
        MessageVerb(body="Hello there", media=("https://example.com/x.jpg",), to="+15558675310")
    ]


# -- raw documents ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("document", [
    pytest.param(str(MessagingResponse()), id="sdk-self-closing"),
    pytest.param("<Response/>", id="self-closing"),
    pytest.param("<Response></Response>", id="open-close"),
    pytest.param('<?xml version="1.0" encoding="UTF-8"?>\n<Response>\n  \n</Response>\n', id="declaration-spaces"),
    pytest.param('<Response xmlns="http://www.twilio.com/twiml"/>', id="namespaced"),
    pytest.param("<Response><!-- nothing to say --></Response>", id="comment"),
    pytest.param("", id="empty-body"),
    pytest.param(" \r\n\t", id="blank-body"),
])
def test_documents_without_verbs_send_no_reply(document: str) -> None:
    assert parse(document) == Document()


@pytest.mark.parametrize("content_type", [
    pytest.param(None, id="no-content-type"),
    pytest.param("application/json", id="json"),
    pytest.param("text/plain", id="plain"),
])
def test_an_empty_answer_is_no_reply_whatever_its_content_type(content_type: str | None) -> None:
    assert parse(b"", content_type) == Document()


@pytest.mark.parametrize("content_type", [
    pytest.param("text/xml", id="text-xml"),
    pytest.param("application/xml", id="application-xml"),
    pytest.param("text/html", id="text-html"),
    pytest.param("Text/XML; charset=UTF-8", id="case-and-charset"),
    pytest.param('application/xml;charset="utf-8"', id="quoted-charset"),
])
def test_xml_content_types_are_read_as_twiml(content_type: str) -> None:
    assert parse(b"<Response><Message>Hi</Message></Response>", content_type).verbs == [MessageVerb(body="Hi")]


def test_text_plain_answer_is_sent_back_as_one_message() -> None:
    document = parse("  Thanks, we got it <3 & more\n".encode(), "text/plain; charset=utf-8")

    assert document == Document(verbs=[MessageVerb(body="Thanks, we got it <3 & more")])


def test_content_type_charset_decodes_the_bytes() -> None:
    document = parse("<Response><Message>Café</Message></Response>".encode("latin-1"), "text/xml; charset=ISO-8859-1")

    assert document.verbs == [MessageVerb(body="Café")]


def test_xml_declaration_encoding_is_honoured_without_a_charset() -> None:
    body = '<?xml version="1.0" encoding="ISO-8859-1"?><Response><Message>Café</Message></Response>'

    assert parse(body.encode("latin-1")).verbs == [MessageVerb(body="Café")]


def test_utf8_bytes_with_byte_order_mark() -> None:
    body = "\ufeff<Response><Message>Grüße 😀</Message></Response>".encode()

    assert parse(body).verbs == [MessageVerb(body="Grüße 😀")]


def test_cdata_body_is_taken_literally() -> None:
    body = "<Response><Message><Body><![CDATA[1 < 2 & <b>bold</b>]]></Body></Message></Response>"

    assert parse(body).verbs == [MessageVerb(body="1 < 2 & <b>bold</b>")]


def test_escaped_ampersand_in_media_url() -> None:
    body = "<Response><Message><Media>https://example.com/m?a=1&amp;b=2</Media></Message></Response>"

    assert parse(body).verbs == [MessageVerb(body="", media=("https://example.com/m?a=1&b=2",))]


def test_prefixed_namespace_is_ignored() -> None:
    body = ('<t:Response xmlns:t="urn:x"><t:Message to="+15558675310">Hi<t:Media>https://e.com/a.png</t:Media>'
            "</t:Message><t:Redirect method=\"GET\">https://e.com/next</t:Redirect></t:Response>")

    assert parse(body).verbs == [
        MessageVerb(body="Hi", media=("https://e.com/a.png",), to="+15558675310"),
        RedirectVerb(url="https://e.com/next", method="GET"),
    ]


def test_legacy_sms_verb_is_a_message() -> None:
    body = '<Response><Sms to="+15558675310">Hello</Sms></Response>'

    assert parse(body) == Document(verbs=[MessageVerb(body="Hello", to="+15558675310")])


def test_lowercase_method_is_accepted() -> None:
    body = '<Response><Message method="get" action="https://e.com/cb">Hi</Message></Response>'

    assert parse(body).verbs == [MessageVerb(body="Hi", action="https://e.com/cb", method="GET")]


def test_empty_attributes_are_absent() -> None:
    body = '<Response><Message to="" from="  " action="" method="">Hi</Message></Response>'

    assert parse(body) == Document(verbs=[MessageVerb(body="Hi")])


def test_unknown_attributes_are_ignored() -> None:
    body = '<Response version="2010-04-01"><Message foo="bar">Hi</Message></Response>'

    assert parse(body) == Document(verbs=[MessageVerb(body="Hi")])


# -- fatal errors -------------------------------------------------------------------------------------------

BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">'
    '<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>'
    "<Response><Message>&lol4;</Message></Response>"
)
EXTERNAL_ENTITY = (
    '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    "<Response><Message>&xxe;</Message></Response>"
)


@pytest.mark.parametrize(("body", "content_type", "code"), [
    pytest.param("<Response/>", None, 12300, id="12300-no-content-type"),
    pytest.param("<Response/>", "", 12300, id="12300-empty-content-type"),
    pytest.param('{"message": "ok"}', "application/json", 12300, id="12300-json"),
    pytest.param("<Response/>", "application/octet-stream", 12300, id="12300-octet-stream"),
    pytest.param("<Response/>", "image/svg+xml", 12300, id="12300-other-xml-type"),
    pytest.param("<Response><Message>Hi</Response>", XML, 12100, id="12100-unclosed-element"),
    pytest.param("<Response><Message to=+1555>Hi</Message></Response>", XML, 12100, id="12100-unquoted-attribute"),
    pytest.param("<Response><Message>Fish & Chips</Message></Response>", XML, 12100, id="12100-bare-ampersand"),
    pytest.param("<Response><Message>Hi</message></Response>", XML, 12100, id="12100-case-mismatch"),
    pytest.param("Thanks!", XML, 12100, id="12100-plain-text-as-xml"),
    pytest.param("<Response/><Response/>", XML, 12100, id="12100-two-roots"),
    pytest.param('\n<?xml version="1.0"?><Response/>', XML, 12100, id="12100-space-before-declaration"),
    pytest.param("<Response><Message>&nbsp;</Message></Response>", XML, 12100, id="12100-undefined-entity"),
    pytest.param(BILLION_LAUGHS, XML, 12100, id="12100-entity-expansion-bomb"),
    pytest.param(EXTERNAL_ENTITY, XML, 12100, id="12100-external-entity"),
    pytest.param("<!DOCTYPE Response><Response/>", XML, 12100, id="12100-any-doctype"),
    pytest.param(b"<Response><Message>\xff\xfe</Message></Response>", XML, 12100, id="12100-invalid-utf8"),
    pytest.param(b"<Response/>", "text/xml; charset=no-such-charset", 12100, id="12100-unknown-charset"),
    pytest.param("<response><Message>Hi</Message></response>", XML, 12102, id="12102-lowercase-root"),
    pytest.param("<Message>Hi</Message>", XML, 12102, id="12102-verb-as-root"),
    pytest.param("<html><body>Oops</body></html>", "text/html", 12102, id="12102-html-page"),
    pytest.param('<TwilioResponse xmlns="urn:x"/>', XML, 12102, id="12102-other-root-namespaced"),
])
def test_unusable_answers_raise(body: str | bytes, content_type: str | None, code: int) -> None:
    with pytest.raises(TwimlError) as raised:
        parse(body, content_type)

    assert raised.value.code == code
    assert raised.value.message


def test_error_messages_name_twilio_errors() -> None:
    with pytest.raises(TwimlError, match="Invalid Content-Type: application/json"):
        parse("{}", "application/json")
    with pytest.raises(TwimlError, match="Document parse failure"):
        parse("<Response>", XML)


# -- warnings: the offending part is skipped, the rest runs -------------------------------------------------


@pytest.mark.parametrize(("body", "expected"), [
    pytest.param("<Response><Message/></Response>", [14103], id="14103-empty-message"),
    pytest.param("<Response><Message>  \n </Message></Response>", [14103], id="14103-blank-message"),
    pytest.param("<Response><Message><Body/></Message></Response>", [14103], id="14103-empty-body-noun"),
    pytest.param("<Response><Message><Media/></Message></Response>", [12200, 14103], id="14103-only-invalid-media"),
    pytest.param('<Response><Message method="PUT">Hi</Message></Response>', [14104], id="14104-method-put"),
    pytest.param('<Response><Message method="DELETE" action="https://e.com/cb">Hi</Message></Response>', [14104],
                 id="14104-method-with-action"),
    pytest.param('<Response><Message action="ftp://e.com/cb">Hi</Message></Response>', [14105],
                 id="14105-action-not-http"),
    pytest.param('<Response><Message action="/relative/without/base">Hi</Message></Response>', [14105],
                 id="14105-relative-action-no-base"),
    pytest.param('<Response><Message statusCallback="not a url">Hi</Message></Response>', [14105],
                 id="14105-status-callback"),
    pytest.param('<Response><Message action="https://[::1/cb">Hi</Message></Response>', [14105],
                 id="14105-malformed-url"),
    pytest.param("<Response><Say>Hello</Say></Response>", [14110], id="14110-voice-verb"),
    pytest.param("<Response><message>Hi</message></Response>", [14110], id="14110-lowercase-verb"),
    pytest.param("<Response><Redirect/></Response>", [11100], id="11100-empty-redirect"),
    pytest.param("<Response><Redirect>mailto:a@e.com</Redirect></Response>", [11100], id="11100-redirect-not-http"),
    pytest.param("<Response><Redirect>/next</Redirect></Response>", [11100], id="11100-relative-redirect-no-base"),
    pytest.param('<Response><Redirect method="PUT">https://e.com/n</Redirect></Response>', [12200],
                 id="12200-redirect-method"),
])
def test_a_broken_verb_is_skipped_with_a_warning(body: str, expected: list[int]) -> None:
    document = parse(body)

    assert document.verbs == []
    assert codes(document) == expected


def test_a_skipped_verb_does_not_stop_the_others() -> None:
    body = ('<Response><Message>one</Message><Say>voice only</Say><Message method="PUT">bad</Message>'
            "<Message/><Message>two</Message></Response>")

    document = parse(body)
    assert document.verbs == [MessageVerb(body="one"), MessageVerb(body="two")]
    assert codes(document) == [14110, 14104, 14103]


def test_an_invalid_redirect_still_ends_the_document() -> None:
    document = parse("<Response><Message>one</Message><Redirect> </Redirect><Message>two</Message></Response>")

    assert document.verbs == [MessageVerb(body="one")]
    assert codes(document) == [11100]


@pytest.mark.parametrize(("body", "expected"), [
    pytest.param("<Response><Message>Hi<Foo>x</Foo></Message></Response>",
                 MessageVerb(body="Hi"), id="unknown-noun"),
    pytest.param("<Response><Message>Hi<Media>  </Media></Message></Response>",
                 MessageVerb(body="Hi"), id="empty-media"),
    pytest.param("<Response><Message>Hi<Media>javascript:alert(1)</Media></Message></Response>",
                 MessageVerb(body="Hi"), id="media-not-http"),
    pytest.param("<Response><Message><Body>first</Body><Body>second</Body></Message></Response>",
                 MessageVerb(body="first"), id="two-body-nouns"),
    pytest.param("<Response><Message>inline<Body>noun</Body></Message></Response>",
                 MessageVerb(body="noun"), id="text-beside-body"),
])
def test_schema_problems_inside_a_message_warn_12200(body: str, expected: MessageVerb) -> None:
    document = parse(body)

    assert document.verbs == [expected]
    assert codes(document) == [12200]


def test_only_the_first_ten_media_are_kept() -> None:
    message = Message()
    for index in range(12):
        message.media(f"https://example.com/{index}.jpg")
    response = MessagingResponse()
    response.append(message)

    document = parse(str(response))
    assert document.verbs == [MessageVerb(body="", media=tuple(f"https://example.com/{i}.jpg" for i in range(10)))]
    assert codes(document) == [12200]


def test_ten_media_are_allowed() -> None:
    message = Message()
    for index in range(10):
        message.media(f"https://example.com/{index}.jpg")
    response = MessagingResponse()
    response.append(message)

    document = parse(str(response))
    assert len(document.verbs) == 1 and document.warnings == []


# -- round trip ---------------------------------------------------------------------------------------------

XML_SPACE = " \t\r\n"
# Characters XML 1.0 can carry. CR is left out: XML parsers turn it into LF by rule, and the SDK writes it raw.
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"), include_characters="\t\n ",
                             exclude_characters="\ufffe\uffff"), max_size=300)
URL = st.builds(
    lambda scheme, host, path, query: f"{scheme}://{host}/{path}" + (f"?{query}" if query else ""),
    st.sampled_from(["http", "https"]),
    st.from_regex(r"[a-z][a-z0-9-]{0,20}(\.[a-z]{2,6}){1,2}", fullmatch=True),
    st.text("abcxyz0189-._~/%", max_size=30),
    st.text("abc019=&;+,'\"<>", max_size=30),
)


@given(body=TEXT, media=st.lists(URL, max_size=10), as_noun=st.booleans())
def test_any_sdk_message_round_trips(body: str, media: list[str], as_noun: bool) -> None:
    assume(body.strip(XML_SPACE) or media)
    response = MessagingResponse()
    message = Message() if as_noun else Message(body=body)
    if as_noun:
        message.append(Body(body))
    for url in media:
        message.append(Media(url))
    response.append(message)

    document = parse(str(response))

    assert document.warnings == []
    assert document.verbs == [MessageVerb(body=body.strip(XML_SPACE), media=tuple(media))]


@given(bodies=st.lists(TEXT.filter(lambda text: text.strip(XML_SPACE) != ""), min_size=1, max_size=5))
def test_any_number_of_sdk_messages_round_trip_as_bytes(bodies: list[str]) -> None:
    response = MessagingResponse()
    for body in bodies:
        response.message(body)

    document = parse(str(response).encode(), "application/xml; charset=utf-8")

    assert document.verbs == [MessageVerb(body=body.strip(XML_SPACE)) for body in bodies]
