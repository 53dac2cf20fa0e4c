#!/usr/bin/env python3
"""Write a synthetic Stack Exchange data dump shaped like a real support site, at any size.

    .venv/bin/python bench/gen_dump.py OUT_DIR --questions 100000 [--seed 1]

Writes Users.xml, Tags.xml, Posts.xml, Comments.xml, Votes.xml and PostLinks.xml in the schema
the importer reads (app/importer/stackexchange.py) and real dumps use (compare
../shared/data/iot-stackexchange): a UTF-8 BOM, an XML declaration, one self-closed <row> per
line, CRLF line ends, HTML bodies escaped as entities, newlines as `&#xA;`.

Shape, per N questions (the figures of issue 11's measurements):
- N questions and 3 answers per question (4N posts), bodies of ~150 words in 2–3 paragraphs
  with a bulleted or numbered list and a code block; 1–4 tags each from a vocabulary of 400;
- users: one per 4 posts (N users), each post owned by one of them (1 in 50 by a deleted user,
  i.e. an OwnerUserId that is not in Users.xml, with an OwnerDisplayName);
- votes: 0–6 per post (mean 3, so ~12N), ~85% up (VoteTypeId 2), ~12% down (3), the rest
  favourites (5), which the importer skips; dated to the day as dumps are; each post's Score
  is its up votes minus its down votes, as in a real dump (before 2026-12-02 every Score was 0,
  which made the importer rewrite every voted post's score at the end);
- comments: 0–2 per post (mean 1);
- half the questions have an accepted answer (AcceptedAnswerId, plus the vote of type 1);
- 1 in 20 questions is a duplicate (PostLinks type 3) of an older question, 1 in 20 has a
  related link (type 1).

Deterministic from --seed: the same arguments write the same bytes. Streams: every row is
written as it is made, so memory stays flat whatever N (a few MB).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

WORDS = ("router firmware reboot wifi signal channel bridge mesh node gateway sensor thermostat "
         "update restart factory reset password admin console port forward dhcp lease address "
         "static subnet mask dns server cache timeout packet loss latency bandwidth upload "
         "download speed cable ethernet switch hub antenna range interference band frequency "
         "battery power supply voltage adapter led blink orange green red solid light button "
         "hold seconds pairing app phone tablet laptop driver version release notes bug issue "
         "fix workaround log error message code configuration setting option menu page tab "
         "device model serial number warranty support ticket customer account cloud sync "
         "backup restore schedule rule automation trigger action scene zone camera motion "
         "alert notification email push token api key script command terminal shell the a "
         "to of and in is it that for on with this my when after before but not does can "
         "every again still only then also have has was were will would should could").split()
LANGS = ("sh", "json", "python", "ini", "yaml")
EPOCH = datetime(2016, 1, 1)
TAG_COUNT = 400


def esc(s: str) -> str:
    """Attribute text as dumps write it: &, <, >, " as entities, newlines as &#xA;."""
    return (s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
            .replace("\n", "&#xA;"))


def when(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}"


class Writer:
    """One dump file: header, rows as they come, footer."""

    def __init__(self, path: Path, root: str):
        self.f = open(path, "w", encoding="utf-8", newline="")
        self.root = root
        self.f.write('\ufeff<?xml version="1.0" encoding="utf-8"?>\r\n' + f"<{root}>\r\n")
        self.rows = 0

    def row(self, **attrs) -> None:
        self.f.write("  <row " + " ".join(f'{k}="{esc(str(v))}"' for k, v in attrs.items() if v is not None)
                     + " />\r\n")
        self.rows += 1

    def close(self) -> None:
        self.f.write(f"</{self.root}>")
        self.f.close()


def sentence(rng: random.Random, n: int) -> str:
    words = rng.choices(WORDS, k=n)
    return " ".join(words).capitalize() + "."


def body(rng: random.Random) -> str:
    """~150 words of HTML: paragraphs, a list, a code block."""
    parts = [f"<p>{sentence(rng, rng.randint(14, 22))} {sentence(rng, rng.randint(10, 18))}</p>"]
    tag = rng.choice(("ul", "ol"))
    items = "".join(f"<li>{sentence(rng, rng.randint(5, 9))}</li>\n" for _ in range(rng.randint(3, 5)))
    parts.append(f"<{tag}>\n{items}</{tag}>")
    lines = "\n".join(f"{rng.choice(WORDS)} --{rng.choice(WORDS)}={rng.randint(0, 9999)}"
                      for _ in range(rng.randint(2, 5)))
    parts.append(f'<pre class="lang-{rng.choice(LANGS)}"><code>{esc_code(lines)}\n</code></pre>')
    parts.append(f"<p>{sentence(rng, rng.randint(18, 30))} {sentence(rng, rng.randint(12, 20))}</p>")
    return "\n\n".join(parts) + "\n"


def esc_code(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def generate(out: Path, questions: int, seed: int = 1, progress=lambda _m: None) -> dict[str, int]:
    """Write the dump into `out` (created); returns rows written per file."""
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    n_users = max(questions, 10)
    tags = [f"{WORDS[i % len(WORDS)]}-{i}" if i >= len(WORDS) else WORDS[i] for i in range(TAG_COUNT)]

    users = Writer(out / "Users.xml", "users")
    for uid in range(1, n_users + 1):
        created = EPOCH + timedelta(minutes=uid * 3)
        users.row(Id=uid, Reputation=1, CreationDate=when(created), DisplayName=f"{rng.choice(WORDS)} user {uid}",
                  LastAccessDate=when(created), Views=0, UpVotes=0, DownVotes=0, AccountId=100_000 + uid)
    users.close()
    tagw = Writer(out / "Tags.xml", "tags")
    for i, t in enumerate(tags, 1):
        tagw.row(Id=i, TagName=t, Count=0)
    tagw.close()

    posts = Writer(out / "Posts.xml", "posts")
    votes = Writer(out / "Votes.xml", "votes")
    comments = Writer(out / "Comments.xml", "comments")
    links = Writer(out / "PostLinks.xml", "postlinks")
    vote_id = comment_id = link_id = 0
    post_id = 0
    started = time.perf_counter()

    def owner() -> tuple[int | None, str | None]:
        if rng.random() < 0.02:
            return n_users + 1 + rng.randrange(1000), f"gone {rng.choice(WORDS)}"  # not in Users.xml
        return rng.randint(1, n_users), None

    def draw_votes(created: datetime) -> tuple[list[tuple[int, datetime]], int]:
        """0-6 votes (85% up, 12% down, 3% favourite) and the score they make, which the post's
        Score states, as in a real dump (Score = up votes - down votes)."""
        drawn = []
        for _ in range(rng.randint(0, 6)):
            r = rng.random()
            vtype = 2 if r < 0.85 else 3 if r < 0.97 else 5
            day = created + timedelta(days=rng.randint(0, 30))
            drawn.append((vtype, day.replace(hour=0, minute=0, second=0, microsecond=0)))
        return drawn, sum(1 for t, _ in drawn if t == 2) - sum(1 for t, _ in drawn if t == 3)

    def post_extras(pid: int, created: datetime, drawn: list[tuple[int, datetime]]) -> None:
        nonlocal vote_id, comment_id
        for vtype, day in drawn:
            vote_id += 1
            votes.row(Id=vote_id, PostId=pid, VoteTypeId=vtype, CreationDate=when(day))
        for _ in range(rng.choice((0, 1, 1, 2))):
            comment_id += 1
            cu, cname = owner()
            comments.row(Id=comment_id, PostId=pid, Score=rng.randint(0, 3), Text=sentence(rng, rng.randint(8, 25)),
                         CreationDate=when(created + timedelta(hours=rng.randint(1, 200))), UserId=cu,
                         UserDisplayName=cname)

    for q in range(questions):
        qid = post_id + 1
        answer_ids = [qid + 1, qid + 2, qid + 3]
        post_id += 4
        created = EPOCH + timedelta(minutes=30 * q + rng.randint(0, 29))
        accepted = rng.choice(answer_ids) if q % 2 == 0 else None
        qtags = "".join(f"<{t}>" for t in rng.sample(tags, rng.randint(1, 4)))
        ou, oname = owner()
        drawn, score = draw_votes(created)
        posts.row(Id=qid, PostTypeId=1, AcceptedAnswerId=accepted, CreationDate=when(created),
                  Score=score, ViewCount=rng.randint(10, 5000), Body=body(rng), OwnerUserId=ou, OwnerDisplayName=oname,
                  LastActivityDate=when(created + timedelta(days=2)),
                  Title=f"{sentence(rng, rng.randint(6, 11))[:-1]}?", Tags=qtags, AnswerCount=3,
                  CommentCount=0, ContentLicense="CC BY-SA 4.0")
        post_extras(qid, created, drawn)
        for k, aid in enumerate(answer_ids):
            acreated = created + timedelta(hours=k + 1, minutes=rng.randint(0, 59))
            au, aname = owner()
            drawn, score = draw_votes(acreated)
            posts.row(Id=aid, PostTypeId=2, ParentId=qid, CreationDate=when(acreated), Score=score, Body=body(rng),
                      OwnerUserId=au, OwnerDisplayName=aname, LastActivityDate=when(acreated), CommentCount=0,
                      ContentLicense="CC BY-SA 4.0")
            post_extras(aid, acreated, drawn)
            if aid == accepted:
                vote_id += 1
                votes.row(Id=vote_id, PostId=aid, VoteTypeId=1,
                          CreationDate=when(acreated.replace(hour=0, minute=0, second=0, microsecond=0)))
        if q >= 10 and q % 20 == 7:  # a duplicate of an older question
            link_id += 1
            links.row(Id=link_id, CreationDate=when(created + timedelta(days=1)), PostId=qid,
                      RelatedPostId=1 + 4 * rng.randrange(q), LinkTypeId=3)
        elif q >= 10 and q % 20 == 13:
            link_id += 1
            links.row(Id=link_id, CreationDate=when(created + timedelta(days=1)), PostId=qid,
                      RelatedPostId=1 + 4 * rng.randrange(q), LinkTypeId=1)
        if (q + 1) % 10_000 == 0:
            progress(f"  {q + 1:,} questions written ({(q + 1) / (time.perf_counter() - started):,.0f}/s)")
    counts = {}
    for w, name in ((posts, "Posts.xml"), (votes, "Votes.xml"), (comments, "Comments.xml"), (links, "PostLinks.xml"),
                    (users, "Users.xml"), (tagw, "Tags.xml")):
        if name not in ("Users.xml", "Tags.xml"):
            w.close()
        counts[name] = w.rows
    return counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--questions", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    t = time.perf_counter()
    counts = generate(a.out, a.questions, a.seed, progress=lambda m: print(m, file=sys.stderr))
    print(f"wrote {a.out} in {time.perf_counter() - t:.1f}s: "
          + ", ".join(f"{n:,} rows in {name}" for name, n in counts.items()))


if __name__ == "__main__":
    main()
