"""API tokens: issue (``POST /api/v1/auth/token/`` and the tokens page), list and revoke one's own."""
