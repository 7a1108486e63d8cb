"""One router module per resource; ``app.py`` includes them all under /api/v1."""
