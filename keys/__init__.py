"""Keys: what a key is and what may be done with it; custody backends hold the material."""
