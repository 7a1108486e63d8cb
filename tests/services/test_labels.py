import pytest
from sqlmodel import select

from labelhub_app.errors import Conflict, Forbidden, InvalidInput, NotFound
from labelhub_app.models import Label
from labelhub_app.services import labels
from tests.factories import make_image, make_user


def test_starter_taxonomy_is_coco(session):
    names = {lb.name: lb for lb in session.exec(select(Label))}
    assert len(names) == 91  # 80 categories + 11 supercategories ("person" is both)
    dog, animal = names["dog"], names["animal"]
    assert dog.parent_id == animal.id and dog.coco_id == 18
    assert names["person"].parent_id is None
    assert names["hair drier"].coco_id == 89


@pytest.mark.parametrize(
    ("raw", "norm"),
    [(" Traffic   Light ", "traffic light"), ("DOG", "dog"), ("hot\tdog", "hot dog")],
)
def test_normalise(raw, norm):
    assert labels.normalise_label(raw) == norm


def test_split_labels():
    assert labels.split_labels("dog, Cat ;  red car\ndog,,") == ["dog", "cat", "red car"]


def test_bad_label_names(session):
    with pytest.raises(InvalidInput, match="empty"):
        labels.check_label_name("   ")
    with pytest.raises(InvalidInput, match="too long"):
        labels.check_label_name("x" * 65)
    with pytest.raises(InvalidInput, match="allow"):
        labels.check_label_name("<script>")


def test_producer_adds_label_under_parent(session):
    producer = make_user(session, "producer")
    poodle = labels.create_label(session, actor=producer, name=" Poodle ", parent="DOG")
    assert poodle.name == "poodle"
    assert labels.label_path(session, poodle) == ["animal", "dog", "poodle"]
    with pytest.raises(Conflict):
        labels.create_label(session, actor=producer, name="poodle")
    with pytest.raises(NotFound):
        labels.create_label(session, actor=producer, name="husky", parent="wolfdog")
    with pytest.raises(Forbidden):
        labels.create_label(session, actor=make_user(session, "consumer"), name="beagle")


def test_descendants(session):
    producer = make_user(session, "producer")
    labels.create_label(session, actor=producer, name="poodle", parent="dog")
    tree = labels.label_tree(session)
    animal = labels.get_label(session, "animal")
    ids = labels.with_descendants(tree, animal.id)
    names = {session.get(Label, i).name for i in ids}
    assert {"animal", "dog", "cat", "poodle"} <= names and "car" not in names


def test_autocomplete_prefix_first_then_contains_most_used_first(session):
    producer = make_user(session, "producer")
    make_image(session, producer, labels=("car",))
    assert (
        labels.suggest_labels(session, prefix="Ca")[:2] == ["car", "cake"]
        or labels.suggest_labels(session, prefix="Ca")[0] == "car"
    )
    got = labels.suggest_labels(session, prefix="ca")
    assert all("ca" in g for g in got)
    assert got.index("car") < got.index("cat")  # used label first among prefix matches
    prefix = [g for g in got if g.startswith("ca")]
    assert (
        got[: len(prefix)] == prefix
    )  # prefix matches before containing ones ("bicycle" has no "ca")
    assert labels.suggest_labels(session, prefix="") == []
    assert labels.suggest_labels(session, prefix="%") == []


def test_taxonomy_tree_with_counts(session):
    producer = make_user(session, "producer")
    labels.create_label(session, actor=producer, name="poodle", parent="dog")
    make_image(session, producer, labels=("poodle",))
    make_image(session, producer, labels=("dog", "brand new"))
    tree = {n.name: n for n in labels.taxonomy(session)}
    assert len(tree["vehicle"].children) == 8 and "brand new" in tree
    dog = next(c for c in tree["animal"].children if c.name == "dog")
    assert (dog.images, dog.total_images, [c.name for c in dog.children]) == (1, 2, ["poodle"])
    assert tree["animal"].total_images == 2
