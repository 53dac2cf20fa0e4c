"""A dump's real tags survive the import (issue 12): letters of every script, `.net` apart from
`net`, `c#` and `c++`; a tag our rule cannot keep is skipped and counted, never changed."""

from __future__ import annotations

import pytest
from sqlmodel import select

from app.questions import service as questions_service
from app.questions.models import Question, Tag
from tests.importer.dumps import Dump
from tests.importer.test_messy_dumps import local
from tests.importer.support import run_import


@pytest.mark.parametrize("tags, kept", [
    ("<größe><þýðingar>", ["grösse", "þýðingar"]),
    ("<роутер><路由器><ルーター>", ["роутер", "路由器", "ルーター"]),
    ("<.net><net><c#><c++>", [".net", "net", "c#", "c++"]),
    ("|asp.net-core|c#-4.0|usb-c|", ["asp.net-core", "c#-4.0", "usb-c"]),
    ("<C#><c#><Роутер>", ["c#", "роутер"]),
])
def test_real_tags_are_kept(db, tmp_path, read, tags, kept):
    d = Dump().user(1, "Alice").question(10, "Router reboots every hour", owner=1, tags=tags)
    d.tag("unused-тег")
    summary = run_import(db, d.write(tmp_path / "d"))
    assert not summary.skipped
    with read() as s:
        qid = local(s, "question", 10)
        assert questions_service.tags_for(s, [qid])[qid] == kept
        assert sorted(s.exec(select(Tag.name)).all()) == sorted([*kept, "unused-тег"])
        assert questions_service.list_questions(s, tag=kept[0]).items[0].id == qid


def test_a_tag_our_rule_cannot_keep_is_skipped_and_counted(db, tmp_path, read):
    d = Dump().user(1, "Alice")
    d.question(10, "Router reboots every hour", owner=1, tags="<router><wi fi?><c--><路由器>")
    d.question(20, "How do I reset the router?", owner=1, tags="<c-->")
    d.tag("router").tag("c--").tag("路由器")
    summary = run_import(db, d.write(tmp_path / "d"))
    why = "tags our tag rule cannot keep, each time one appears (see docs/import.md)"
    assert summary.skipped[why] == 4
    assert any(why in line for line in summary.lines())
    with read() as s:
        q10, q20 = local(s, "question", 10), local(s, "question", 20)
        assert questions_service.tags_for(s, [q10, q20]) == {q10: ["router", "路由器"]}
        assert sorted(s.exec(select(Tag.name)).all()) == ["router", "路由器"]
        assert s.get(Question, q20) is not None


def test_reimporting_into_a_fresh_database_gives_the_real_tags_back(db, tmp_path, read):
    """What docs/import.md promises for tags the old rule mangled: import the dump again into a
    fresh database. Importing twice into the same one adds nothing."""
    d = Dump().user(1, "Alice").question(10, "Router reboots every hour", owner=1, tags="<.net><größe><路由器>")
    folder = d.write(tmp_path / "d")
    run_import(db, folder)
    again = run_import(db, folder)
    assert again.imported["tags"] == 0 and again.already["questions"] == 1
    with read() as s:
        qid = local(s, "question", 10)
        assert questions_service.tags_for(s, [qid])[qid] == [".net", "grösse", "路由器"]
