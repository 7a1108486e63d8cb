"""The acceptance flow: a producer uploads and labels images; a consumer finds, buys, downloads."""

from __future__ import annotations

import csv
import io
import json
import random
import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from labelhub_app.config import Settings
from tests.browser.flows import nav, open_page, path_is, sign_up, unique
from tests.images import broken_jpeg, make_jpeg

pytestmark = pytest.mark.browser

PRICE = "3.50"
# the welcome credit of a new consumer (the app runs without LABELHUB_* overrides: 100.00)
WELCOME = Settings.model_fields["demo_credits_cents"].default


def _write_images(folder: Path) -> list[Path]:
    seed = random.randrange(1 << 30)  # the app's database outlives one test: no exact duplicates
    paths = []
    for i in range(3):
        path = folder / f"photo-{i + 1}.jpg"
        path.write_bytes(make_jpeg(320, 240, seed=seed + i))
        paths.append(path)
    broken = folder / "broken.jpg"
    broken.write_bytes(broken_jpeg(320, 240, seed=seed + 3))
    return [*paths, broken]


def _producer_uploads(page: Page, shot, files: list[Path], tag: str) -> str:  # type: ignore[no-untyped-def]
    """Sign up as a producer, upload four files (one broken); returns the producer's pseudonym."""
    sign_up(page, name="Pia Producer", email=f"{unique('pia')}@example.com")
    expect(page).to_have_url(path_is("/dashboard"))
    expect(page.get_by_text("No images yet")).to_be_visible()
    shot(page, "01-dashboard-empty")
    pseudonym = page.locator("p", has_text="Signed in as").locator("strong").inner_text().strip()
    assert pseudonym

    nav(page, "Upload")
    expect(page).to_have_url(path_is("/upload"))
    page.locator("#upload input[type=file]").set_input_files([str(p) for p in files])
    expect(page.locator(".selected-file")).to_have_count(4)

    # the batch label, through the picker's autocomplete
    picker = page.locator("#batch-labels")
    picker.click()
    picker.press_sequentially("do")
    expect(page.locator(".label-suggestion", has_text="dog").first).to_be_visible()
    picker.press_sequentially("g")
    picker.press("Enter")
    chips = page.locator("#batch-labels").locator("xpath=..")
    expect(chips).to_contain_text("dog")
    expect(page.locator(".label-suggestion")).to_have_count(0)

    # labels per file: the first two get the search tag, the first also "frisbee"
    per_file = {"photo-1.jpg": f"frisbee, {tag}", "photo-2.jpg": tag, "photo-3.jpg": "grass"}
    for name, text in per_file.items():
        field = page.get_by_label(f"labels for {name}")
        field.fill(text)
        expect(field).to_have_value(text)
    page.fill("#price", PRICE)
    page.locator("#price").blur()
    shot(page, "02-upload-selected")

    page.click("#start-upload")
    summary = page.locator("#upload-summary")
    expect(summary).to_contain_text("3 of 4", timeout=60_000)
    expect(page.locator(".file-error")).to_have_count(1)
    expect(page.locator(".file-error")).to_contain_text("broken.jpg")
    shot(page, "03-upload-done")

    page.get_by_role("link", name="Go to dashboard").click()
    rows = page.locator(".own-row")
    expect(rows).to_have_count(3)
    expected = {
        "photo-1.jpg": {"dog", "frisbee", tag},
        "photo-2.jpg": {"dog", tag},
        "photo-3.jpg": {"dog", "grass"},
    }
    for name, labels in expected.items():
        row = rows.filter(has=page.locator(".own-name", has_text=name))
        expect(row).to_have_count(1)
        chips_text = {t.strip() for t in row.locator(".own-labels .rt-Badge").all_inner_texts()}
        assert chips_text == labels, (name, chips_text)
        expect(row.locator(".own-price")).to_have_text(PRICE)
    shot(page, "04-dashboard-images")
    return pseudonym


def _consumer_buys(page: Page, shot, tag: str) -> str:  # type: ignore[no-untyped-def]
    """Sign up as a consumer, find the two tagged images, double-click Buy; returns the project."""
    sign_up(
        page,
        name="Cato Consumer",
        email=f"{unique('cato')}@example.com",
        producer=False,
        consumer=True,
    )
    expect(page).to_have_url(path_is("/"))

    search = page.locator("#market-search")
    search.click()
    search.press_sequentially(tag)
    search.press("Enter")
    expect(page.locator("#result-total")).to_have_text("2")
    cards = page.locator(".image-card")
    expect(cards).to_have_count(2)
    expect(cards.filter(has_text="photo-1.jpg")).to_have_count(1)
    expect(cards.filter(has_text="photo-2.jpg")).to_have_count(1)
    shot(page, "05-market-search")

    boxes = page.locator(".select-image")
    expect(boxes).to_have_count(2)
    boxes.nth(0).click()
    boxes.nth(1).click()
    expect(page.get_by_text("2 selected")).to_be_visible()

    project = unique("Dogs dataset ")
    page.click("#new-project")
    page.fill("#new-project-name", project)
    page.click("#create-project")
    expect(page.locator("#new-project-name")).to_have_count(0)  # the popover has closed
    expect(page.locator("#target-project")).to_contain_text(project)
    buy = page.locator("#buy-selected")
    expect(buy).to_be_enabled()
    shot(page, "06-market-selection")

    buy.dblclick()  # a double click must buy once
    notice = page.locator("#market-notice")
    expect(notice).to_contain_text("Bought 2 image(s)")
    expect(page.locator(".owned-badge")).to_have_count(2)
    return project


def test_producer_sells_consumer_buys_and_downloads(new_page, shot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    tag = unique("ball-")
    files = _write_images(tmp_path)
    producer = new_page()
    open_page(producer, "/signup")
    shot(producer, "00-signup")
    pseudonym = _producer_uploads(producer, shot, files, tag)

    consumer = new_page()
    project = _consumer_buys(consumer, shot, tag)

    # one charge, however many clicks
    nav(consumer, "Purchases")
    expect(consumer).to_have_url(path_is("/purchases"))
    rows = consumer.locator(".purchase-row")
    expect(rows).to_have_count(2)
    price_cents = round(float(PRICE) * 100)
    balance = f"{(WELCOME - 2 * price_cents) / 100:,.2f}"
    expect(consumer.locator(".rt-Card", has_text="Balance")).to_contain_text(balance)
    expect(consumer.locator(".rt-Card", has_text="Spent")).to_contain_text(
        f"{2 * price_cents / 100:,.2f}"
    )
    shot(consumer, "07-purchases")

    nav(consumer, "Projects")
    expect(consumer).to_have_url(path_is("/projects"))
    consumer.locator(".project-name", has_text=project).click()
    expect(consumer.locator("#project-title")).to_have_text(project)
    expect(consumer.locator(".image-card")).to_have_count(2)
    shot(consumer, "08-project")
    with consumer.expect_download() as info:
        consumer.click("#download-zip")
    download = info.value
    zip_path = tmp_path / "dataset.zip"
    download.save_as(zip_path)
    assert download.suggested_filename.startswith("labelhub-")

    with zipfile.ZipFile(zip_path) as zf:
        names = zf.namelist()
        images = sorted(n for n in names if n.startswith("images/") and not n.endswith("/"))
        assert images == ["images/photo-1.jpg", "images/photo-2.jpg"], names
        assert "LICENSE.txt" in names
        assert zf.read("LICENSE.txt").strip()
        coco = json.loads(zf.read("annotations/coco.json"))
        manifest = list(csv.DictReader(io.StringIO(zf.read("manifest.csv").decode("utf-8"))))

    assert sorted(i["file_name"] for i in coco["images"]) == ["photo-1.jpg", "photo-2.jpg"]
    categories = {c["id"]: c["name"] for c in coco["categories"]}
    per_image = {i["id"]: set() for i in coco["images"]}
    for link in coco["image_labels"]:
        per_image[link["image_id"]].add(categories[link["category_id"]])
    by_name = {i["file_name"]: i for i in coco["images"]}
    assert {"dog", "frisbee", tag} <= per_image[by_name["photo-1.jpg"]["id"]]
    assert {"dog", tag} <= per_image[by_name["photo-2.jpg"]["id"]]
    assert "frisbee" not in per_image[by_name["photo-2.jpg"]["id"]]
    assert {"dog", "frisbee", tag} <= set(by_name["photo-1.jpg"]["labels"])

    assert len(manifest) == 2
    assert sorted(r["file"] for r in manifest) == images
    assert {r["producer"] for r in manifest} == {pseudonym}
    assert {r["price_cents"] for r in manifest} == {str(price_cents)}
    assert all(tag in r["labels"].split(";") for r in manifest)
