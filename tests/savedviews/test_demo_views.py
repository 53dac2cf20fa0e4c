"""The demo community's saved views: the agent's escalation columns (one shared with the staff
team) and the helper's product and tag columns, each with questions to show."""

from __future__ import annotations

from sqlmodel import Session, select

from app.accounts.models import User
from app.savedviews import service as saved_views


def test_the_demo_has_views_for_the_agent_and_the_helper(clean_engine, demo_community):
    with Session(clean_engine) as s:
        people = {u.username: u for u in s.exec(select(User).where(User.username.in_(
            ["lena_kestrel", "raj_builds", "tomas_kestrel"]))).all()}
        lena, raj = people["lena_kestrel"], people["raj_builds"]
        assert [v.name for v in saved_views.own_views(s, lena)] == [
            "Unresolved escalations", "Due within a day", "Many have it too"]
        assert [v.name for v in saved_views.own_views(s, raj)] == ["Dock Pro, unanswered", "Wi-Fi, unsolved"]
        for who in (lena, raj):
            for view in saved_views.own_views(s, who):
                assert saved_views.count(s, actor=who, row=view) > 0, view.name
        if "tomas_kestrel" in people:
            assert [v.name for v in saved_views.shared_with(s, people["tomas_kestrel"])] == ["Unresolved escalations"]
