"""The football example: NFL play-by-play notebooks, the flattening they share, a live feed."""
