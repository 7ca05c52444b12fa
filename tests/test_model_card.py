"""The model card (tonecls.model.card)."""

from __future__ import annotations


def test_model_card_names_heads_metrics_and_limits(tiny_model, tmp_path):
    card = (tiny_model.save(tmp_path / "bundle") / "MODEL_CARD.md").read_text()
    for text in ("`tone`", "`flags`", "Intended use", "Not for decisions about individuals",
                 "Ethical considerations", "Known limitations", "macro_f1"):
        assert text in card
