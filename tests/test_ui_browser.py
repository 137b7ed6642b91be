"""The app end to end in headless Debian Chromium (Playwright): chat → marker → highlighted source,
saved conversations across a reload, deleting a proposal, the outline tab, the eval tab's one
progress bar, a bad upload, the empty-index offer, and source text that must stay text.

Screenshots go to ``artifacts/ui/``.
"""
from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.browser]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SHOTS = ROOT / "artifacts" / "ui"
WAIT_MS = 90_000

EVIL_ID = "20259901"
EVIL = f"""案由:({EVIL_ID})关于网页<b>粗体</b>标记原样显示的建议
内容:
  有的材料里夹带了<script>window.__pwned=1</script>脚本和<b>粗体</b>标记,还有<img src=x onerror="window.__pwned=2">图片。
建议:
  一、提案原文中的<b>粗体</b>标记应当按原样显示,不得当作网页代码执行。
提案者 测试员
部门答复
市政务服务数据管理局
尊敬的测试员委员:
  您提出的关于网页标记原样显示的建议收悉。我局已要求系统对<script>window.__pwned=3</script>等内容一律按文字显示。
办理单位 市政务服务数据管理局
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, assistant):
        from evals.api import Evaluations
        from ui.app import build_app, launch

        self.demo = build_app(assistant, evaluations=Evaluations())
        self.port = free_port()
        launch(self.demo, host="127.0.0.1", port=self.port, block=False, quiet=True)
        self.url = f"http://127.0.0.1:{self.port}/"

    def close(self) -> None:
        self.demo.close()


@pytest.fixture(scope="module")
def samples_app(sample_assistant):
    s = Server(sample_assistant)
    yield s
    s.close()


@pytest.fixture(scope="module")
def empty_app(tmp_path_factory, make_settings, sample_assistant):
    """An empty index. ``sample_assistant`` puts the samples' vectors in the shared embedding
    cache first, so that 载入示例提案 here embeds nothing and stays within the page's wait."""
    from rag.answer.assistant import Assistant

    s = Server(Assistant(make_settings(tmp_path_factory.mktemp("ui-empty")), answerer="extractive"))
    yield s
    s.close()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed (apt-get install chromium fonts-wqy-zenhei)")
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    """A fresh browser session; every request off loopback is blocked and recorded."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    ctx.grant_permissions(["clipboard-read", "clipboard-write"])
    pg = ctx.new_page()
    pg.set_default_timeout(WAIT_MS)
    pg.external = []  # type: ignore[attr-defined]

    def route(r):
        url = r.request.url
        if url.startswith(("http://127.0.0.1", "data:", "blob:")):
            r.continue_()
        else:
            pg.external.append(url)  # type: ignore[attr-defined]
            r.abort()

    ctx.route("**/*", route)
    yield pg
    ctx.close()


def open_app(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("#question textarea")
    page.wait_for_selector("#app-header .stats")


def ask(page, question: str) -> None:
    n = page.locator("#transcript .bubble.question").count()
    page.fill("#question textarea", question)
    page.click("#send")
    page.wait_for_function(
        "n => document.querySelectorAll('#transcript .turn').length > n && "
        "!document.querySelector('#transcript .bubble.pending')", arg=n)


def shot(page, name: str) -> Path:
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def test_chat_marker_opens_the_highlighted_paragraph(samples_app, page):
    open_app(page, samples_app.url)
    assert "离线抽取式" in page.inner_text("#mode-badge")
    ask(page, "加装电梯的市级补贴标准现在是每台多少钱？")
    answer = page.locator("#transcript .bubble.answer").last
    assert "15万元" in answer.inner_text()
    marker = answer.locator("button.cite").first
    chunk_id = marker.get_attribute("data-chunk")
    quote = page.evaluate("""id => [...document.querySelectorAll('#transcript .source-card')]
                             .find(c => c.dataset.chunk === id).querySelector('.card-quote').textContent""", chunk_id)
    marker.click()
    mark = page.locator("#source mark")
    mark.wait_for()
    assert f"「{mark.inner_text()}」" == quote  # exactly the cited words are highlighted
    assert mark.is_visible() and mark.evaluate("m => getComputedStyle(m).backgroundColor") != "rgba(0, 0, 0, 0)"
    head = page.inner_text("#source .focus-head")
    assert "20220239" in head and "市财政局" in head and "2022年" in head and "部门答复" in head
    # the mark is inside the cited paragraph, inside that department's reply section
    section = mark.evaluate("m => m.closest('section').querySelector('h4').textContent")
    assert section == "部门答复 · 市财政局"
    # the sticky header sits above the paragraph it scrolled to, never over its first line
    gap = page.evaluate("""() => {
        const h = document.querySelector('#source .focus-head').getBoundingClientRect();
        const p = document.querySelector('#source .para.cited').getBoundingClientRect();
        return p.top - h.bottom; }""")
    assert gap >= 0, gap
    shot(page, "chat-source")

    # a source card opens the same way; a follow-up keeps the conversation of this session
    ask(page, "那市住建局是怎么答复的？")
    assert page.locator("#transcript .bubble.question").count() == 2
    last = page.locator("#transcript .turn").last
    card = last.locator(".source-card").first
    card.click()
    page.wait_for_function("id => document.querySelector('#source .para.cited') && "
                           "document.querySelector('#source .proposal').dataset.proposal === id.split(':')[0]",
                           arg=card.get_attribute("data-chunk"))

    # copy answer with sources
    last.locator("button.copy-answer").click()
    clip = page.evaluate("navigator.clipboard.readText()")
    assert "来源：" in clip and "[1] 提案" in clip
    assert page.external == [], page.external  # type: ignore[attr-defined]


def test_empty_question_and_refusal(samples_app, page):
    open_app(page, samples_app.url)
    page.click("#send")
    page.get_by_text("请先输入问题").first.wait_for()
    # one toast, headed in Chinese; no error badge on the transcript or over the input box
    head = page.locator(".toast-title").first
    assert head.evaluate("e => getComputedStyle(e, '::before').content") == '"提示"'
    assert head.evaluate("e => getComputedStyle(e).fontSize") == "0px"  # the English level name is not drawn
    assert page.locator("#question .error, #transcript .error, #send .error").count() == 0
    assert page.locator("#question textarea").is_enabled() and page.locator(".toast-body").count() == 1
    shot(page, "chat-empty-question")
    ask(page, "火星移民基地的建设预算是多少？")
    bubble = page.locator("#transcript .turn").last
    assert bubble.locator(".bubble.refusal").count() == 1 and bubble.locator(".bubble.answer").count() == 0
    style = bubble.locator(".bubble.refusal").evaluate("b => getComputedStyle(b).borderStyle")
    assert style == "dashed"
    shot(page, "chat-refusal")


def test_outline_tab_cites_precedents_and_downloads_markdown(samples_app, page):
    task = json.loads((ROOT / "evals" / "datasets" / "samples" / "outlines.jsonl").read_text(encoding="utf-8")
                      .splitlines()[0])
    open_app(page, samples_app.url)
    page.get_by_role("tab", name="答复提纲").click()
    page.fill("#outline-text textarea", task["new_proposal"])
    page.fill("#outline-department input", task["department"])
    page.click("#outline-go")
    cite = page.locator("#outline-out button.cite").first
    cite.wait_for()
    shown = page.inner_text("#outline-out")
    assert "答复提纲" in shown
    # the reply's structure is on screen, in order, and the markers count up as one reads
    parts = ["尊敬的", "一、办理工作举措及成效", "二、下一步工作计划", "感谢"]
    assert [shown.index(p) for p in parts] == sorted(shown.index(p) for p in parts)
    seen = [int(m) for m in page.eval_on_selector_all("#outline-out button.cite", "bs => bs.map(b => b.textContent.slice(1, -1))")]
    first = list(dict.fromkeys(seen))
    assert first == sorted(first) and first[0] == 1, seen
    cite.click()
    page.locator("#outline-source mark").wait_for()
    with page.expect_download() as dl:
        page.locator("#outline-md a").first.click()
    text = Path(dl.value.path()).read_text(encoding="utf-8")
    assert text.startswith("# 关于《") and "## 二、下一步工作计划" in text
    shot(page, "outline")


def test_empty_index_offers_samples_then_uploads_and_escapes_markup(empty_app, page, tmp_path):
    open_app(page, empty_app.url)
    page.locator("#no-index-notice").wait_for(state="visible")
    ask(page, "加装电梯补贴多少？")
    assert "提案库还是空的" in page.locator("#transcript .bubble.error").inner_text()
    page.click("#load-samples")
    page.wait_for_function("document.querySelector('#app-header .stats').textContent.includes('13 件')")
    page.locator("#no-index-notice").wait_for(state="hidden")

    # a bad upload and a proposal full of markup, in one go
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "evil.txt").write_text(EVIL, encoding="utf-8")
    page.get_by_role("tab", name="资料库").click()
    page.set_input_files("#upload input[type=file]", [str(tmp_path / "empty.txt"), str(tmp_path / "evil.txt")])
    page.click("#ingest")
    errors = page.locator("#ingest-errors table")
    errors.wait_for()
    assert "empty.txt" in errors.inner_text() and "文件是空的" in errors.inner_text()
    assert "evil.txt" not in errors.inner_text()
    summary = page.inner_text("#ingest-summary")
    assert "2 个文件：1 个导入成功，1 个失败；共 1 件提案（新增 1 件" in summary, summary
    page.wait_for_function("!document.querySelector('#upload').innerText.includes('evil.txt')")  # box emptied
    shot(page, "upload-errors")

    page.get_by_role("tab", name="提案").click()
    page.fill("#browse-query textarea", EVIL_ID)
    page.click("#browse-search")
    row = page.locator(f'#proposal-list tr[data-pid="{EVIL_ID}"]')
    row.click()
    view = page.locator("#proposal-view .proposal")
    view.wait_for()
    text = view.inner_text()
    assert "<b>粗体</b>" in text and "<script>window.__pwned=1</script>" in text and "<img src=x" in text
    assert view.locator("b, script, img").count() == 0
    shot(page, "escaped-source")

    page.get_by_role("tab", name="问答").click()
    ask(page, "提案原文中的粗体标记应当怎样显示？")
    cite = page.locator("#transcript .turn").last.locator(f'button.cite[data-chunk^="{EVIL_ID}"]').first
    cite.click()
    page.locator("#source mark").wait_for()
    assert page.locator("#transcript b, #transcript img, #source b, #source img").count() == 0
    time.sleep(0.5)  # an onerror handler would have fired by now
    assert page.evaluate("window.__pwned") is None
    assert page.external == [], page.external  # type: ignore[attr-defined]



# ---- saved conversations, deleting a proposal, the eval tab ---------------------------------
@pytest.fixture(scope="module")
def removal_app(tmp_path_factory, make_settings):
    """Its own copy of the samples, so that deleting one leaves the other tests' index alone."""
    from rag.answer.assistant import Assistant
    from tests.conftest import SAMPLES

    a = Assistant(make_settings(tmp_path_factory.mktemp("ui-removal")), answerer="extractive")
    assert a.ingest([SAMPLES]).ok
    s = Server(a)
    yield s
    s.close()


def test_reload_restores_the_conversation(samples_app, page):
    open_app(page, samples_app.url)
    ask(page, "加装电梯的市级补贴标准现在是每台多少钱？")
    page.wait_for_function("document.querySelector('#conv-list .conv.current')")
    cid = page.get_attribute("#conv-list .conv.current", "data-cid")
    page.reload()
    open_app(page, samples_app.url)
    page.wait_for_function("document.querySelectorAll('#transcript .bubble.answer').length === 1")
    assert "15万元" in page.inner_text("#transcript .bubble.answer")
    assert page.get_attribute("#conv-list .conv.current", "data-cid") == cid
    page.locator("#transcript button.cite").first.click()  # citations still open their paragraph
    page.locator("#source mark").wait_for()
    shot(page, "conversation-reloaded")

    page.fill("#conv-title input", "电梯补贴标准")
    page.click("#conv-rename")
    page.wait_for_function("document.querySelector('#conv-list .conv.current').textContent.includes('电梯补贴标准')")
    page.click("#conv-export")
    with page.expect_download() as dl:
        page.locator("#conv-export-file a").first.click()
    md = Path(dl.value.path()).read_text(encoding="utf-8")
    assert md.startswith("# 电梯补贴标准") and "**来源**" in md and "「" in md

    page.click("#new-chat")
    page.wait_for_function("document.querySelector('#transcript .transcript.empty')")
    page.locator(f'#conv-list .conv[data-cid="{cid}"]').click()
    page.wait_for_function("document.querySelectorAll('#transcript .bubble.answer').length === 1")
    page.click("#conv-delete")
    page.wait_for_function(f"!document.querySelector('#conv-list .conv[data-cid=\"{cid}\"]')")
    page.reload()
    open_app(page, samples_app.url)
    assert page.locator("#transcript .bubble.question").count() == 0  # a deleted conversation stays gone


def test_delete_removes_a_proposal_from_answers(removal_app, page):
    open_app(page, removal_app.url)
    q = "加装电梯的市级补贴标准现在是每台多少钱？"
    ask(page, q)
    assert page.locator('#transcript button.cite[data-chunk^="20220239:"]').count() > 0
    page.get_by_role("tab", name="资料库").click()
    page.locator('#library-list button.remove[data-remove="20220239"]').click()
    confirm = page.locator("#library-view .remove-confirm")
    confirm.wait_for()
    assert "20220239" in confirm.inner_text()
    shot(page, "library-confirm-delete")
    confirm.locator("button[data-confirm]").click()
    page.wait_for_function("document.querySelector('#library-status').textContent.includes('已删除提案 20220239')")
    page.wait_for_function("!document.querySelector('#library-list tr[data-pid=\"20220239\"]')")
    page.wait_for_function("document.querySelector('#app-header .stats').textContent.includes('12 件')")
    shot(page, "library-deleted")
    page.get_by_role("tab", name="问答").click()
    ask(page, q)
    last = page.locator("#transcript .turn").last
    assert last.locator('[data-chunk^="20220239:"], [data-pid="20220239"]').count() == 0
    assert "20220239" not in last.inner_text()


def test_eval_tab_shows_one_progress_bar_in_chinese(samples_app, page):
    open_app(page, samples_app.url)
    page.get_by_role("tab", name="评测").click()
    page.click("#eval-run")
    seen: list[tuple[int, str]] = []
    deadline = time.time() + 900
    while time.time() < deadline and not page.locator("#eval-summary .metric").count():
        bars = page.evaluate("""() => [...document.querySelectorAll('.progress-bar-wrap, .eta-bar')]
                                 .filter(e => e.getBoundingClientRect().width > 0).length""")
        text = " ".join(page.eval_on_selector_all(".progress-text, .progress-level", "es => es.map(e => e.textContent)"))
        if bars:
            seen.append((bars, text))
            if len(seen) == 3:
                shot(page, "eval-progress")
        time.sleep(0.3)
    assert page.locator("#eval-summary .metric").count() > 0
    assert seen, "a progress bar was shown while the eval ran"
    assert max(n for n, _ in seen) == 1, seen
    assert not [t for _, t in seen if "steps" in t or "ingest" in t or "grade" in t], seen
    assert page.locator("#eval-summary .metric-help").count() == page.locator("#eval-summary .metric").count()
    shot(page, "eval-done")
