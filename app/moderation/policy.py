"""Moderation policy: every number of flags, automatic hiding, new-account limits and the spam
check in one place (documented in docs/moderation.md; the flag privilege's reputation is in
app/reputation/policy.py PRIVILEGES and on /help/reputation).

Sources: Stack Exchange (flag privilege at 15 reputation, a daily flag allowance, flags marked
helpful or declined, six spam/offensive flags hide a post; protected questions need 10
reputation earned here), Discourse (a post is hidden once the weighted score of flags from
trusted users reaches a threshold; new users' link limits), Akismet (comment-check API).
"""

from __future__ import annotations

from datetime import timedelta

FLAG_REASONS: dict[str, str] = {
    "spam": "Spam: it exists to promote a product or service, not to help",
    "abusive": "Rude or abusive",
    "off_topic": "Off-topic for this community",
    "needs_improvement": "Needs improvement (unclear, incomplete)",
    "duplicate": "A duplicate of another question",
    "other": "Something else (say what)",
}
HIDING_REASONS = frozenset({"spam", "abusive"})  # reasons whose flags can hide a post at once

FLAGS_PER_DAY = 10                  # flags one member may raise per UTC day (Stack Exchange starts at 10)

# Flag weight: what one member's flag counts towards automatic hiding.
#   moderators, staff, admins: AUTO_HIDE_WEIGHT (one flag hides);
#   members whose decided flags are mostly declined (≥ 3 declined and more declined than helpful): 0;
#   members with ≥ 10 helpful flags and ≥ 80 % of decided flags helpful: 2;
#   everyone else: 1.
AUTO_HIDE_WEIGHT = 3                # a post is hidden once spam/abusive flags from trusted members weigh this much
TRUSTED_FLAGGER_REPUTATION = 100    # flags count towards automatic hiding from this reputation on
WEIGHT_UNRELIABLE_DECLINED = 3
WEIGHT_RELIABLE_HELPFUL = 10
WEIGHT_RELIABLE_ACCURACY = 0.8

# New and unverified accounts (Stack Exchange's new-user restrictions, Discourse trust level 0).
NEW_MEMBER_REPUTATION = 10          # below this a member is "new"; also the bar to answer a protected thread
NEW_POSTS_PER_HOUR = 3              # questions and answers together
NEW_LINKS_PER_POST = 2              # links a new member's post may hold…
NEW_FIRST_POST_LINKS = 0            # …and their first post none at all

# The spam check (app/moderation/spam.py).
SPAM_REVIEW_SCORE = 0.6             # heuristic score from which a post waits for review
SPAM_CHECK_TIMEOUT = 2.0            # seconds for the external (Akismet-compatible) check, default

# The sign-up form: a field people never see must stay empty, and a person needs some seconds.
SIGNUP_MIN_SECONDS = 3
SIGNUP_FORM_MAX_AGE = timedelta(hours=2)
