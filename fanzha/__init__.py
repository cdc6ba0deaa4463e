"""fanzha (反诈): the work platform for running anti-fraud campaigns."""

__version__ = "0.1.0"
