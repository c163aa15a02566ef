"""Every text the chat page shows, in every language the kit speaks.

The page (``page.html``) is one static file whose script picks a language in
the browser: the one its 中文 / English switch saved, else the browser's
(``navigator.languages``), else the server's choice. So the server sends all
of them at once, in a JSON data block the script reads::

    <script id="labkit-text" type="application/json">
    {"default": "zh-CN",
     "errors": {"name_taken": "the name {name} is taken: choose another one", ...},
     "languages": {"en": {"Join": "Join", ...}, "zh-CN": {"Join": "加入", ...}}}
    </script>

The keys are the English messages below, marked with :func:`~labkit.i18n.N_`
so ``tools/catalog.py`` puts them in the kit's one catalog, and translated
with :func:`~labkit.i18n.gettext_for` per language, whatever language the
kernel speaks now. The page fills ``{name}`` placeholders itself, always as
text (``textContent``), never as HTML.

The default is the request's ``Accept-Language`` (q-values respected; any
``zh`` tag is the Simplified catalog), else :func:`~labkit.i18n.get_language`.

What goes on the wire is not translated: the page renders an error event from
its ``code`` (``rate_limited``...) with its own text in :data:`ERROR_MESSAGES`;
the server's English ``message`` stays as it was.
"""

from __future__ import annotations

import json
import re

from labkit.i18n import LANGUAGES, N_, get_language, gettext_for, normalize

__all__ = [
    "DATA_BLOCK",
    "ERROR_MESSAGES",
    "PAGE_MESSAGES",
    "choose_language",
    "page_texts",
    "render",
    "script_json",
]

#: The texts of the page itself: labels, states, system lines.
PAGE_MESSAGES: tuple[str, ...] = (
    # TRANSLATORS: the page's title and heading; "labkit" is the kit's name.
    N_("labkit chat"),
    N_("Language"),
    N_("Reconnect"),
    # TRANSLATORS: the connection badge; {state} is WebSocket.readyState (0 to 3),
    # and CONNECTING, OPEN, CLOSING, CLOSED are the names JavaScript gives them.
    N_("CONNECTING ({state})"),
    N_("OPEN ({state})"),
    N_("CLOSING ({state})"),
    N_("CLOSED ({state})"),
    # The user list.
    N_("In the room"),
    N_("In the room: {count}"),
    N_("join to see who is here"),
    N_("connecting…"),
    N_("not connected"),
    N_("{name} (you)"),
    # The forms.
    N_("Your name"),
    N_("Join"),
    N_("Send to"),
    N_("Everyone"),
    N_("Write a message"),
    N_("Message"),
    N_("Send"),
    # Who said a message.
    N_("you"),
    N_("you → {to} (private)"),
    N_("{sender} → you (private)"),
    N_("{sender} → {to} (private)"),
    # Who is typing.
    N_("{name} is typing…"),
    N_("{first} and {second} are typing…"),
    N_("{count} people are typing…"),
    # System lines in the message list.
    N_("you joined as {name}"),
    N_("{name} joined ({count} in the room)"),
    N_("{name} left ({count} in the room)"),
    N_("connected to {url}"),
    N_("reconnected to {url}"),
    N_("connection error"),
    N_("connection closed (code {code})"),
    # TRANSLATORS: {reason} is the close frame's reason, as the server sent it.
    N_("connection closed (code {code}, {reason})"),
    N_("the server went away; reconnecting…"),
    N_("reconnecting…"),
    N_("the server went away: nothing answers at {url}; press Reconnect to try again"),
    N_("not connected: press Reconnect"),
    N_("unreadable message from the server"),
    N_("unknown event {type}"),
    # TRANSLATORS: an error notice: {message} is one of the error texts, {code} the
    # protocol's code (name_taken...), which stays in English.
    N_("{message} ({code})"),
)

#: The page's text for each error code of the protocol (labkit.chat.protocol.ErrorCode).
ERROR_MESSAGES: dict[str, str] = {
    "bad_json": N_("the server could not read what the page sent"),
    "unknown_type": N_("the server does not know this kind of event"),
    "bad_name": N_("this name cannot be used: choose another one"),
    # TRANSLATORS: {name} is the name the user tried to join with.
    "name_taken": N_("the name {name} is taken: choose another one"),
    "not_joined": N_("join the room first"),
    "unknown_user": N_("this user is not in the room any more"),
    "too_long": N_("the message is too long"),
    "rate_limited": N_("too many messages: please slow down"),
    "unavailable": N_("the room cannot be reached just now: try again in a few seconds"),
}

#: The data block as it stands in ``page.html``, which :func:`render` fills in.
DATA_BLOCK = re.compile(
    r'(<script id="labkit-text" type="application/json">)(.*?)(</script>)', re.S
)

# What must not appear raw in a <script> element: "</script>" or "<!--" would
# end or derail it; U+2028 and U+2029 are line breaks to older JavaScript.
_UNSAFE = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def page_texts(language: str) -> dict[str, str]:
    """Every page text in ``language`` (``"en"``, ``"zh-CN"``): English msgid to text."""
    translations = gettext_for(language)
    messages = (*PAGE_MESSAGES, *ERROR_MESSAGES.values())
    return {message: translations.gettext(message) for message in messages}


def choose_language(accept_language: str | None) -> str:
    """The language for a request's ``Accept-Language``, else the kit's current one.

    Tags are tried by their q-value (highest first, then in the header's order);
    ``q=0`` means "not this one", and ``*`` names nothing in particular.
    """
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate((accept_language or "").split(",")[:64]):
        tag, _, parameters = part.partition(";")
        quality = 1.0
        for parameter in parameters.split(";"):
            key, _, value = parameter.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value.strip())
                except ValueError:
                    quality = 0.0
        if quality > 0:
            ranked.append((-min(quality, 1.0), index, tag.strip()))
    for _quality, _index, tag in sorted(ranked):
        found = normalize(tag)
        if found is not None:
            return found
    return get_language()


def script_json(value: object) -> str:
    """``value`` as JSON that is safe inside a ``<script>`` element, whatever its strings hold."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return re.sub("[<>&\u2028\u2029]", lambda match: _UNSAFE[match.group()], text)


def render(html: str, default: str) -> str:
    """Fill the page's data block with every language's texts; ``default`` is the server's pick."""
    data = {
        "default": normalize(default) or "en",
        "errors": ERROR_MESSAGES,
        "languages": {tag: page_texts(tag) for tag in LANGUAGES},
    }
    block = script_json(data)
    filled, count = DATA_BLOCK.subn(lambda m: m.group(1) + block + m.group(3), html, count=1)
    if count != 1:
        raise ValueError('the chat page has no <script id="labkit-text"> data block')
    return filled
