"""Every logged action reads as a sentence on the Activity page, and the page can filter by it."""

from labelhub_app.pages.activity import ACTION_TITLES
from labelhub_app.services.oplog import ACTIONS, describe


def test_every_action_has_a_filter_title():
    assert set(ACTIONS) <= set(ACTION_TITLES)


def test_campaign_actions_are_described():
    assert describe("campaign_add", {"name": "Dogs"}) == "added to campaign 'Dogs'"
    assert (
        describe("campaign_answer", {"label": "dog", "present": True})
        == "answered in a campaign: shows dog"
    )
    assert describe("campaign_answer", {"boxes": 3}) == "answered in a campaign: 3 box(es)"
    assert (
        describe("consolidate", {"agreement": 0.5, "review": True})
        == "consolidated campaign answers, agreement 50%, sent to review"
    )
