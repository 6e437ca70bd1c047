"""Shared plumbing: SIDs, dates, phone numbers, segments, paging, Twilio's wire shapes (2010-04-01's JSON and XML in
``render``, the v1 domains' in ``v1``) and the resource endpoints' skeleton (``endpoint``)."""
