"""Cross-sector matchmaking: scoring, the weighted graph, exact matching, reasons, suggestions.

Pure domain code: frozen dataclasses in and out, no Discord, no clock (the caller passes the
history and a seed). `match_round(people, history, config)` pairs everyone (one group of
three when the number is odd, never anyone alone) by an exact maximum-weight matching
(rustworkx's blossom, `max_weight_matching(max_cardinality=True)`) on a graph whose
integer edge weights encode the rules.

What a group is worth (its "value vector"), most important first
-----------------------------------------------------------------
1. *same sector*: 1 if every member is from the same sector (a fallback, shown as a reason).
2. *repeats*: member pairs who met in the last `window_rounds` rounds (distinct dates in the
   history are rounds; the most recent N count).
3. *same organisation*: member pairs from the same organisation (empty organisation never
   matches).
4. *priority*: members with `priority > 0` (left out or paused last time) placed in a group
   that is cross-sector and repeat-free, so the unavoidable fallbacks go to others.
5. *score*: the visible score (`pair_score`): `cross_sector` if the sectors differ, plus
   `shared_interest` per shared interest key (at most `max_shared`), plus `offer_match` per
   term one offers and the other seeks (at most `max_offer_terms` per direction), minus
   `same_organisation`, minus `repeat`. A trio scores the sum of its three pairs.
6. *tie-break*: 0–15 per pair from a hash of the seed and both ids (deterministic per seed).

The internal weight is these levels in a mixed radix: level ℓ's unit is larger than twice
the most that all lower levels can add up to over a whole round (`n + 2` groups), so the
optimum is lexicographic: first the fewest same-sector groups, then the fewest repeats, then
the fewest same-organisation pairs, then priority, then the highest total score, then the
seeded tie-break. Weights are exact Python integers (rustworkx accepts 128-bit weights).
Repeats and same-sector pairs are heavy penalties, not prohibitions: they are used only
when nobody else is left.

Offers and seeks are free text. They match by shared *terms*: `terms(text)` lower-cases,
keeps words of three or more letters, drops common nb/sv/en stop words, strips a common
ending (-ing, -er, -en, -ar, -s …) and cuts to seven letters, so "mentoring" meets "mentor"
and "housing" meets "house". Interests match by taxonomy key.

Scale
-----
Up to `dense_limit` people the graph is complete (so the result is the exact optimum). Above
it, each person keeps their `candidates_per_person` best partners (ranked by the same value
vector, computed in numpy in row chunks against a seeded sample of `candidate_sample`
columns), and the graph is the union of these lists; when one sector is more than half the
round, its people also keep a few partners from their own sector. Up to `block_size` people
the whole candidate graph is solved exactly (one blossom run, about cubic).

Above it, a blossom run is too slow (12–36 s at 10,000 people), so the round goes in
three steps. (1) An optimal *assignment* on the graph's double cover, where everyone picks
one partner and is picked by one (`_assignment`: scipy's LAPJVsp on the sparse graph,
on the integer value vectors of `_benefits`; staying out costs more than any other change
could gain, so it covers as many people as any matching can). Its value bounds every
matching from above, and where it is a set of mutual choices it is a matching: on our rounds
that is 98–100 % of the people (an even cycle splits into two matchings of equal value; odd
cycles need the blossom). Every matching of the graph leaves at least as many people alone
as it leaves out (`_assignment_pairs`), so that many are left to the last resort, not chased
with windows. When one sector is exactly half the round (civil society in every mix we
bench), a round without same-sector pairs pairs each of its members with someone outside
it, so step (1) is instead the assignment on that bipartite graph (`_half_and_half_pairs`):
a matching already, and its optimum (99.3 % of the exact score became 100 % at 10,000
people of the half mix). (2) The people it leaves in longer cycles are re-solved exactly
by the blossom together with the whole pairs around them (`_window`: breadth first over
each person's best candidates and their current partners). (3) Pairs those windows made
that repeat a meeting, or share a sector while the sector mix allows better, and people
alone beyond that bound, get exact windows of their own, doubling in size. Every window
re-solve keeps the current pairs among its options, so it never makes the round worse.
Whoever the candidate graph cannot place is re-solved on the complete graph among them,
their best candidates and those candidates' partners. An odd round attaches the one
person left to the pair where they add the most (exactly, by enumerating every trio, up
to `exact_trio_limit` people).
"""

from __future__ import annotations

# The data model lives apart, without numpy (see its docstring); re-exported here.
from bot.domain.match_model import Group as Group
from bot.domain.match_model import History as History
from bot.domain.match_model import MatchConfig as MatchConfig
from bot.domain.match_model import MetRecord as MetRecord
from bot.domain.match_model import Pair as Pair
from bot.domain.match_model import Person as Person
from bot.domain.match_model import Reason as Reason
from bot.domain.match_model import RoundResult as RoundResult
from bot.domain.match_model import Suggestion as Suggestion
from bot.domain.match_model import Summary as Summary
from bot.domain.match_model import Weights as Weights
from bot.domain.match_model import group_reasons as group_reasons
from bot.domain.match_model import render_reason as render_reason
from bot.domain.match_model import suggest_for as suggest_for
from bot.domain.match_model import terms as terms
from bot.domain.match_model import tie_break as tie_break
from bot.domain.match_model import validate_people as validate_people

# The solver, one job per module: the index and weights, the candidate graph, the solver,
# the round's assembly.
from bot.domain.matching.graph import Adjacency as Adjacency
from bot.domain.matching.graph import Problem as Problem
from bot.domain.matching.graph import prepare as prepare
from bot.domain.matching.index import Components as Components
from bot.domain.matching.index import Index as Index
from bot.domain.matching.index import Radix as Radix
from bot.domain.matching.rounds import group_weight as group_weight
from bot.domain.matching.rounds import match_round as match_round
from bot.domain.matching.rounds import pair_score as pair_score
from bot.domain.matching.rounds import solve as solve
from bot.domain.matching.solver import _assignment as _assignment
from bot.domain.matching.solver import _pairs_of as _pairs_of
from bot.domain.matching.solver import _resolve as _resolve
from bot.domain.matching.solver import _window as _window
from bot.domain.matching.solver import max_matching as max_matching
