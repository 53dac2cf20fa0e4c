"""Closing a question as a duplicate of a canonical one, reopening it, and merging it.

Moderators, staff and users with the close privilege (500 reputation) may do all three. The
duplicate keeps its page with a banner pointing at the original; the original lists its duplicates.

Duplicates always point at a canonical question (one that is not itself a duplicate), so there are
no chains and no loops:

- Closing B as a duplicate of C while questions A… are closed as duplicates of B re-points them
  to C in the same transaction (their text now counts for C in search and suggestions; each
  re-pointed question's last activity is touched and the search outbox records A, B and C).
  There is no close history yet: the re-pointing shows on A's page (its banner names C).
- Closing against a question that is itself a duplicate is refused (422) with the question to
  use instead (the end of its chain); when that chain leads back to the question being closed,
  the refusal names the loop ("would make a loop: 7 → 9 → 7").
- Reopening B later does not move A back: A stays a duplicate of C (the re-pointing is not a
  state of B). Reopening a question that others point at cannot happen: they were re-pointed.
- Imported archives and databases written before this rule may hold chains and loops:
  `resolve_chains` (shared by the importer and migration 0007) points each duplicate at the end
  of its chain and breaks each loop deterministically: the loop's question with the lowest id
  (the oldest: ids follow creation and import order) is reopened as the canonical one, the others
  point at it.

Merging moves every visible answer of a duplicate to its original, for good:

- Each moved answer keeps its id, so its votes, comments, revisions and suggested edits (all keyed
  by the answer's id) move with it; it records where it was written (`merged_from_question_id`,
  `merged_at`) and the original's page says so. Deleted answers stay with the duplicate.
- `answer_count` goes down on the duplicate and up on the original by the number moved (atomic
  updates, as posting does); both questions' last activity is touched. The duplicate records
  `merged_into_at`: its page says its answers were moved, and it can be neither merged again nor
  reopened (its answers now live on the original) — both are 409s.
- The reputation ledger is not touched: nobody gains or loses anything by a merge. Votes on a moved
  answer still count for its author (they are live votes on a live answer).
- Acceptance. The original's own acceptance is untouched. If the duplicate had an accepted answer,
  its asker did accept it, so that acceptance stays in force in the history (the `acceptances` row,
  which names the duplicate, is not revoked) and so do the reputation events it gave the answer's
  author and the asker; `recompute` finds them still backed. The duplicate's `accepted_answer_id` is
  cleared (it has no answers any more), and the moved answer is *not* accepted on the original — the
  original's page labels it "accepted on the duplicate question". The original's asker may still
  accept it; that is a second acceptance by a second asker, and earns what any acceptance earns.
  Deleting the duplicate later revokes that acceptance and reverses its reputation, as deleting any
  question does for its acceptances (questions.service._reverse_reputation_of_thread).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import bindparam, func, update
from sqlalchemy.engine import Connection
from sqlmodel import Session, select

from app.accounts import permissions
from app.accounts.models import User
from app.core.db import MAX_ID, utcnow
from app.core.errors import Conflict, InvalidInput, field_error
from app.internal.visibility import is_internal
from app.questions import service as questions_service
from app.moderation import audit
from app.questions.models import Question, QuestionStatus


def close_as_duplicate(session: Session, *, actor: User | None, question_id: int, original_id: int) -> Question:
    actor = permissions.require_user(actor)
    # Both rows are locked, the lower id first: two moderators closing A against B and B against
    # A at the same moment would otherwise both succeed (a loop), or deadlock. The second one
    # waits, then sees the first one's change and is refused.
    if 1 <= original_id < question_id:
        session.exec(select(Question.id).where(Question.id == original_id).with_for_update()).first()
    question = questions_service.get_visible(session, question_id, viewer=actor, for_update=True)
    permissions.require_privilege(actor, "close", "close questions as duplicates")
    if question.status == QuestionStatus.duplicate:
        raise Conflict("This question is already closed as a duplicate; reopen it first to point it elsewhere.")
    if original_id == question.id:
        raise field_error("original_id", "A question cannot be a duplicate of itself.")
    original = check_original(session, actor=actor, question=question, original_id=original_id, for_update=True)
    if original.status == QuestionStatus.duplicate:
        chain = _chain(session, original)
        if question.id in chain:
            loop = chain[:chain.index(question.id) + 1]
            raise field_error("original_id", f"Question {original.id} is a duplicate of this question already: "
                                             f"closing this one against it would make a loop: "
                                             f"{' → '.join(str(i) for i in [question.id, original.id, *loop])}. "
                                             f"Reopen question {original.id} first if this one is the duplicate.")
        raise field_error("original_id", f"Question {original_id} is itself a duplicate of question "
                                         f"{chain[-1]}; close against that one.")
    now = utcnow()
    question.status = QuestionStatus.duplicate.value
    question.duplicate_of_id = original.id
    questions_service.touch(session, question, now)
    # Those closed as duplicates of this question now point at its original (no chains).
    for dup in session.exec(select(Question).where(Question.duplicate_of_id == question.id,
                                                   Question.status == QuestionStatus.duplicate.value)
                            .order_by(Question.id).with_for_update()).all():
        dup.duplicate_via_id = dup.duplicate_via_id or question.id  # what it was closed against first
        dup.duplicate_of_id = original.id
        questions_service.touch(session, dup, now)
    session.flush()
    if question.author_id != actor.id:  # the asker is told where the answers are
        from app.notifications import service as notifications

        notifications.notify(session, [question.author_id], kind="question_closed_duplicate", now=now,
                             url=f"/questions/{original.id}/{original.slug}",
                             text=f"Your question “{question.title}” was closed as a duplicate of "
                                  f"“{original.title}”: its answers may solve your problem.")
    from app.webhooks import events as webhook_events

    webhook_events.question_closed(session, question)
    audit.record(session, actor=actor, action="question.close_duplicate", target_type="question",
                 target_id=question.id, details={"original_id": original.id}, now=now)
    return question


def check_original(session: Session, *, actor: User | None, question: Question, original_id: int,
                   for_update: bool = False) -> Question:
    """The question `original_id` if `question` may be closed, merged or flagged as its duplicate.

    Duplicates never cross the boundary (docs/internal.md, docs/moderation.md): readers of a
    duplicate are sent to its original, so the original must be one every reader of the duplicate
    can see. Refusals, all InvalidInput (422) on `original_id`:
    - no such question, deleted, or one `actor` may not see (internal for a customer, hidden by
      moderation and `actor` is neither its author nor a moderator): "does not exist or was
      deleted", the same words whatever the reason, so nothing about it leaks;
    - internal original for a public question, or the reverse;
    - an original hidden by moderation (flags, review, spam check), even for moderators: restore
      it first, or close against another question.
    Shared by close_as_duplicate, merge, the duplicate flag (app/moderation/flags.py) and the
    web's confirmation step, so every path that takes an original applies the same rule."""
    from app.moderation.posts import can_see

    original = None
    if 1 <= original_id <= MAX_ID:
        stmt = select(Question).where(Question.id == original_id, Question.deleted_at.is_(None))
        original = session.exec(stmt.with_for_update() if for_update else stmt).first()
    if original is None or not can_see(actor, original):
        raise field_error("original_id", f"Question {original_id} does not exist or was deleted.")
    if is_internal(original) != is_internal(question):
        raise field_error("original_id", "Duplicates never cross the boundary: a public question and an internal "
                                         "(staff-only) one cannot be duplicates of each other: customers would be "
                                         "sent to a page they cannot see. Link the internal question from the "
                                         "public one instead.")
    if original.hidden_at is not None:
        raise field_error("original_id", f"Duplicates never cross the boundary: question {original_id} is hidden by "
                                         "moderation, so readers would be sent to a page they cannot see. Restore "
                                         "it first, or close against another question.")
    return original


def _chain(session: Session, start: Question, limit: int = 100) -> list[int]:
    """The ids a duplicate's links lead through, `start`'s original first, up to the first question
    that is not a duplicate (or a repeat, on damaged data)."""
    out: list[int] = []
    current = start
    while current is not None and current.status == QuestionStatus.duplicate and current.duplicate_of_id \
            and current.duplicate_of_id not in out and len(out) < limit:
        out.append(current.duplicate_of_id)
        current = session.get(Question, current.duplicate_of_id)
    return out


def resolve_chains(edges: Mapping[int, int]) -> dict[int, int | None]:
    """Where each duplicate should point: {question id: final original, or None to reopen it}.

    `edges` maps each question closed as a duplicate to the question it names. Following the
    links from a question ends at a question that is not a duplicate (its final original) or
    runs into a loop. Each loop is broken deterministically: its lowest id (the oldest question)
    becomes canonical (None: reopen it), every other question of the loop and every question
    leading into it points there. Pure: the importer and migration 0007 do the reading and
    writing. Only questions whose answer differs from `edges` need a change.
    """
    final: dict[int, int | None] = {}
    for start in sorted(edges):
        if start in final:
            continue
        path: list[int] = []
        on_path: set[int] = set()
        node = start
        while node in edges and node not in final and node not in on_path:
            path.append(node)
            on_path.add(node)
            node = edges[node]
        if node in on_path:  # a loop: path[i:] are its members
            loop = path[path.index(node):]
            canonical = min(loop)
            for member in loop:
                final[member] = None if member == canonical else canonical
            path = path[:path.index(node)]
            target: int | None = canonical
        elif node in final:
            target = final[node] if final[node] is not None else node
        else:
            target = node  # not a duplicate: the end of the chain
        for member in path:
            final[member] = target
    return final


def reopen(session: Session, *, actor: User | None, question_id: int) -> Question:
    actor = permissions.require_user(actor)
    question = questions_service.get_visible(session, question_id, viewer=actor, for_update=True)
    permissions.require_privilege(actor, "close", "reopen questions")
    if question.status == QuestionStatus.open:
        raise Conflict("This question is open already.")
    if question.merged_into_at is not None:
        raise Conflict(MERGED_FOR_GOOD)
    was = {"status": question.status, "duplicate_of": question.duplicate_of_id}
    question.status, question.duplicate_of_id, question.duplicate_via_id = QuestionStatus.open.value, None, None
    questions_service.touch(session, question)
    session.flush()
    audit.record(session, actor=actor, action="question.reopen", target_type="question", target_id=question.id,
                 details=was)
    return question


MERGED_FOR_GOOD = ("This duplicate was merged: its answers now live on the original, so it cannot be reopened "
                   "or merged again. Ask a new question if the problem is a different one.")


def merge(session: Session, *, actor: User | None, question_id: int, original_id: int | None = None) -> Question:
    """Move the duplicate's visible answers to its original (closing it as a duplicate of
    `original_id` first when it is still open). Returns the duplicate. See the module docstring."""
    from app.answers.models import Answer

    actor = permissions.require_user(actor)
    question = questions_service.get_visible(session, question_id, viewer=actor, for_update=True)
    permissions.require_privilege(actor, "close", "merge duplicate questions")
    if question.merged_into_at is not None:
        raise Conflict(MERGED_FOR_GOOD)
    if question.status != QuestionStatus.duplicate:
        if original_id is None:
            raise field_error("original_id", "This question is not closed as a duplicate: say which question "
                                             "is the original.")
        question = close_as_duplicate(session, actor=actor, question_id=question.id, original_id=original_id)
    elif original_id is not None and original_id != question.duplicate_of_id:
        raise field_error("original_id", f"This question is a duplicate of question {question.duplicate_of_id}, "
                                         f"not {original_id}; reopen it first to close it against another one.")
    try:  # closed before it was hidden, or before this rule: the answers must not vanish from view
        original = check_original(session, actor=actor, question=question, original_id=question.duplicate_of_id,
                                  for_update=True)
    except InvalidInput as exc:
        raise Conflict(f"{exc.detail} Reopen this question, or close it against another one.") from None
    if original.status == QuestionStatus.duplicate:
        raise Conflict(f"The original, question {original.id}, is itself a duplicate of question "
                       f"{original.duplicate_of_id} now; reopen this one and close it against that.")
    now = utcnow()
    # ORM updates, not one bulk UPDATE: flush hooks (the search outbox) see each answer change.
    moved = list(session.exec(select(Answer).where(Answer.question_id == question.id, Answer.deleted_at.is_(None))
                              .order_by(Answer.id).with_for_update()).all())
    for answer in moved:
        answer.question_id, answer.merged_from_question_id, answer.merged_at = original.id, question.id, now
    question.accepted_answer_id = None  # its acceptance stays in the history; see the module docstring
    question.merged_into_at = now
    questions_service.touch(session, question, now)
    questions_service.touch(session, original, now)
    session.flush()
    shown = sum(1 for a in moved if a.hidden_at is None)  # answer_count counts only visible answers
    if shown:
        # Atomic, as posting and deleting answers count: concurrent changes must not lose a count.
        for target, delta in ((question, -shown), (original, shown)):
            session.exec(update(Question).where(Question.id == target.id)
                         .values(answer_count=Question.answer_count + delta))
        session.refresh(question)
        session.refresh(original)
    audit.record(session, actor=actor, action="question.merge", target_type="question", target_id=question.id,
                 details={"original_id": original.id, "answers_moved": [a.id for a in moved]}, now=now)
    return question


@dataclass
class ChainRepair:
    """What `repair_chains` changed: question ids re-pointed and reopened, and every question
    whose search document changes (those, and their old and new originals)."""

    repointed: list[int]
    reopened: list[int]
    touched: set[int]


def repair_chains(conn: Connection, *, keep_via: bool = True) -> ChainRepair:
    """Point every stored duplicate at the end of its chain and break loops (`resolve_chains`),
    with Core statements on `conn` (the caller's transaction): the importer after PostLinks.xml,
    and migration 0007 on existing data. A re-pointed duplicate keeps in `duplicate_via_id` the
    question it was closed against (unless it kept one already); `keep_via=False` for migration
    0007, which runs before that column exists (0028). A reopened loop member becomes `open`.
    Writes no search outbox rows itself: the caller records `touched`."""
    table = Question.__table__
    edges = dict(conn.execute(select(table.c.id, table.c.duplicate_of_id).where(
        table.c.status == QuestionStatus.duplicate.value, table.c.duplicate_of_id.is_not(None))).all())
    repoint, reopened, touched = [], [], set()
    for qid, target in sorted(resolve_chains(edges).items()):
        if target == edges[qid]:
            continue
        touched |= {qid, edges[qid]}
        if target is None:
            reopened.append(qid)
        else:
            repoint.append({"qid": qid, "target": target, "was": edges[qid]})
            touched.add(target)
    if repoint:
        # duplicate_via_id keeps what it was closed against (the first such question, if re-pointed before).
        via = {"duplicate_via_id": func.coalesce(table.c.duplicate_via_id, bindparam("was"))} if keep_via else {}
        conn.execute(update(table).where(table.c.id == bindparam("qid"))
                     .values(duplicate_of_id=bindparam("target"), **via), repoint)
    if reopened:
        conn.execute(update(table).where(table.c.id.in_(reopened))
                     .values(status=QuestionStatus.open.value, duplicate_of_id=None,
                             **({"duplicate_via_id": None} if keep_via else {})))
    return ChainRepair([r["qid"] for r in repoint], reopened, touched)


def live_acceptances_elsewhere(session: Session, question_id: int, answer_ids: list[int]) -> set[int]:
    """Those of the answers (now on `question_id`) that are accepted, in force, on another question:
    the duplicate they were merged from."""
    from app.answers.models import Acceptance

    if not answer_ids:
        return set()
    return set(session.exec(select(Acceptance.answer_id).where(
        Acceptance.answer_id.in_(answer_ids), Acceptance.question_id != question_id,
        Acceptance.revoked_at.is_(None))).all())


def duplicates_of(session: Session, question_id: int) -> list[Question]:
    return list(session.exec(select(Question).where(
        Question.duplicate_of_id == question_id, Question.status == QuestionStatus.duplicate.value,
        Question.deleted_at.is_(None)).order_by(Question.created_at, Question.id)).all())
