"""JupyterLab itself speaks Chinese for the Chinese lessons (the ``zh`` extra).

``jupyterlab-language-pack-zh-CN`` is an optional extra (``pip install
labkit[zh]``; the test extra has it). Its newest release is 4.5.post3, for
JupyterLab 4.5; this checks that it really loads in the JupyterLab the kit
runs on, when Settings → Language is set to 中文 (zh_CN).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from .helpers import Lab

if TYPE_CHECKING:
    from playwright.sync_api import Page

#: Top-level menus as the language pack names them: File, Edit, Kernel, Help.
MENUS_ZH = ("文件", "编辑", "内核", "帮助")


@pytest.mark.timeout(180)
def test_jupyterlab_menus_are_chinese_with_the_language_pack(
    page: Page, lab_zh: Lab, artifacts_dir: Path
) -> None:
    """Lab opened with locale zh_CN shows its menu bar in Chinese."""
    page.goto(lab_zh.url + "lab/tree/zh")
    menubar = page.locator("#jp-menu-panel, .lm-MenuBar").first
    menubar.wait_for(timeout=60_000)
    page.wait_for_function(
        "names => names.every(n => document.querySelector('.lm-MenuBar')?.textContent.includes(n))",
        arg=list(MENUS_ZH),
        timeout=60_000,
    )
    text = page.locator(".lm-MenuBar").first.inner_text()
    assert all(name in text for name in MENUS_ZH), text
    assert "File" not in text
    page.screenshot(path=str(artifacts_dir / "lab-zh-CN-menus.png"))
