"""Joint consultation meetings (会商) of a campaign and their decisions, each a task with an owner."""
