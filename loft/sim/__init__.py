"""Virtual handsets: simulated phones that receive what Loft sends and text Loft numbers back."""
