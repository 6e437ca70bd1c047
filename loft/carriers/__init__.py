"""What relayed upstreams send back over HTTP: status callbacks and inbound messages (``/carriers/{name}/…``)."""
