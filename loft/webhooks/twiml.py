"""Read a messaging TwiML reply: the ``<Message>`` and ``<Redirect>`` verbs an inbound webhook answered with.

``parse(body, content_type, base_url=...)`` returns a :class:`Document`: the verbs to carry out, in order, and
the warnings Twilio would log for the parts it skips. Only problems that make the whole answer unusable raise
:class:`TwimlError`; the caller then treats the request as failed (and tries the fallback URL).

Content type (the media type, parameters and case ignored):

- ``text/xml``, ``application/xml``, ``text/html``: TwiML. Twilio's "Your Response" page lists all three as
  "interpreted as TwiML"; an HTML error page then fails to parse (12100) rather than being refused on sight.
- ``text/plain``: the text (stripped) is sent back to the sender as one message, as Twilio documents it.
- anything else, or none, with a non-blank body: 12300 "Invalid Content-Type".
- a blank body is an acknowledgement without a reply whatever the type: a ``204 No Content`` (which Twilio
  recommends for "no reply") carries no Content-Type.

Fatal (raised, Twilio logs them as ERROR):

- 12300 Invalid Content-Type (above);
- 12100 Document parse failure: malformed XML, undecodable bytes, and any DTD (refused outright, so entity
  expansion bombs and external entities never run);
- 12102 the root element is not ``<Response>`` (Twilio's own code for exactly this).

Warnings (the offending verb or noun is skipped, the rest of the document runs; Twilio logs them as WARNING):

- 14103 Invalid Body: a ``<Message>`` with neither text nor media;
- 14104 a ``<Message>`` method other than GET or POST (case-insensitive here);
- 14105 a ``<Message>`` action/statusCallback that is not an absolute http(s) URL once resolved;
- 14110 a verb other than ``<Message>``, ``<Sms>`` (the legacy name, read as ``<Message>``) or ``<Redirect>``;
- 11100 Invalid URL format: a ``<Redirect>`` whose URL is empty or not http(s); the document stops there;
- 12200 Schema validation warning: an unknown noun in ``<Message>``, an empty or non-http(s) ``<Media>`` (that
  noun is dropped), more than 10 ``<Media>`` (the first 10 are kept), several ``<Body>`` nouns or text beside
  a ``<Body>`` (the first ``<Body>`` wins), a ``<Redirect>`` method other than GET or POST (not followed).

Which of 14104/14105 drops the message rather than only the attribute is not documented by Twilio; dropping it
makes the mistake visible. The body may be longer than 1600 characters here: the sender checks that when it
creates the reply. Element names are case-sensitive (as in Twilio); any XML namespace is ignored. Verbs after
a ``<Redirect>`` are unreachable and dropped, as Twilio documents. Relative URLs in ``action``,
``statusCallback``, ``<Media>`` and ``<Redirect>`` are resolved against ``base_url``, the document's own URL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as safe_xml
from defusedxml import DefusedXmlException

from loft.errors import LoftError

MAX_MEDIA = 10
XML_TYPES = frozenset({"text/xml", "application/xml", "text/html"})
PLAIN_TYPE = "text/plain"
METHODS = frozenset({"GET", "POST"})
_XML_SPACE = " \t\r\n"


@dataclass(frozen=True)
class MessageVerb:
    body: str
    media: tuple[str, ...] = ()
    to: str | None = None
    from_: str | None = None
    action: str | None = None
    method: str = "POST"


@dataclass(frozen=True)
class RedirectVerb:
    url: str
    method: str = "POST"


Verb = MessageVerb | RedirectVerb


@dataclass(frozen=True)
class Document:
    verbs: list[Verb] = field(default_factory=list)
    warnings: list[tuple[int, str]] = field(default_factory=list)


class TwimlError(LoftError):
    """The whole answer is unusable: Twilio logs ``code`` as an ERROR and the request counts as failed."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def parse(body: str | bytes, content_type: str | None, *, base_url: str | None = None) -> Document:
    """The verbs of a webhook's answer, with the warnings Twilio would log; :class:`TwimlError` if unusable."""
    media_type, charset = _media_type(content_type)
    if not _text(body, charset).strip(_XML_SPACE):
        return Document()
    if media_type == PLAIN_TYPE:
        return Document(verbs=[MessageVerb(body=_text(body, charset).strip(_XML_SPACE))])
    if media_type not in XML_TYPES:
        shown = content_type.strip() if content_type and content_type.strip() else "none"
        raise TwimlError(12300, f"Invalid Content-Type: {shown}")
    root = _xml(body, charset)
    if _local(root.tag) != "Response":
        raise TwimlError(12102, f"The root element must be Response, not <{_local(root.tag)}>")
    return _Reader(base_url).read(root)


def _media_type(content_type: str | None) -> tuple[str, str | None]:
    if not content_type:
        return "", None
    media_type, *params = content_type.split(";")
    charset = None
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"'):
            charset = value.strip().strip('"')
    return media_type.strip().lower(), charset


def _text(body: str | bytes, charset: str | None) -> str:
    """The body as text, for the blank check and ``text/plain`` (undecodable bytes replaced, never raised)."""
    if isinstance(body, str):
        return body
    try:
        return body.decode(charset or "utf-8", errors="replace")
    except LookupError:
        return body.decode("utf-8", errors="replace")


def _xml(body: str | bytes, charset: str | None) -> Element:
    """The parsed root; a Content-Type charset beats the XML declaration (RFC 7303), as for any XML over HTTP."""
    if isinstance(body, bytes) and charset:
        try:
            body = body.decode(charset)
        except (LookupError, UnicodeDecodeError) as exc:
            raise TwimlError(12100, f"Document parse failure: cannot decode the body as {charset}") from exc
    if isinstance(body, str):
        body = body.removeprefix("\ufeff")
    try:
        root: Element = safe_xml.fromstring(body, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise TwimlError(12100, "Document parse failure: DTDs and entity declarations are not allowed") from exc
    except ParseError as exc:
        raise TwimlError(12100, f"Document parse failure: {exc}") from exc
    return root


def _local(tag: str) -> str:
    """The element name without its namespace (``{uri}Message`` → ``Message``)."""
    return tag.rpartition("}")[2]


def _strip(text: str | None) -> str:
    return (text or "").strip(_XML_SPACE)


class _Reader:
    """Walks one ``<Response>``, collecting verbs and warnings."""

    def __init__(self, base_url: str | None) -> None:
        self.base_url = base_url
        self.warnings: list[tuple[int, str]] = []

    def read(self, root: Element) -> Document:
        verbs: list[Verb] = []
        for element in root:
            name = _local(element.tag)
            if name in ("Message", "Sms"):
                message = self.message(element)
                if message is not None:
                    verbs.append(message)
            elif name == "Redirect":
                redirect = self.redirect(element)
                if redirect is not None:
                    verbs.append(redirect)
                break
            else:
                self.warn(14110, f"Invalid Verb for Message Reply: <{name}> (valid verbs: Message, Sms, Redirect)")
        return Document(verbs=verbs, warnings=self.warnings)

    def warn(self, code: int, message: str) -> None:
        self.warnings.append((code, message))

    def url(self, value: str) -> str | None:
        """``value`` resolved against the document URL, if it is then an absolute http(s) URL."""
        try:
            url = urljoin(self.base_url, value) if self.base_url else value
            parts = urlsplit(url)
            if parts.scheme.lower() in ("http", "https") and parts.hostname:
                return url
        except ValueError:
            pass
        return None

    def message(self, element: Element) -> MessageVerb | None:
        inline = [element.text or ""]
        bodies: list[str] = []
        media: list[str] = []
        for child in element:
            inline.append(child.tail or "")
            name = _local(child.tag)
            text = _strip("".join(child.itertext()))
            if name == "Body":
                bodies.append(text)
            elif name == "Media":
                url = self.url(text) if text else None
                if url is None:
                    self.warn(12200, f"Schema validation warning: invalid <Media> URL {text!r}, noun skipped")
                else:
                    media.append(url)
            else:
                self.warn(12200, f"Schema validation warning: unknown noun <{name}> in <Message>, skipped")
        text = _strip("".join(inline))
        if bodies:
            if len(bodies) > 1 or text:
                self.warn(12200, "Schema validation warning: <Message> has text besides its first <Body>; "
                                 "only the first <Body> is used")
            text = bodies[0]
        if len(media) > MAX_MEDIA:
            self.warn(12200, f"Schema validation warning: {len(media)} <Media> nouns, only the first "
                             f"{MAX_MEDIA} are used")
            media = media[:MAX_MEDIA]
        method = _strip(element.get("method")).upper() or "POST"
        if method not in METHODS:
            self.warn(14104, f"Invalid Method attribute {element.get('method')!r}: may only be GET or POST; "
                             "message not sent")
            return None
        action: str | None = None
        raw_action = _strip(element.get("action")) or _strip(element.get("statusCallback"))
        if raw_action:
            action = self.url(raw_action)
            if action is None:
                self.warn(14105, f"Invalid statusCallback attribute {raw_action!r}: must be a valid URL; "
                                 "message not sent")
                return None
        if not text and not media:
            self.warn(14103, "Invalid Body: the <Message> has neither text nor a media URL; message not sent")
            return None
        return MessageVerb(body=text, media=tuple(media), to=_strip(element.get("to")) or None,
                           from_=_strip(element.get("from")) or None, action=action, method=method)

    def redirect(self, element: Element) -> RedirectVerb | None:
        raw = _strip("".join(element.itertext()))
        url = self.url(raw) if raw else None
        if url is None:
            self.warn(11100, f"Invalid URL format: <Redirect> URL {raw!r} is not an http(s) URL")
            return None
        method = _strip(element.get("method")).upper() or "POST"
        if method not in METHODS:
            self.warn(12200, f"Schema validation warning: <Redirect> method {element.get('method')!r} is not "
                             "GET or POST; not followed")
            return None
        return RedirectVerb(url=url, method=method)
