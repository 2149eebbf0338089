"""Rule-pack labels the portal and the letters show, marked for the page catalogues.

The rule pack names its sectors and categories in English (``rulepacks/reference.yaml``);
these are the same strings marked with ``_`` so ``make messages`` extracts them and the
zh_Hans catalogue translates them. One the lists do not know is shown by the pack's name.
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

# The categories' names (rulepacks/reference.yaml), for "what for" in the file and letters.
CATEGORIES = {
    "court.defaulter.refuses": _("Able to perform but refuses to perform"),
    "court.defaulter.obstructs": _("Obstructs enforcement by forged evidence, violence or threats"),
    "court.defaulter.evades": _(
        "Evades enforcement by sham lawsuits or arbitration, or hides or transfers assets"
    ),
    "court.defaulter.asset_reporting": _("Breaks the asset-reporting system"),
    "court.defaulter.consumption_order": _("Breaks a consumption-restriction order"),
    "court.defaulter.settlement": _(
        "Refuses without good reason to carry out an enforcement settlement"
    ),
    "court.exit_restriction": _("Exit restriction ordered on a judgment debtor"),
    "air.false_terror_information": _("Made up or spread false terror information"),
    "air.false_documents": _("Used forged, altered or borrowed ID or boarding documents"),
    "air.storming_checkpoints": _("Stormed check-in, security or boarding gates"),
    "air.prohibited_items": _("Carried dangerous or prohibited items"),
    "air.forced_boarding": _("Forced boarding or intruded on runway, apron or cockpit"),
    "air.assaulting_crew": _("Obstructed or assaulted crew"),
    "air.disorder_aboard": _("Seized seats or bins, fought, damaged or opened equipment"),
    "air.smoking_or_devices": _("Smoked, used open flame or a banned device after a warning"),
    "air.theft_aboard": _("Stole aboard"),
    "tax.major_offender": _("Major tax offender able but unwilling to pay"),
    "finance.government_funds_fraud": _("Fraud or misuse of government funds"),
    "social_insurance.serious_violation": _("Serious social-insurance violation"),
    "securities.unpaid_fine": _("Unpaid securities or futures fine"),
    "rail.disrupting_order": _("Disrupted station or train order in a way that endangers safety"),
    "rail.smoking_on_emu": _("Smoked on a bullet train (EMU) or in a no-smoking area"),
    "rail.scalping": _("Scalped tickets or made fake ones"),
    "rail.other_penalty": _("Other conduct carrying an administrative penalty"),
    "rail.discount_id_misuse": _("Misused discount IDs"),
    "rail.invalid_ticket": _("Travelled on an invalid ticket"),
    "rail.fare_evasion": _("Rode without a ticket or past their stop and refused to pay"),
    "admin_penalty.minor": _("Administrative penalty for dishonesty, minor"),
    "admin_penalty.general": _("Administrative penalty for dishonesty, general"),
    "admin_penalty.serious": _("Administrative penalty for dishonesty, serious"),
    "redlist.a_grade_taxpayer": _("A-grade taxpayer (annual tax credit rating)"),
    "credit.contract_default": _(
        "Default on a contract, confirmed by a judgment or arbitral award"
    ),
    "finance.card_arrears": _(
        "Bank loan or credit card arrears, confirmed by a court or the lender's legal notice"
    ),
    "finance.illegal_fundraising": _("Illegal fund-raising (administrative or criminal decision)"),
    "market.pyramid_selling": _("Pyramid selling"),
    "market.commercial_fraud": _("Commercial fraud (contract fraud, false advertising penalised)"),
    "market.counterfeit_goods": _("Producing or selling counterfeit goods"),
    "utility.late_fees": _(
        "Utility fees unpaid after a formal demand (water, power, gas, heating)"
    ),
    "utility.arrears_court": _("Utility arrears confirmed by a court"),
    "utility.theft": _("Stealing electricity, water or gas"),
    "utility.equipment_damage": _("Damaging power, water or gas equipment"),
    "civic.blood_donation": _("Voluntary blood donation, certified"),
    "civic.volunteer": _("Recognised volunteer service, certified"),
}


def category_name(pack_name: str, code: str, gettext: object) -> str:
    """A category's name in the reader's language (the pack's own name if not listed)."""
    if code in CATEGORIES and callable(gettext):
        return str(gettext(CATEGORIES[code]))
    return pack_name
