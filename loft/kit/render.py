"""Twilio's two wire formats for the 2010-04-01 API: JSON (``.json``) and the older XML (``.xml`` or no suffix).

Every endpoint hands a plain ``dict`` (the JSON form, Twilio's field names) to :func:`resource` or
:func:`page`; the XML twin is derived from it here, once: ``snake_case`` keys become ``PascalCase`` elements word by word, as Twilio
writes them (``sms_url`` → ``<SmsUrl>``, ``api_version`` → ``<ApiVersion>``, ``subresource_uris`` →
``<SubresourceUris>``) save the few names in :data:`XML_NAMES`; ``None`` an empty element, booleans ``true``/``false``, nested dicts nested elements, and list envelopes carry
their paging fields as attributes, e.g.
``<TwilioResponse><Messages page="0" pagesize="50" …><Message><Sid>SM…</Sid>…</Message></Messages></TwilioResponse>``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from xml.sax.saxutils import escape, quoteattr

import orjson
from starlette.requests import Request
from starlette.responses import Response

from loft.errors import TwilioApiError

Format = Literal["json", "xml"]
FORMAT_KEY = "loft.format"
PATH_KEY = "loft.path"

#: The JSON names whose XML element is not the name capitalised word by word: a phone number's ``capabilities``
#: ``sms`` and ``mms`` are ``<SMS>`` and ``<MMS>`` (Twilio's OpenAPI description marks them so, with
#: ``@JacksonXmlProperty(localName="SMS")``). Whole names only: ``sms_url`` is ``<SmsUrl>``.
XML_NAMES = {"sms": "SMS", "mms": "MMS"}
_PAGING_KEYS = ("first_page_uri", "end", "previous_page_uri", "uri", "page_size", "start", "next_page_uri", "page")


def format_of(request: Request) -> Format:
    """The request's wire format, as ``loft.front.in_twilio_format`` chose it; for a request it did not see, what
    it would choose."""
    fmt: Format | None = request.scope.get(FORMAT_KEY)
    return fmt or format_for(request.url.path)


def format_for(path: str) -> Format:
    """The format a request for ``path`` (as written) is answered in: XML on 2010-04-01 paths without ``.json``."""
    if path.startswith("/2010-04-01/") and not path.endswith(".json"):
        return "xml"
    return "json"


def requested_path(request: Request) -> str:
    """The path as the client wrote it, suffix included (``request.url.path`` has lost the suffix)."""
    path: str = request.scope.get(PATH_KEY, request.url.path)
    return path


def resource(request: Request, data: Mapping[str, Any], *, xml_tag: str, status: int = 200) -> Response:
    if format_of(request) == "xml":
        return _xml_response(f"<{xml_tag}>{_fields(data)}</{xml_tag}>", status)
    return json_response(data, status)


def page(
    request: Request, envelope: Mapping[str, Any], *, key: str, xml_list_tag: str, xml_item_tag: str
) -> Response:
    if format_of(request) == "json":
        return json_response(envelope, 200)
    attributes = "".join(
        f" {name.replace('_', '')}={quoteattr(_xml_uri(_text(envelope.get(name))))}" for name in _PAGING_KEYS
    )
    items = "".join(f"<{xml_item_tag}>{_fields(item)}</{xml_item_tag}>" for item in envelope[key])
    return _xml_response(f"<{xml_list_tag}{attributes}>{items}</{xml_list_tag}>", 200)


def unpaged(request: Request, *, key: str, records: Sequence[Mapping[str, Any]], uri: str,
            xml_list_tag: str, xml_item_tag: str) -> Response:
    """A list Twilio answers in one piece, ``{key: [...], "uri": ...}``, without the paging fields (XML: the
    ``uri`` attribute only)."""
    if format_of(request) == "json":
        return json_response({key: list(records), "uri": uri}, 200)
    items = "".join(f"<{xml_item_tag}>{_fields(item)}</{xml_item_tag}>" for item in records)
    return _xml_response(f"<{xml_list_tag} uri={quoteattr(_xml_uri(uri))}>{items}</{xml_list_tag}>", 200)


@dataclass(frozen=True, slots=True)
class Resource:
    """One resource, as an endpoint's work answers it (see :mod:`loft.kit.endpoint`): rendered in the request's
    format once the transaction is over."""

    data: Mapping[str, Any]
    xml_tag: str
    status: int = 200

    def response(self, request: Request) -> Response:
        return resource(request, self.data, xml_tag=self.xml_tag, status=self.status)


@dataclass(frozen=True, slots=True)
class Page:
    """A page of a list (:func:`loft.kit.paging.envelope`), as an endpoint's work answers it."""

    envelope: Mapping[str, Any]
    key: str
    xml_list_tag: str
    xml_item_tag: str

    def response(self, request: Request) -> Response:
        return page(request, self.envelope, key=self.key, xml_list_tag=self.xml_list_tag,
                    xml_item_tag=self.xml_item_tag)


@dataclass(frozen=True, slots=True)
class Unpaged:
    """A list Twilio answers in one piece (:func:`unpaged`), as an endpoint's work answers it."""

    key: str
    records: Sequence[Mapping[str, Any]]
    uri: str
    xml_list_tag: str
    xml_item_tag: str

    def response(self, request: Request) -> Response:
        return unpaged(request, key=self.key, records=self.records, uri=self.uri, xml_list_tag=self.xml_list_tag,
                       xml_item_tag=self.xml_item_tag)


@dataclass(frozen=True, slots=True)
class NoContent:
    """204 with an empty body: what a delete answers, in every format and domain."""

    def response(self, request: Request) -> Response:
        return no_content()


@dataclass(frozen=True, slots=True)
class Json:
    """A JSON body whatever the path's suffix: Loft's own resources, which have no XML twin."""

    data: Any
    status: int = 200

    def response(self, request: Request) -> Response:
        return json_response(self.data, self.status)


@dataclass(frozen=True, slots=True)
class Content:
    """Bytes as they are, with their media type (a media file's content)."""

    body: bytes
    media_type: str

    def response(self, request: Request) -> Response:
        return Response(self.body, media_type=self.media_type)


def no_content() -> Response:
    return Response(status_code=204)


def error(fmt: Format, exc: TwilioApiError) -> Response:
    headers = {"WWW-Authenticate": 'Basic realm="Twilio API"'} if exc.status == 401 else {}
    headers.update(exc.headers)
    if fmt == "xml":
        body = (
            f"<RestException><Code>{exc.code}</Code><Message>{escape(exc.message)}</Message>"
            f"<MoreInfo>{escape(exc.more_info)}</MoreInfo><Status>{exc.status}</Status></RestException>"
        )
        return _xml_response(body, exc.status, headers)
    return json_response(exc.body(), exc.status, headers)


_JSON = "application/json; charset=utf-8"
_JSON_HEADER = (b"content-type", _JSON.encode("latin-1"))


class _JsonResponse(Response):
    """Starlette's ``Response`` for a JSON body, whose headers, when it is given none, are made here: its
    ``init_headers`` looks through the headers given and the media type for a charset with every response."""

    media_type = _JSON

    def init_headers(self, headers: Mapping[str, str] | None = None) -> None:
        status = self.status_code
        if headers or status < 200 or status in (204, 304):
            super().init_headers(headers)
            return
        self.raw_headers = [(b"content-length", str(len(self.body)).encode("latin-1")), _JSON_HEADER]


def json_response(data: Any, status: int, headers: Mapping[str, str] | None = None) -> Response:
    return _JsonResponse(orjson.dumps(data), status, headers)


def _xml_response(inner: str, status: int, headers: Mapping[str, str] | None = None) -> Response:
    document = f'<?xml version="1.0" encoding="UTF-8"?>\n<TwilioResponse>{inner}</TwilioResponse>'
    return Response(document.encode(), status, headers, media_type="application/xml; charset=utf-8")


def _element_name(key: str) -> str:
    return XML_NAMES.get(key) or "".join(part.capitalize() for part in key.split("_"))


def _fields(data: Mapping[str, Any], *, uris: bool = False) -> str:
    """Elements for a mapping; ``uris`` marks a mapping whose values are all URIs (``subresource_uris``)."""
    parts = []
    for key, value in data.items():
        tag = _element_name(key)
        if isinstance(value, Mapping):
            parts.append(f"<{tag}>{_fields(value, uris=key.endswith('uris'))}</{tag}>")
        elif isinstance(value, Sequence) and not isinstance(value, str):
            item = tag[:-1] or tag
            parts.append(f"<{tag}>{''.join(f'<{item}>{escape(_text(v))}</{item}>' for v in value)}</{tag}>")
        elif value is None:
            parts.append(f"<{tag}/>")
        else:
            text = _text(value)
            if uris or key.endswith("uri"):
                text = _xml_uri(text)
            parts.append(f"<{tag}>{escape(text)}</{tag}>")
    return "".join(parts)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


def _xml_uri(text: str) -> str:
    """Twilio's XML documents name the suffix-less (XML) form of each resource."""
    return text.replace(".json", "")
