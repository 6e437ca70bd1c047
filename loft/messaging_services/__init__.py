"""Messaging Services (``MG…``): the messaging v1 API's ``/v1/Services`` and their sender pools.

- :mod:`.service` — a service's settings (:class:`~.service.Service`, what the delivery side reads of it), and
  creating, changing, listing and deleting services;
- :mod:`.pool` — the senders of a service's pool (phone numbers, short codes, alphanumeric senders, channel
  senders), the rules for adding them, and :func:`~.pool.for_recipient`, the pool by kind for one recipient;
- :mod:`.usecases` — ``/v1/Services/Usecases``;
- :mod:`.endpoints` — the HTTP side.

A service belongs to one account, and only that account's credentials reach it: neither its parent nor its
subaccounts see it (20404), and its pool holds only that account's numbers.
"""
