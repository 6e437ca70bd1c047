"""Shared plumbing: SIDs, dates, phone numbers, segments, paging and Twilio's JSON/XML rendering."""
