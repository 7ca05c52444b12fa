"""The privacy section of a model card (tonecls.privacy.card)."""

from __future__ import annotations


def test_every_card_has_a_privacy_section(tiny_bundle):
    card = (tiny_bundle / "MODEL_CARD.md").read_text()
    assert "## Privacy" in card and "Membership inference: not measured" in card
    assert "What this means for sharing the bundle" in card
