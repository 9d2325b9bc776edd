"""The demo company: a realistic org and claims in every state."""
