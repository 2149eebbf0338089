"""socialcredit: a national social credit registry that is fast, explainable and fair."""

__version__ = "0.1.0"
