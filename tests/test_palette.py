"""Nickname colours: enough of them, all different, each readable in both themes."""

import re
from pathlib import Path

import pytest

from chatapp.live.presence import PALETTE_SIZE

STYLESHEET = (Path(__file__).resolve().parent.parent / "chatapp/static/chatapp.css").read_text()
DARK_BLOCK = re.compile(
    r"@media \(prefers-color-scheme: dark\) \{\s*:root \{(.*?)\}\s*\}", re.DOTALL
)
DARK = "".join(DARK_BLOCK.findall(STYLESHEET))
LIGHT = DARK_BLOCK.sub("", STYLESHEET)
BACKGROUNDS = ("--bg", "--surface", "--mine-bg")


def colours(css, prefix):
    """{custom property: #rrggbb} for the properties starting with prefix."""
    return dict(re.findall(rf"({prefix}[\w-]*):\s*(#[0-9a-f]{{6}});", css))


def luminance(colour):
    """The relative luminance of a #rrggbb colour (WCAG 2)."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(one, other):
    """The WCAG contrast ratio of two colours."""
    high, low = sorted((luminance(one), luminance(other)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_there_is_a_class_for_every_colour_presence_gives():
    assert PALETTE_SIZE >= 24
    for index in range(PALETTE_SIZE):
        assert f".nick-{index} {{ --nick: var(--nick-{index}); }}" in STYLESHEET


@pytest.mark.parametrize("theme", [LIGHT, DARK], ids=["light", "dark"])
def test_every_colour_is_distinct_and_readable_on_every_background(theme):
    nicks = colours(theme, "--nick-")
    backgrounds = {name: colours(theme, name)[name] for name in BACKGROUNDS}
    assert len(nicks) == PALETTE_SIZE
    assert len(set(nicks.values())) == PALETTE_SIZE
    for nick, colour in nicks.items():
        for background, behind in backgrounds.items():
            ratio = contrast(colour, behind)
            assert ratio >= 4.5, f"{nick} {colour} on {background} {behind}: {ratio:.2f}"
