"""Department duties of a campaign plan (部门职责) as tracked work."""
