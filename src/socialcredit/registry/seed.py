"""Reference authorities for the demo and the tests.

Each authority is allowed exactly the categories whose ``authority_kinds`` include its kind,
so the rule pack, not this list, decides who may submit what.
"""

from __future__ import annotations

from socialcredit.domain.records import Authority
from socialcredit.domain.rules import RulePack
from socialcredit.store.ports import UnitOfWork


def reference_authorities(pack: RulePack) -> list[Authority]:
    """The reference authorities: a court per province (and a few more) and the agencies.

    One list for the demo, the tests and the synthetic generator, so generated records always
    come from a registered authority.
    """
    from socialcredit.synthetic.records import reference_authorities as generated

    return generated(pack)


def seed_reference_authorities(uow: UnitOfWork, pack: RulePack) -> list[Authority]:
    """Register the reference authorities that are not registered yet (idempotent).

    The caller commits.
    """
    added = []
    for a in reference_authorities(pack):
        if uow.authorities.get(a.code) is None:
            uow.authorities.add(a)
            added.append(a)
    return added
