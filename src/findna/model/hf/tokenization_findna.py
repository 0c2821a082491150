"""``FinDNATokenizer``: one token per base, ids = findna's codes (A=0 C=1 G=2 T=3 N=4, PAD=5).

Text is encoded by :func:`findna.data.alphabet.encode`, so the tokenizer reads exactly what findna
reads: lower case as upper case, U as T, IUPAC ambiguity codes as N, and any other character is
an error naming its position. ``[PAD]`` (5) is findna's ``PAD``; ``[MASK]`` (6) and ``[CLS]`` (7)
may be written in the text. The network sees ids 5, 6 and 7 as the same all-zero one-hot row
(padding, the MNM mask token and CLS tokens are that row, docs/method.md §2.1), and
``attention_mask`` gives findna's ``lengths`` (right padding only). No special tokens are added:
a classifier appends its own CLS rows (``FinDNAForSequenceClassification``).
"""

from __future__ import annotations

from typing import Any

from transformers import PreTrainedTokenizer

from findna.data.alphabet import BASES, PAD, encode

SPECIAL_TOKENS = {"pad_token": "[PAD]", "mask_token": "[MASK]", "cls_token": "[CLS]"}
VOCAB: dict[str, int] = {
    **{base: code for code, base in enumerate(BASES)},
    "[PAD]": PAD,
    "[MASK]": PAD + 1,
    "[CLS]": PAD + 2,
}


class FinDNATokenizer(PreTrainedTokenizer):
    """Character-level DNA tokenizer with a fixed vocabulary (no vocabulary file)."""

    vocab_files_names: dict[str, str] = {}
    model_input_names = ["input_ids", "attention_mask"]

    def __init__(self, **kwargs: Any) -> None:
        for key, token in SPECIAL_TOKENS.items():
            kwargs.setdefault(key, token)
        kwargs["padding_side"] = kwargs.get("padding_side", "right")
        if kwargs["padding_side"] != "right":
            raise ValueError(
                "FinDNATokenizer pads on the right only: findna reads attention_mask as "
                "sequence lengths; drop padding_side or set it to 'right'"
            )
        self._ids_to_tokens = {i: t for t, i in VOCAB.items()}
        super().__init__(**kwargs)

    @property
    def vocab_size(self) -> int:
        """8: A C G T N [PAD] [MASK] [CLS]."""
        return len(VOCAB)

    def get_vocab(self) -> dict[str, int]:
        """Token -> id."""
        return dict(VOCAB)

    def _tokenize(self, text: str, **kwargs: Any) -> list[str]:
        codes = encode(text, source="tokenizer input")
        return [BASES[c] for c in codes.tolist()]

    def _convert_token_to_id(self, token: str) -> int:
        if token not in VOCAB:
            raise ValueError(f"{token!r} is not a FinDNA token; use A C G T N or {list(VOCAB)[5:]}")
        return VOCAB[token]

    def _convert_id_to_token(self, index: int) -> str:
        if index not in self._ids_to_tokens:
            raise ValueError(f"token id {index} is out of range 0..{len(VOCAB) - 1}")
        return self._ids_to_tokens[index]

    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        """Tokens back to a DNA string (special tokens kept unless the caller skips them)."""
        return "".join(tokens)

    def save_vocabulary(self, save_directory: str, filename_prefix: str | None = None) -> tuple:
        """Nothing to write: the vocabulary is fixed."""
        return ()
