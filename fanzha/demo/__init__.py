"""The demo: one command that builds the demo world of every app and serves it.

Why an app of its own: imports run one way (core → org → campaigns … → reports), so the
command that puts the org world and the campaigns on top of it together sits above them all.
"""
