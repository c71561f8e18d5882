"""tsunagari: a Japanese Q&A assistant over reports on local public-private platforms."""

__version__ = "0.1.0"
