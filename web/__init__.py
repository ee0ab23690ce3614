"""The local web page, its JSON API and Atom feeds, and the charts: read-only views of the
public draw data (never subscribers). FastAPI, matplotlib and feedgen load only here."""
