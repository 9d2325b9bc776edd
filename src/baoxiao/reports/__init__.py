"""Analytics over claims: what the dashboard charts show."""
