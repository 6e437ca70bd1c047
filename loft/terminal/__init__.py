"""Terminal tools for people: ``loft handset``, ``loft tail``, ``loft numbers``, ``loft send``.

Every tool talks to a Loft server through its public REST API (:mod:`loft.terminal.client`), never to the
database, so each one works as well against a remote Loft as against the one on this machine.

::

    client.py     the small REST client (Basic auth, form POSTs, Twilio error bodies -> TerminalError)
    options.py    the connection options every command shares (--url, --account-sid, ...)
    handset.py    loft handset: chat as a virtual handset
    tail.py       loft tail: a live stream of message status changes and webhook attempts
    numbers.py    loft numbers search|buy|list|configure
    send.py       loft send: one message, or a bulk send from a CSV file (bulk.py)
    templates.py  Liquid rendering with Braze-style filters (url_param_escape, ...)
    bulk.py       bulk sending: rows -> rendered messages -> paced sends -> report CSV
"""
