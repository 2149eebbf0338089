"""The national rates a synthetic year of records follows, and per category how its records
are generated (:class:`Profile`: count a year, share of enterprises, amounts owed, later events).

Rates follow DOMAIN.md section 7 (NPCIC report, February 2019): 14.21 million records of
dishonest conduct a year for about 990 million individuals and 25.91 million enterprises. Our
split of those 14.21 million (national figures a year; the published report gives only the
total and the 2.614 million new judgment defaulters, the rest is a plausible assumption):

====================================  ==========  ===========  ================================
category                              per year    enterprises  later events within the year
====================================  ==========  ===========  ================================
court defaulters, 6 grounds           2,614,000   12%          ~60% removed: 62% ``fulfilled``
  (1) refuses 72%, (2) obstructs 3%,                           (+3 days to months), 7%
  (3) evades 6%, (4) asset reporting                           ``withdrawn`` with a reason,
  14%, (5) consumption order 3%,                               cut off at the year's end;
  (6) settlement 2%                                            12% of grounds 2-6 extended 1-3y
court exit restrictions                 120,000   persons      40% fulfilled, 5% withdrawn
air category A, 9 conduct types         30,000    persons      1% withdrawn (no fulfilment)
rail, 7 conduct types                   350,000   persons      fare types (4-6) 85% paid after
  fare evasion 35%, invalid ticket 15%,                        1-40 days; 5% of fare records
  discount-ID misuse 10%, EMU smoking                          are repeat offenders
  25%, disorder/scalping/other 5% each
category B: tax 120k, social            210,000   40-90%       30% paid, 2% withdrawn
  insurance 60k, securities 10k,
  government funds 20k
administrative penalties, tiered     10,886,000   55-65%       minor 15% and general 5%
  minor 60%, general 30%, serious 10%                          ``repaired`` after the minimum
                                                               publication period
**total of dishonest conduct**       14,210,000
A-grade taxpayer redlist (extra)        260,000   100%         none
====================================  ==========  ===========  ================================

Every listed record may also be ``corrected`` (0.5%: the amount or the decision reference
fixed, 1-20 days after the decision). Events that would fall after the end of the year or after
the population's date (``on``) have not happened yet and are left out.
"""

from __future__ import annotations

from dataclasses import dataclass

NATIONAL_INDIVIDUALS = 990_000_000
NATIONAL_ENTERPRISES = 25_910_000
NATIONAL_RECORDS = 14_210_000
NEW_COURT_DEFAULTERS = 2_614_000


COURT_GROUNDS = {
    "court.defaulter.refuses": 0.72,
    "court.defaulter.obstructs": 0.03,
    "court.defaulter.evades": 0.06,
    "court.defaulter.asset_reporting": 0.14,
    "court.defaulter.consumption_order": 0.03,
    "court.defaulter.settlement": 0.02,
}


AIR_A = {
    "air.prohibited_items": 0.30, "air.disorder_aboard": 0.20, "air.smoking_or_devices": 0.20,
    "air.false_documents": 0.10, "air.assaulting_crew": 0.07, "air.storming_checkpoints": 0.05,
    "air.theft_aboard": 0.04, "air.forced_boarding": 0.02, "air.false_terror_information": 0.02,
}  # fmt: skip


RAIL = {
    "rail.fare_evasion": 0.35, "rail.invalid_ticket": 0.15, "rail.discount_id_misuse": 0.10,
    "rail.smoking_on_emu": 0.25, "rail.disrupting_order": 0.05, "rail.scalping": 0.05,
    "rail.other_penalty": 0.05,
}  # fmt: skip


CAT_B = {
    "tax.major_offender": 120_000,
    "social_insurance.serious_violation": 60_000,
    "securities.unpaid_fine": 10_000,
    "finance.government_funds_fraud": 20_000,
}


ADMIN_TIERS = {
    "admin_penalty.minor": 0.6,
    "admin_penalty.general": 0.3,
    "admin_penalty.serious": 0.1,
}


EXIT_RESTRICTIONS = 120_000
AIR_A_TOTAL = 30_000
RAIL_TOTAL = 350_000
REDLIST = 260_000


@dataclass(frozen=True)
class Profile:
    """How one category is generated: national count a year and what happens next."""

    national: float
    enterprise_share: float = 0.0
    amount: tuple[float, float, float, float] | None = None  # person/enterprise median, sigma
    fulfil: float = 0.0
    fulfil_delay: tuple[int, float] = (3, 60.0)  # minimum days, mean of the exponential part
    withdraw: float = 0.01
    withdraw_reasons: tuple[tuple[str, float], ...] = (
        ("listed_in_error", 0.5),
        ("objection_upheld", 0.4),
        ("other", 0.1),
    )
    repair: float = 0.0
    extension: float = 0.0
    working_age: bool = True  # persons drawn from 22-70 (else 18-80)
    correct: float = 0.005


COURT_REASONS = (
    ("creditor_withdrew", 0.25),
    ("no_assets_found", 0.30),
    ("enforcement_suspended", 0.10),
    ("enforcement_terminated", 0.20),
    ("judgment_not_enforced", 0.05),
    ("listed_in_error", 0.05),
    ("objection_upheld", 0.05),
)


def _profiles() -> dict[str, Profile]:
    p: dict[str, Profile] = {}
    for cid, share in COURT_GROUNDS.items():
        p[cid] = Profile(
            NEW_COURT_DEFAULTERS * share,
            enterprise_share=0.05 if cid.endswith("obstructs") else 0.12,
            amount=(60_000, 600_000, 1.3, 1.5),
            fulfil=0.62,
            withdraw=0.07,
            withdraw_reasons=COURT_REASONS,
            extension=0.0 if cid.endswith("refuses") else 0.12,
        )
    p["court.exit_restriction"] = Profile(
        EXIT_RESTRICTIONS, amount=(200_000, 0, 1.2, 1), fulfil=0.4, withdraw=0.05,
        withdraw_reasons=COURT_REASONS,
    )  # fmt: skip
    for cid, share in AIR_A.items():
        p[cid] = Profile(AIR_A_TOTAL * share, working_age=False)
    for cid, share in RAIL.items():
        paid = cid in ("rail.fare_evasion", "rail.invalid_ticket", "rail.discount_id_misuse")
        p[cid] = Profile(
            RAIL_TOTAL * share,
            amount=(120, 0, 0.8, 1) if paid else None,
            fulfil=0.85 if paid else 0.0,
            fulfil_delay=(1, 10.0),
            working_age=False,
        )
    shares = {
        "tax.major_offender": (0.75, (300_000, 1_200_000, 1.0, 1.2)),
        "social_insurance.serious_violation": (0.9, (50_000, 150_000, 1.0, 1.2)),
        "securities.unpaid_fine": (0.4, (500_000, 2_000_000, 1.2, 1.2)),
        "finance.government_funds_fraud": (0.8, (200_000, 800_000, 1.0, 1.2)),
    }
    for cid, n in CAT_B.items():
        ent, amount = shares[cid]
        p[cid] = Profile(
            n, enterprise_share=ent, amount=amount, fulfil=0.3, fulfil_delay=(7, 90.0),
            withdraw=0.02,
        )  # fmt: skip
    admin_total = (
        NATIONAL_RECORDS - NEW_COURT_DEFAULTERS - EXIT_RESTRICTIONS - AIR_A_TOTAL - RAIL_TOTAL
        - sum(CAT_B.values())
    )  # fmt: skip
    admin = {
        "admin_penalty.minor": (0.55, (2_000, 5_000, 0.9, 1.0), 0.15),
        "admin_penalty.general": (0.60, (20_000, 50_000, 1.0, 1.0), 0.05),
        "admin_penalty.serious": (0.65, (200_000, 500_000, 1.0, 1.2), 0.0),
    }
    for cid, tier_share in ADMIN_TIERS.items():
        ent, amount, repair = admin[cid]
        p[cid] = Profile(
            admin_total * tier_share, enterprise_share=ent, amount=amount, repair=repair
        )
    p["redlist.a_grade_taxpayer"] = Profile(REDLIST, enterprise_share=1.0, withdraw=0.0, correct=0)
    return p


PROFILES = _profiles()
