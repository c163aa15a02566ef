"""The Chinese lesson 3 (``notebooks/zh/03_chat_room.ipynb``) in a real JupyterLab, in Chinese.

A Chinese-speaking learner opens the twin of the chat-room lesson in a JupyterLab whose
menus are Chinese (the ``lab_zh`` fixture), in a browser whose language is zh-CN, and runs
every cell. What they must see:

* the panels speak Chinese: buttons, the box's placeholder and hint, the readyState in
  the header, and the system lines (welcome, join, "the server went away");
* the panels still chat, both ways, with lines typed in the browser;
* an exercise's check answers in Chinese: "not attempted yet" after the run, a ✓ for a
  right answer, a ✗ with a Chinese hint for a wrong one;
* Chinese glyphs really render: the fonts have the characters (no blank, no tofu boxes).

The expected strings are the kit's catalog (``labkit/locale/zh_CN/LC_MESSAGES/labkit.po``)
written out, so a change of wording there shows here as a failure to look at.

Screenshots: ``artifacts/zh-03_chat_room.png`` (the whole notebook after the run),
``artifacts/zh-03_chat_room-panels.png`` (the three panels after chatting) and
``artifacts/zh-03_chat_room-feedback.png`` (the exercises with their feedback).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from .helpers import _FIND_PANEL, Lab, code_cell_index, run_cell, run_notebook, screenshot_notebook

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

NOTEBOOK = "zh/03_chat_room.ipynb"
PANEL = ".labkit-chat-panel"
NAMES = ("alice", "bob", "carol")
#: The room's cell: the first code cell holding this (section 8's cell holds it too, further down).
SERVER_CELL = "room_server = labkit.start(labkit.chat_app())"
PANELS_CELL = 'alice = labkit.ChatPanel(room_server, name="alice")'

# --- the kit's Chinese, from the catalog ---------------------------------------------------

#: Buttons, placeholder and hint of every panel (labkit/widgets/controls.py, panel.py).
SEND = "发送"
CONNECT = "连接"
DISCONNECT = "断开连接"
CLEAR = "清空"
PLACEHOLDER = "输入消息"
HINT = "按回车发送 · /msg 用户名 内容：私信"
#: What a panel's header shows for a readyState (labkit/widgets/render.py).
STATE_SHOWN = {"OPEN": "已连接 OPEN", "CLOSED": "已关闭 CLOSED"}
#: System lines (labkit/widgets/messages.py, reconnect.py).
WELCOME_ALICE = "欢迎你，alice！"  # how alice's welcome starts
CAROL_JOINED = "carol 加入了聊天室（3 人在线）"
GAVE_UP = "服务器已断开"  # how "the server went away: nothing is listening at …" starts
NOT_LISTENING = "上没有服务在监听：服务器在运行吗？（labkit.running()）"  # after "{url}"
#: Exercise feedback (labkit/exercises/display.py, lesson3.py).
TODO = "尚未作答"
CORRECT = "正确！"
WRONG = "还不对"
HINT_LABEL = "提示："
RECIPIENTS_OK = "除发送者以外的所有人，顺序不变，members 也保持原样。"  # ex.check.recipients
#: The chat page, in a zh-CN browser (labkit/chat/page_text.py).
PAGE_JOIN = "加入"
VISITOR = "小明"
VISITOR_JOINED = "小明 加入了聊天室（4 人在线）"

#: What the learner types, in the panels and in the exercises.
FROM_ALICE = "大家好，我是 alice：在浏览器里输入的"
FROM_BOB = "收到！你好，alice"
FROM_VISITOR = "你好，我在聊天室的页面上"
TO_VISITOR = "欢迎小明！"
RIGHT_RECIPIENTS = """\
def recipients(sender, members):
    return [member for member in members if member != sender]"""
#: Wrong on purpose: a name taken in another case ("ALICE") is let in.
WRONG_JOIN_LEAVE = """\
def on_join(users, name):
    if name in users:
        return False
    users.append(name)
    return True


def on_leave(users, name):
    if name in users:
        users.remove(name)"""

#: Words of the kit's English lines, none of which may show in a Chinese panel.
ENGLISH_WORDS = ("welcome", "joined", "left", "online", "typing", "went away", "disconnected")

_CJK = re.compile(r"[\u4e00-\u9fff]")


def panel_of(name: str) -> str:
    """A selector for the panel whose header shows ``name``."""
    return f'{PANEL}:has(.lk-name:text-is("{name}"))'


@pytest.mark.timeout(300)
def test_chinese_chat_lesson_speaks_chinese_in_lab(
    zh_page: Page, lab_zh: Lab, artifacts_dir: Path
) -> None:
    """Run-all is clean; panels, system lines and feedback are Chinese and the glyphs render;
    the panels chat both ways once the room is back."""
    page, lab = zh_page, lab_zh
    assert (lab.root_dir / NOTEBOOK).is_file(), "start_lab did not copy notebooks/zh/"
    run = run_notebook(page, lab, NOTEBOOK, timeout=240)
    assert run.ok, "\n".join(run.errors) + f"\nnot run: {run.not_run}"
    assert page.get_by_text("Error displaying widget").count() == 0
    screenshot_notebook(page, NOTEBOOK, artifacts_dir / "zh-03_chat_room.png")

    check_panels_after_the_run(page)

    # The last cell stopped the room: 连接 finds nothing listening, and says so in Chinese.
    page.locator(f"{panel_of('alice')} .labkit-chat-connect").click()
    expect_contains(page.locator(f"{panel_of('alice')} .lk-error .lk-text"), NOT_LISTENING)

    # As a learner would: run the room's cell again (a new room, on a new port), then the
    # panels' cell, whose new panels join the new room.
    run_cell(page, NOTEBOOK, SERVER_CELL)
    run_cell(page, NOTEBOOK, PANELS_CELL)
    for name in NAMES:
        state = page.locator(f'{panel_of(name)} .lk-state[data-state="OPEN"]')
        expect_text(state, STATE_SHOWN["OPEN"], timeout=15)
        expect_text(page.locator(f"{panel_of(name)} .labkit-chat-connect"), DISCONNECT)

    chat_both_ways(page)
    join_from_the_page(page)
    check_glyphs_render(page, f"{PANEL} .lk-other .lk-text", FROM_ALICE)
    page.locator(".labkit-chat-row").first.screenshot(
        path=str(artifacts_dir / "zh-03_chat_room-panels.png")
    )

    check_exercise_feedback(page, artifacts_dir / "zh-03_chat_room-feedback.png")
    require_cjk_font()


def expect_text(locator: Locator, text: str, timeout: float = 10.0) -> None:
    """Wait until ``locator`` (its first match) shows exactly ``text``."""
    from playwright.sync_api import expect

    expect(locator.first).to_have_text(text, timeout=timeout * 1000)


def expect_contains(locator: Locator, text: str, timeout: float = 10.0) -> None:
    """Wait until an element of ``locator`` contains ``text``."""
    from playwright.sync_api import expect

    expect(locator.filter(has_text=text).first).to_contain_text(text, timeout=timeout * 1000)


# The texts of the elements of a selector that hold one of the words (a regex alternation).
_ENGLISH_LINES = """([selector, words]) => [...document.querySelectorAll(selector)]
  .map((e) => e.textContent)
  .filter((t) => new RegExp(`\\\\b(${words})\\\\b`).test(t))"""


def check_panels_after_the_run(page: Page) -> None:
    """Every part of the three panels a learner reads is Chinese, after the clean-up cell."""
    for name in NAMES:
        panel = page.locator(panel_of(name))
        assert panel.count() == 1, name
        expect_text(panel.locator(".labkit-chat-send"), SEND)
        expect_text(panel.locator(".labkit-chat-connect"), CONNECT)
        expect_text(panel.locator(".labkit-chat-clear"), CLEAR)
        assert panel.locator(".labkit-chat-input input").get_attribute("placeholder") == PLACEHOLDER
        expect_text(panel.locator(".labkit-chat-hint"), HINT)
        # The clean-up cell stopped the room: each panel says so, and that it is closed.
        expect_text(panel.locator('.lk-state[data-state="CLOSED"]'), STATE_SHOWN["CLOSED"])
        expect_contains(panel.locator(".lk-system .lk-text"), GAVE_UP, timeout=20)
    alice = page.locator(panel_of("alice"))
    expect_contains(alice.locator(".lk-system .lk-text"), WELCOME_ALICE)
    expect_contains(alice.locator(".lk-system .lk-text"), CAROL_JOINED)
    # Nothing the kit wrote in a panel is left in English.
    english = page.evaluate(
        _ENGLISH_LINES,
        [f"{PANEL} .lk-system .lk-text, {PANEL} .lk-head", "|".join(ENGLISH_WORDS)],
    )
    assert english == [], english


def check_exercises_not_attempted(page: Page) -> None:
    """Run-all leaves the placeholders: each check says, in Chinese, it was not attempted yet."""
    todo = page.locator(".labkit-exercise.labkit-todo")
    assert todo.count() == 3, todo.all_inner_texts()
    for text in todo.all_inner_texts():
        assert TODO in text and _CJK.search(text), text


def join_from_the_page(page: Page) -> None:
    """The room's page embedded in the notebook speaks the browser's language (zh-CN); a
    person joins there with a Chinese user name and chats with the panels.

    The run's page came up while the clean-up cell stopped the room, so the page's cell
    runs again, as a learner would, to show the page of the room that is running now.
    """
    run_cell(page, NOTEBOOK, "room_server.page()")
    frame = page.frame_locator(".labkit-page-link iframe").first
    expect_text(frame.locator("#join"), PAGE_JOIN, timeout=30)
    frame.locator("#name").fill(VISITOR)
    frame.locator("#join").click()
    frame.locator("#send-form").wait_for(state="visible", timeout=15_000)
    expect_contains(page.locator(f"{panel_of('alice')} .lk-system .lk-text"), VISITOR_JOINED)
    expect_text(frame.locator("#send"), SEND)
    frame.locator("#text").fill(FROM_VISITOR)
    frame.locator("#send").click()
    for name in NAMES:
        expect_contains(page.locator(f"{panel_of(name)} .lk-other .lk-text"), FROM_VISITOR)
    page.locator(f"{panel_of('carol')} .labkit-chat-input input").fill(TO_VISITOR)
    page.locator(f"{panel_of('carol')} .labkit-chat-send").click()
    frame.locator("#messages").get_by_text(TO_VISITOR).wait_for(timeout=15_000)


def chat_both_ways(page: Page) -> None:
    """Alice types and clicks 发送: Bob and Carol get it. Bob answers with Enter: Alice gets it."""
    alice_box = page.locator(f"{panel_of('alice')} .labkit-chat-input input")
    alice_box.fill(FROM_ALICE)
    page.locator(f"{panel_of('alice')} .labkit-chat-send").click()
    expect_contains(page.locator(f"{panel_of('alice')} .lk-own .lk-text"), FROM_ALICE)
    for name in ("bob", "carol"):
        expect_contains(page.locator(f"{panel_of(name)} .lk-other .lk-text"), FROM_ALICE)
    assert alice_box.input_value() == ""

    page.locator(f"{panel_of('bob')} .labkit-chat-input input").click()
    page.keyboard.type(FROM_BOB)
    page.keyboard.press("Enter")
    for name in ("alice", "carol"):
        expect_contains(page.locator(f"{panel_of(name)} .lk-other .lk-text"), FROM_BOB)
    expect_contains(page.locator(f"{panel_of('bob')} .lk-own .lk-text"), FROM_BOB)


# Draws characters in the font an element uses, on a canvas: the ink of each, as bits,
# and the same for a code point no font has (it draws the .notdef glyph, "tofu", or
# nothing). Real glyphs have ink, differ from each other, and differ from .notdef.
_GLYPHS = """([selector, text]) => {
  // Found and measured in one go: a widget's re-render may replace the node at any time.
  const node = [...document.querySelectorAll(selector)].find((e) => e.textContent.includes(text));
  if (!node) return null;
  const range = document.createRange();
  range.selectNodeContents(node);
  const box = range.getBoundingClientRect();
  const style = getComputedStyle(node);
  const size = 48;
  const draw = (ch) => {
    const canvas = document.createElement('canvas');
    canvas.width = canvas.height = size * 2;
    const ctx = canvas.getContext('2d');
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, size * 2, size * 2);
    ctx.fillStyle = '#000';
    ctx.font = `${size}px ${style.fontFamily}`;
    ctx.textBaseline = 'top';
    ctx.fillText(ch, size / 2, size / 2);
    const data = ctx.getImageData(0, 0, size * 2, size * 2).data;
    let bits = '', ink = 0;
    for (let i = 0; i < data.length; i += 4) {
      const dark = data[i] < 128;
      ink += dark;
      bits += dark ? '1' : '0';
    }
    return {ink, bits, width: ctx.measureText(ch).width};
  };
  // Up to a dozen different Chinese characters of the element's text.
  const cjk = [...node.textContent].filter((c) => /[\\u4e00-\\u9fff]/.test(c));
  const chars = [...new Set(cjk)].slice(0, 12);
  const glyphs = chars.map(draw);
  const notdef = draw('\\u{10FFFD}');
  return {
    width: box.width,
    height: box.height,
    font: style.fontFamily,
    chars: chars.join(''),
    ink: glyphs.map((g) => g.ink),
    widths: glyphs.map((g) => g.width),
    distinct: new Set(glyphs.map((g) => g.bits)).size,
    likeNotdef: glyphs.filter((g) => g.bits === notdef.bits).length,
  };
}"""


def _have_cjk_font() -> bool:
    """Whether fontconfig knows a font with Chinese glyphs (Debian: fonts-noto-cjk)."""
    import shutil
    import subprocess

    if shutil.which("fc-list") is None:
        return True  # no fontconfig to ask: let the drawing itself decide
    listed = subprocess.run(
        ["fc-list", ":lang=zh", "family"], capture_output=True, text=True, check=False
    )
    return bool(listed.stdout.strip())


def require_cjk_font() -> None:
    """Skip with one line naming the package when glyphs could not be checked (CI: fail)."""
    if not _have_cjk_font():
        message = "glyphs not checked: no Chinese font (apt-get install fonts-noto-cjk)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


def check_glyphs_render(page: Page, selector: str, text: str) -> None:
    """The Chinese of the first element of ``selector`` (plain CSS) that shows ``text`` takes
    room on the page and is drawn as real, distinct glyphs, in the font the page gives it.

    Without a CJK font it checks nothing: the test runs on, and then skips
    with one line (:func:`require_cjk_font`).
    """
    if not _have_cjk_font():
        return
    found = page.evaluate(_GLYPHS, [selector, text])
    assert found is not None, f"no {selector} shows {text!r}"
    chars = found["chars"]
    assert len(chars) >= 4, found
    assert found["width"] > 0 and found["height"] > 0, found
    assert all(ink > 20 for ink in found["ink"]), f"a character draws blank: {found}"
    assert all(width > 0 for width in found["widths"]), found
    assert found["likeNotdef"] == 0, f"characters drawn as the missing-glyph box: {found}"
    assert found["distinct"] == len(chars), f"different characters, same glyph: {found}"


_SET_SOURCE = (
    "([path, index, source]) => {"
    + _FIND_PANEL
    + """
  findPanel(path).content.widgets[index].model.sharedModel.setSource(source);
}"""
)


def write_cell(page: Page, needle: str, source: str) -> None:
    """Put ``source`` in the code cell holding ``needle``, as a learner's typing would."""
    index = code_cell_index(page, NOTEBOOK, needle)
    assert index >= 0, f"{NOTEBOOK} has no code cell holding {needle!r}"
    page.evaluate(_SET_SOURCE, [NOTEBOOK, index, source])


def check_exercise_feedback(page: Page, shot: Path) -> None:
    """After the run each check says it was not attempted yet; then a right answer gets a
    Chinese ✓ line, and a wrong one a ✗ with a Chinese hint."""
    check_exercises_not_attempted(page)
    write_cell(page, "def recipients(sender, members):", RIGHT_RECIPIENTS)
    run_cell(page, NOTEBOOK, "def recipients(sender, members):")
    run_cell(page, NOTEBOOK, "ex.check.recipients(recipients)")
    ok = page.locator(".labkit-exercise.labkit-ok")
    expect_contains(ok, "✓ recipients")
    ok_text = ok.first.inner_text()
    assert CORRECT in ok_text and RECIPIENTS_OK in ok_text, ok_text

    write_cell(page, "def on_join(users, name):", WRONG_JOIN_LEAVE)
    run_cell(page, NOTEBOOK, "def on_join(users, name):")
    run_cell(page, NOTEBOOK, "ex.check.join_leave(on_join, on_leave)")
    wrong = page.locator(".labkit-exercise.labkit-wrong")
    expect_contains(wrong, "✗ join_leave")
    wrong_text = wrong.first.inner_text()
    assert WRONG in wrong_text and HINT_LABEL in wrong_text, wrong_text
    hint = wrong_text.split(HINT_LABEL, 1)[1]
    assert _CJK.search(hint), f"the hint is not Chinese: {hint!r}"
    check_glyphs_render(page, ".labkit-exercise.labkit-wrong", WRONG)

    # Exercise 3 is left as the run left it: the picture shows ✓, ✗ and "not attempted yet".
    screenshot_cells(page, "## 10 ·", "ex.check.chat_room(", shot)


# The cells from the first whose source starts with `first` to the code cell holding
# `last`, as a clip of the page once the window is tall enough to show them all.
_CELL_RANGE = (
    "([path, first, last]) => {"
    + _FIND_PANEL
    + """
  const cells = findPanel(path).content.widgets;
  const start = cells.findIndex((c) => c.model.sharedModel.getSource().startsWith(first));
  const end = cells.findIndex((c) => c.model.type === 'code'
    && c.model.sharedModel.getSource().includes(last));
  if (start < 0 || end < start) return null;
  cells[start].node.scrollIntoView({block: 'start'});
  const top = cells[start].node.getBoundingClientRect();
  const bottom = cells[end].node.getBoundingClientRect();
  return {x: top.left, y: top.top, width: Math.max(top.width, bottom.width),
          height: bottom.bottom - top.top};
}"""
)

_NEXT_FRAME = "() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))"


def screenshot_cells(page: Page, first: str, last: str, path: Path) -> None:
    """Screenshot a run of cells, growing the window while it takes the picture if need be."""
    size = page.viewport_size or {"width": 1280, "height": 900}
    clip = page.evaluate(_CELL_RANGE, [NOTEBOOK, first, last])
    assert clip is not None, f"no cells from {first!r} to {last!r}"
    grown = clip["height"] + 120 > size["height"]
    if grown:
        page.set_viewport_size({"width": size["width"], "height": int(clip["height"]) + 200})
        page.evaluate(_NEXT_FRAME)
        clip = page.evaluate(_CELL_RANGE, [NOTEBOOK, first, last])
        page.evaluate(_NEXT_FRAME)
    page.screenshot(path=str(path), clip=clip)
    if grown:
        page.set_viewport_size(size)
        page.evaluate(_NEXT_FRAME)
