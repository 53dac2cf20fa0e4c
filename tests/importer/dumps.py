"""Build small Stack Exchange data dumps for the importer tests, written the way real dumps are:
a UTF-8 BOM, an XML declaration, CRLF line ends, one self-closed <row> per line, every value in an
attribute (HTML escaped as entities, newlines as &#xA;, other control characters as character
references)."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

SITE = "example.stackexchange.com"
DAY = "2021-03-0{}T10:00:00.000"
FILES = {"Users.xml": "users", "Posts.xml": "posts", "Votes.xml": "votes", "Comments.xml": "comments",
         "PostLinks.xml": "postlinks", "Tags.xml": "tags"}


def escape(value) -> str:
    s = str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    return re.sub(r"[\x00-\x1f]", lambda m: f"&#x{ord(m.group()):X};", s)


def row(attrs: dict) -> str:
    return "  <row " + " ".join(f'{k}="{escape(v)}"' for k, v in attrs.items() if v is not None) + " />"


def write_file(path: Path, root: str, rows: list[dict]) -> Path:
    text = '<?xml version="1.0" encoding="utf-8"?>\r\n' + f"<{root}>\r\n"
    text += "".join(row(r) + "\r\n" for r in rows) + f"</{root}>"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    return path


class Dump:
    """A dump described in Python; `write(folder)` produces the XML files."""

    def __init__(self) -> None:
        self.users: list[dict] = []
        self.posts: list[dict] = []
        self.votes: list[dict] = []
        self.comments: list[dict] = []
        self.postlinks: list[dict] = []
        self.tags: list[dict] = []
        self._vote_ids = itertools.count(1)
        self._comment_ids = itertools.count(1)
        self._link_ids = itertools.count(1)

    # --- rows ------------------------------------------------------------------------------------

    def user(self, id: int, name: str, reputation: int = 1, created: str = "2020-01-01T08:00:00.000", **extra):
        self.users.append({"Id": id, "Reputation": reputation, "CreationDate": created, "DisplayName": name,
                           "LastAccessDate": created, "AboutMe": "<p>Hi,\nI fix routers.</p>", "Views": 3,
                           "UpVotes": 0, "DownVotes": 0, "AccountId": 1000 + id, **extra})
        return self

    def question(self, id: int, title: str, body: str = "<p>My router reboots.</p>\n", owner: int | None = None,
                 tags: str = "<router>", accepted: int | None = None, created: str = "2021-01-01T09:00:00.000",
                 **extra):
        self.posts.append({"Id": id, "PostTypeId": 1, "AcceptedAnswerId": accepted, "CreationDate": created,
                           "Score": 999, "ViewCount": 10, "Body": body, "OwnerUserId": owner,
                           "LastActivityDate": created, "Title": title, "Tags": tags, "AnswerCount": 7,
                           "CommentCount": 0, "ContentLicense": "CC BY-SA 4.0", **extra})
        return self

    def answer(self, id: int, parent: int | None, body: str = "<p>Update the firmware.</p>\n",
               owner: int | None = None, created: str = "2021-01-02T09:00:00.000", **extra):
        self.posts.append({"Id": id, "PostTypeId": 2, "ParentId": parent, "CreationDate": created, "Score": 999,
                           "Body": body, "OwnerUserId": owner, "LastActivityDate": created, "CommentCount": 0,
                           "ContentLicense": "CC BY-SA 4.0", **extra})
        return self

    def post(self, **attrs):
        self.posts.append(attrs)
        return self

    def vote(self, post: int, type: int = 2, date: str = "2021-02-01T00:00:00.000", id: int | None = None, **extra):
        self.votes.append({"Id": id or next(self._vote_ids), "PostId": post, "VoteTypeId": type,
                           "CreationDate": date, **extra})
        return self

    def upvotes(self, post: int, n: int, date: str = "2021-02-01T00:00:00.000"):
        for _ in range(n):
            self.vote(post, 2, date)
        return self

    def downvotes(self, post: int, n: int, date: str = "2021-02-01T00:00:00.000"):
        for _ in range(n):
            self.vote(post, 3, date)
        return self

    def comment(self, post: int, text: str, user: int | None = None, id: int | None = None,
                created: str = "2021-01-03T09:00:00.000", **extra):
        self.comments.append({"Id": id or next(self._comment_ids), "PostId": post, "Score": 0, "Text": text,
                              "CreationDate": created, "UserId": user, **extra})
        return self

    def link(self, post: int, related: int, type: int = 1, id: int | None = None):
        self.postlinks.append({"Id": id or next(self._link_ids), "CreationDate": "2021-01-05T09:00:00.000",
                               "PostId": post, "RelatedPostId": related, "LinkTypeId": type})
        return self

    def tag(self, name: str, count: int = 0, id: int | None = None):
        self.tags.append({"Id": id or len(self.tags) + 1, "TagName": name, "Count": count})
        return self

    # --- files -----------------------------------------------------------------------------------

    def write(self, folder: Path, files: tuple[str, ...] | None = None) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        for name, root in FILES.items():
            if files is None or name in files:
                write_file(folder / name, root, getattr(self, root))
        return folder


def standard() -> Dump:
    """A small, clean site: three users, three questions, answers, an acceptance, comments, votes, links."""
    d = Dump()
    d.user(1, "Alice Asker", reputation=54321).user(2, "Bob Builder", reputation=777).user(3, "Chloé Ng")
    d.question(10, "Router reboots every hour", owner=1, tags="<Wi_Fi><router><wi-fi>", accepted=11,
               body="<p>My <strong>router</strong> reboots &amp; drops.</p>\n<script>alert('x')</script>\n"
                    "<pre><code>uptime: 59 min\n</code></pre>\n")
    d.answer(11, 10, owner=2, body="<p>Update the <em>firmware</em>.</p>\n")
    d.answer(12, 10, owner=3, body="<p>Replace the power supply.</p>\n", created="2021-01-02T10:00:00.000")
    d.question(20, "How do I reset the router?", owner=3, tags="|router|reset|", created="2021-01-04T09:00:00.000")
    d.answer(21, 20, owner=2, created="2021-01-04T10:00:00.000")
    d.question(30, "Router keeps rebooting", owner=2, tags="<router>", created="2021-01-05T09:00:00.000")
    d.comment(10, "Which model is it?", user=2).comment(11, "That worked, thanks!", user=1)
    d.comment(12, "Not for me.\nStill reboots.", user=1)
    d.upvotes(10, 2, "2021-02-01T00:00:00.000").downvotes(10, 1, "2021-02-02T00:00:00.000")
    d.upvotes(11, 3, "2021-02-03T00:00:00.000").downvotes(11, 1, "2021-02-04T00:00:00.000")
    d.downvotes(12, 2, "2021-02-05T00:00:00.000").upvotes(12, 1, "2021-02-06T00:00:00.000")
    d.vote(11, 1, "2021-01-03T00:00:00.000")  # acceptance (from AcceptedAnswerId instead)
    d.link(30, 10, type=3)  # 30 is a duplicate of 10
    d.link(20, 10, type=1)  # related
    d.tag("router", 3).tag("wi-fi", 1).tag("reset", 1).tag("unused-tag", 0)
    return d
