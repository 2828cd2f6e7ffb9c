"""tasklogs: read and follow AI coding-agent task conversations from a terminal."""

__version__ = "0.1.0"
