"""Messages: the Twilio Messages resource, its Media and Feedback subresources."""
