"""Phone numbers: the ones an account owns (IncomingPhoneNumbers) and the market they are bought from."""
