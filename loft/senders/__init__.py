"""The messaging v2 Senders API (``/v2/Channels/Senders``, the SDK's ``client.messaging.v2.channels_senders``): RCS
agents as senders (``XE…``), which join a Messaging Service's pool as its channel senders.

- :mod:`loft.senders.service`: senders checked, stored, brought online, listed, changed, deleted;
- :mod:`loft.senders.tasks`: the outbox job that brings a new sender online;
- :mod:`loft.senders.endpoints`: the HTTP API.
"""
