"""Carriers: where an outbound message leaves Loft. ``sim`` delivers to virtual handsets."""
