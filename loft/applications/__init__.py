"""TwiML Applications (``AP…``): a set of URLs a phone number can delegate its messaging to."""
