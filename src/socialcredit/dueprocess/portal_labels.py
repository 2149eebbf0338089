"""Rule-pack labels the portal shows, marked for the page catalogues.

The rule pack names its sectors in English (``rulepacks/reference.yaml``); these are the same
strings marked with ``_`` so ``make messages`` extracts them and the zh_Hans catalogue
translates them. A sector the list does not know is shown by the pack's own name.
"""

from __future__ import annotations


def _(s: str) -> str:  # a marker for pybabel; translated at render time
    return s


SECTORS = {
    "flight": _("Civil aviation tickets"),
    "rail.standard": _("Rail tickets, standard seats"),
    "rail.high_class": _(
        "Rail high-class seats: soft sleepers, any G-train seat, first class or above on other "
        "bullet trains"
    ),
    "hotel.star_rated": _("Star-rated hotels"),
    "leisure.luxury": _("Nightclubs, golf courses and other high-end leisure"),
    "travel.outbound_tour": _("Outbound group tours"),
    "education.private_school_fees": _("Paying fees of high-cost private schools for children"),
    "insurance.cash_value": _("Insurance products with a cash value"),
    "property.purchase": _("Buying, building or luxury-renovating homes"),
    "vehicle.non_business": _("Buying non-business vehicles"),
    "finance.loan": _(
        "Loans (financial institutions weigh the listing; the registry answers deny)"
    ),
    "finance.investment_product": _("Financial investment products"),
}

GROUNDS = {
    "not_me": _("The record is not about me"),
    "wrong_data": _("The record's data are wrong"),
    "should_be_removed": _("The record should already have been removed"),
    "rule_not_applicable": _("The rule does not apply to me (for example, I was a minor)"),
}
