"""Prompt lookup: the guess taken from the prompt, and how much of it greedy decoding keeps."""

from __future__ import annotations

from radimpress.models.prompt_lookup import checked, guess_from_prompt

NL = 0  # a stop token: the newline that ends an impression
# "Findings: a b Impression: x y z NL Findings: c Impression:" as ids
IMPRESSION = [7, 8]
PROMPT = [1, 5, 20, 21, *IMPRESSION, 30, 31, 32, NL, 5, 22, *IMPRESSION]


def test_the_guess_is_what_followed_the_answer_prefix_earlier():
    assert guess_from_prompt(PROMPT, {NL}, max_tokens=10) == [30, 31, 32]


def test_the_guess_stops_at_the_limit():
    assert guess_from_prompt(PROMPT, {NL}, max_tokens=2) == [30, 31]


def test_the_longest_matching_tail_wins_over_a_later_shorter_one():
    # the tail [4, 8] occurred once (followed by 40); the last token 8 alone occurs later (→ 50)
    ids = [4, 8, 40, NL, 8, 50, NL, 4, 8]
    assert guess_from_prompt(ids, {NL}, max_tokens=10) == [40]
    # of two occurrences of the same tail, the later (the nearest example) wins
    ids = [4, 8, 40, NL, 4, 8, 41, NL, 4, 8]
    assert guess_from_prompt(ids, {NL}, max_tokens=10) == [41]


def test_no_guess_when_the_tail_never_occurred_or_only_a_stop_followed_it():
    assert guess_from_prompt([1, 2, 3], {NL}, max_tokens=10) == []
    assert guess_from_prompt([9, NL, 9], {NL}, max_tokens=10) == []
    assert guess_from_prompt([9], {NL}, max_tokens=10) == []


def test_one_pass_keeps_the_agreeing_prefix_and_the_models_next_token():
    # choices[j]: the model's token after the prompt and guess[:j]
    stops, limit = {NL}, 10
    # the whole guess, then the model stops: done in one pass
    assert checked([30, 31, 32], [30, 31, 32, NL], stops, limit) == ([30, 31, 32], 3, False)
    # the model agrees up to 30, then writes 99: greedy decoding goes on after it
    assert checked([30, 31, 32], [30, 99, 32, NL], stops, limit) == ([30, 99], 1, True)
    assert checked([30, 31, 32], [98, 31, 32, NL], stops, limit) == ([98], 0, True)
    # the whole guess, then more words of its own
    assert checked([30, 31], [30, 31, 33], stops, limit) == ([30, 31, 33], 2, True)
    # no guess: the pass is the first decoding step
    assert checked([], [97], stops, limit) == ([97], 0, True)
    assert checked([], [NL], stops, limit) == ([], 0, False)


def test_one_pass_stops_at_the_token_limit():
    assert checked([30, 31, 32], [30, 31, 32, NL], {NL}, 2) == ([30, 31], 2, False)
    assert checked([30, 31], [30, 31, 33], {NL}, 3) == ([30, 31, 33], 2, False)
