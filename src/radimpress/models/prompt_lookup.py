"""Greedy drafting that checks a guess taken from the prompt in one pass (prompt lookup).

Why: a fine-tuned causal model's prompt holds the nearest training report's impression, and
the Gemma recipe copies it word for word for about two thirds of Open-i's reports. Decoding
those tokens one step at a time costs about as much as reading the whole prompt. Here the
guess (the tokens that followed the prompt's last few tokens where they occurred earlier in
the prompt: after "Impression:" that is the example's impression) is appended to the prompt
and scored in one forward pass. The model's own greedy choice at every position says how much
of the guess it would have written; the first choice that differs is kept too, and decoding
goes on from there only if the model has not stopped. The draft is the greedy draft: what is
kept is exactly what greedy decoding picks, position by position (up to the float rounding of
scoring a position in a longer pass). This is the prompt lookup decoding of Saxena (2023),
which transformers offers as ``prompt_lookup_num_tokens``, with the verification done by the
CTranslate2 copy's ``forward_batch``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence


def guess_from_prompt(
    ids: Sequence[int], stops: Collection[int], max_tokens: int, ngram: int = 3
) -> list[int]:
    """The tokens that followed the last earlier occurrence of the prompt's final n-gram.

    The longest n-gram (down to one token) that occurs earlier wins; the guess ends before a
    stop token (a newline: the end of that impression) or at ``max_tokens``.
    """
    ids = list(ids)
    for n in range(min(ngram, len(ids) - 1), 0, -1):
        tail = ids[-n:]
        for start in range(len(ids) - n - 1, -1, -1):
            if ids[start : start + n] != tail:
                continue
            guess: list[int] = []
            for token in ids[start + n :]:
                if token in stops or len(guess) >= max_tokens:
                    break
                guess.append(token)
            if guess:
                return guess
    return []


def checked(
    guess: Sequence[int], choices: Sequence[int], stops: Collection[int], max_tokens: int
) -> tuple[list[int], int, bool]:
    """After one pass over prompt + guess: the draft's first tokens, how many of them are the
    guess's, and whether to decode on.

    ``choices[j]`` is the model's greedy token after the prompt and ``guess[:j]`` (one more
    entry than ``guess``). What greedy decoding would write is the guess's prefix the model
    agrees with, then its own next token; decoding is done when that token is a stop or the
    draft has ``max_tokens``.
    """
    limit = min(len(guess), max_tokens)
    k = 0
    while k < limit and choices[k] == guess[k]:
        k += 1
    out = list(guess[:k])
    if k == max_tokens or choices[k] in stops:
        return out, k, False
    out.append(choices[k])
    return out, k, len(out) < max_tokens
