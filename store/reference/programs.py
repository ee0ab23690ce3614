"""Canada's immigration programs and provinces, as profiles and sources name them."""
from __future__ import annotations

# Federal economic programs a profile can be eligible for (the Express Entry pools).
PROGRAMS = ("cec", "fsw", "fst", "pnp")
PROGRAM_NAMES = {"cec": "Canadian Experience Class", "fsw": "Federal Skilled Worker",
                 "fst": "Federal Skilled Trades", "pnp": "provincial nomination"}
PROVINCES = {"AB": "Alberta", "BC": "British Columbia", "MB": "Manitoba", "NB": "New Brunswick",
             "NL": "Newfoundland and Labrador", "NS": "Nova Scotia", "NT": "Northwest Territories",
             "NU": "Nunavut", "ON": "Ontario", "PE": "Prince Edward Island", "QC": "Quebec",
             "SK": "Saskatchewan", "YT": "Yukon"}
