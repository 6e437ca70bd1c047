"""The Content API v1 (``/v1/Content``, the SDK's ``client.content``): rich message templates with variables.

- :mod:`loft.content.types`: a template's types checked against Twilio's schema;
- :mod:`loft.content.render`: a template with its variables filled in;
- :mod:`loft.content.channels`: which of its translations each channel sends (RCS, SMS/MMS);
- :mod:`loft.content.service`: templates stored, listed, changed, deleted, and their WhatsApp approvals;
- :mod:`loft.content.endpoints`: the HTTP API.

See docs/rich-messages.md.
"""
