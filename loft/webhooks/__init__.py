"""Webhooks: signing and sending requests to customers' URLs the way Twilio does, TwiML, the attempt log."""
