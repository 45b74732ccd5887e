"""Soft 404s: pages that answer 200 but say they are not there, and deep URLs sent to the home page.

A server that answers a missing page with ``200 OK`` and a "Page not found" page (or redirects
every dead URL to its home page) hides the 404 from anything that reads only the status. Search
engines call both *soft 404s*. :func:`soft_404` tells them apart from real pages, as a pure
function of what an observation recorded: the status, the ``<title>``, a heading when the caller
has one, and where redirects ended.

* **Title or heading.** The title is cut into segments at the separators sites put between the
  page's name and the site's (``|``, `` - ``, ``: ``, ``·``, ``»``...). A segment says "not found"
  when, folded (case, accents and punctuation dropped) and with interjections and error codes
  trimmed from its ends ("Oops!", "404", "Error"), it is one of :data:`NOT_FOUND_PHRASES` (in some
  twenty languages), or when it is nothing but error words and codes ("Error 404", "Fehler").
  A whole segment must say it: "How to fix 'page not found' errors" is an article, not a 404.
* **Redirect home.** A deep URL (a path below the root) whose redirects end at the home page of
  the same site (``/``, ``/index.html``, a language root such as ``/en/``) is a soft 404: the
  page it was is gone. ``/index.php?skin=classic`` to ``/`` is not (its path is the home page).

:data:`SQL_PREFILTER` is a regular expression (Python's ``re`` and DuckDB's RE2 read it alike) that
every title :func:`soft_404` flags contains, so a query can keep the few candidate titles of a
large table and leave the decision to this module.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from urllib.parse import urlsplit

from linkback.urls import registrable_domain

__all__ = [
    "ERROR_WORDS",
    "NOT_FOUND_PHRASES",
    "REDIRECT_HOME",
    "SQL_PREFILTER",
    "fold",
    "is_home_path",
    "not_found_text",
    "redirects_home",
    "soft_404",
]

#: What :func:`soft_404` answers: the title says so, a heading says so, a deep URL went home.
NOT_FOUND_TITLE, NOT_FOUND_HEADING, REDIRECT_HOME = "not_found_title", "not_found_heading", "redirect_home"

#: "Not found" as sites word it, in their natural spelling (compared folded).
NOT_FOUND_PHRASES = (
    # English
    "page not found", "not found", "file not found", "document not found", "content not found",
    "article not found", "post not found", "product not found", "resource not found", "url not found",
    "page cannot be found", "page can't be found", "that page can't be found", "this page can't be found",
    "page could not be found", "the page could not be found", "the page you requested could not be found",
    "the page you are looking for could not be found", "the page you were looking for doesn't exist",
    "page does not exist", "page doesn't exist", "this page does not exist", "this page doesn't exist",
    "the page does not exist", "nothing found", "nothing was found",
    "the requested url was not found on this server", "item cannot be found", "item not found",
    # German
    "seite nicht gefunden", "nicht gefunden", "seite wurde nicht gefunden", "die seite wurde nicht gefunden",
    "die angeforderte seite wurde nicht gefunden", "seite existiert nicht", "die seite existiert nicht",
    "diese seite existiert nicht",
    # French
    "page non trouvée", "page introuvable", "introuvable", "non trouvé", "non trouvée", "document non trouvé",
    "cette page n'existe pas", "la page n'existe pas", "page inexistante", "la page demandée est introuvable",
    "la page que vous recherchez est introuvable",
    # Spanish
    "página no encontrada", "no encontrado", "no encontrada", "página no existe", "la página no existe",
    "esta página no existe", "no se encontró la página", "no se ha encontrado la página",
    "la página que buscas no existe", "página inexistente",
    # Italian
    "pagina non trovata", "non trovato", "non trovata", "pagina non esistente", "la pagina non esiste",
    "pagina inesistente", "la pagina richiesta non è stata trovata",
    # Portuguese
    "página não encontrada", "não encontrado", "não encontrada", "página não existe", "a página não existe",
    "esta página não existe",
    # Dutch
    "pagina niet gevonden", "niet gevonden", "deze pagina bestaat niet", "pagina bestaat niet",
    "pagina kan niet worden gevonden",
    # Polish, Czech, Hungarian, Romanian
    "nie znaleziono strony", "strona nie została znaleziona", "nie znaleziono", "strona nie istnieje",
    "stránka nenalezena", "stránka nebyla nalezena", "stránka neexistuje",
    "az oldal nem található", "oldal nem található", "pagina nu a fost găsită", "pagina nu există",
    # Scandinavian, Finnish, Turkish
    "sidan kunde inte hittas", "sidan hittades inte", "sidan finns inte", "hittades inte",
    "siden blev ikke fundet", "siden findes ikke", "siden ble ikke funnet", "siden finnes ikke",
    "side ikke funnet", "side ikke fundet", "sivua ei löytynyt", "sivua ei löydy",
    "sayfa bulunamadı", "sayfa bulunamadi",  # the dotless ı upper-cases to I, which folds to i
    # Russian, Ukrainian, Greek
    "страница не найдена", "не найдено", "страница не существует", "сторінку не знайдено",
    "сторінка не знайдена", "η σελίδα δεν βρέθηκε", "σελίδα δεν βρέθηκε",
    # Arabic, Hebrew
    "الصفحة غير موجودة", "لم يتم العثور على الصفحة", "הדף לא נמצא",
    # Japanese, Chinese, Korean
    "ページが見つかりません", "ページが見つかりませんでした", "お探しのページは見つかりませんでした", "見つかりません",
    "页面未找到", "找不到页面", "页面不存在", "您访问的页面不存在", "頁面不存在", "找不到網頁", "網頁不存在",
    "페이지를 찾을 수 없습니다", "페이지를 찾을 수 없음",
    # Indonesian, Vietnamese
    "halaman tidak ditemukan", "không tìm thấy trang",
)  # fmt: skip

#: "Error" in the languages above: a title segment of only these and status codes is an error page.
ERROR_WORDS = (
    "error", "erreur", "fehler", "errore", "erro", "fout", "błąd", "chyba", "hiba", "eroare", "fel", "fejl",
    "feil", "virhe", "hata", "ошибка", "помилка", "σφάλμα", "خطأ", "שגיאה", "エラー", "错误", "錯誤", "오류",
    "lỗi", "kesalahan",
)  # fmt: skip

#: Trimmed from the ends of a segment before it is compared: interjections and status codes.
_INTERJECTIONS = frozenset(
    ["oops", "whoops", "ooops", "sorry", "uh", "oh", "ops", "oups", "hoppla", "huch", "ups", "ay", "oj", "http"]
)
_CODES = frozenset(["404", "410"])

# Between a page's name and its site's: "Page not found | Example", "Example - Not Found",
# "Internet Archive: Error". A hyphen or slash only with spaces round it ("e-mail" stays one word).
_SEPARATORS = re.compile(r"\s*(?:[|·•»«›‹~]|::|\s[-–—/]\s|:\s)\s*")
_NON_WORD = re.compile(r"[\W_]+")


def fold(text: str) -> str:
    """``text`` as it is compared: compatibility-decomposed, accents dropped, case folded, every run
    of punctuation and spaces one space (``"Página NO encontrada!"`` -> ``"pagina no encontrada"``)."""
    if text.isascii():  # most URLs and titles: nothing to decompose
        return _NON_WORD.sub(" ", text.lower()).strip()
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _NON_WORD.sub(" ", bare.casefold()).strip()


_PHRASES = frozenset(fold(p) for p in NOT_FOUND_PHRASES)
_ERRORS = frozenset(fold(w) for w in ERROR_WORDS)


def _filler(word: str) -> bool:
    return word in _INTERJECTIONS or word in _ERRORS or word.isdigit()


def _segment_says_not_found(segment: str) -> bool:
    words = fold(segment).split()
    if not words:
        return False
    if all(_filler(w) for w in words):
        # Nothing but "Error", "404", "Oops": an error page, if a code or an error word is there.
        return any(w in _CODES or w in _ERRORS for w in words)
    start, end = 0, len(words)
    while _filler(words[start]):
        start += 1
    while _filler(words[end - 1]):
        end -= 1
    return " ".join(words[start:end]) in _PHRASES


def not_found_text(text: str) -> bool:
    """Does this title or heading say the page is not there (a whole segment of it)?

    >>> not_found_text("Page not found | Example"), not_found_text("Error 404 (Not Found)!!1")
    (True, True)
    >>> not_found_text("How to fix 'page not found' errors"), not_found_text("Errors and exceptions")
    (False, False)
    """
    if not text or len(text) > 1000:  # a "title" that long is a page's text, not a title
        return False
    return any(_segment_says_not_found(s) for s in _SEPARATORS.split(text))


_INDEX_FILE = re.compile(r"(index|default|home)\.(html?|php|aspx?|jsp|cgi)", re.IGNORECASE)
_LOCALE = re.compile(r"[a-z]{2}(?:[-_][a-z]{2,4})?", re.IGNORECASE)


def _segments(path: str) -> list[str]:
    return [s for s in path.split("/") if s]


def is_home_path(path: str) -> bool:
    """Is ``path`` a site's home page: ``/``, an index file, or a language's root (``/en/``, ``/pt-br``)?"""
    parts = _segments(path)
    if parts and _INDEX_FILE.fullmatch(parts[-1]):
        parts = parts[:-1]
    return not parts or (len(parts) == 1 and _LOCALE.fullmatch(parts[0]) is not None)


@lru_cache(maxsize=4096)
def _site(host: str) -> str:
    return registrable_domain(host.lower().rstrip("."))


def redirects_home(url: str, final_url: str) -> bool:
    """Did a deep ``url`` end, through redirects, at the home page of its own site (``final_url``)?"""
    if not final_url or final_url == url:
        return False
    try:
        start, end = urlsplit(url), urlsplit(final_url)
    except ValueError:
        return False
    if start.scheme not in ("http", "https") or end.scheme not in ("http", "https"):
        return False
    if not start.hostname or not end.hostname or _site(start.hostname) != _site(end.hostname):
        return False
    return not is_home_path(start.path) and is_home_path(end.path)


def soft_404(url: str, *, status: int | None, title: str = "", heading: str = "", final_url: str = "") -> str | None:
    """Why the page at ``url`` is a soft 404, or None when it is not one.

    ``status`` is the answer at the end of any redirects, ``title`` and ``heading`` (its first
    ``<h1>``, when the caller has it) that page's, ``final_url`` where the redirects ended ("" for
    none). Answers :data:`REDIRECT_HOME` (a deep URL went to its site's home page),
    ``"not_found_title"`` or ``"not_found_heading"``. Only a 2xx answer can be a soft 404: a 4xx is
    a plain one, and anything else says nothing about the page.

    >>> soft_404("https://example.com/shop/old-shoes", status=200, final_url="https://example.com/")
    'redirect_home'
    >>> soft_404("https://example.com/x", status=200, title="Seite nicht gefunden - Beispiel GmbH")
    'not_found_title'
    >>> soft_404("https://example.com/x", status=200, title="Shoes | Example") is None
    True
    """
    if status is None or not 200 <= status <= 299:
        return None
    if redirects_home(url, final_url):
        return REDIRECT_HOME
    if not_found_text(title):
        return NOT_FOUND_TITLE
    if not_found_text(heading):
        return NOT_FOUND_HEADING
    return None


def _stem(phrase: str) -> str:
    """The longest word of ``phrase`` that folding leaves as it is (so a raw title has it too)."""
    words = [w for w in re.split(r"[\s']+", phrase.lower()) if w]
    kept = [w for w in words if fold(w) == w]
    return max(kept or words, key=len)


def _prefilter() -> str:
    stems = {_stem(p) for p in NOT_FOUND_PHRASES} | {_stem(w) for w in ERROR_WORDS} | set(_CODES)
    # Longest first: RE2 and re both take the first alternative that matches at a position.
    return "(?i)(" + "|".join(re.escape(s) for s in sorted(stems, key=lambda s: (-len(s), s))) + ")"


#: Every title :func:`not_found_text` accepts contains a match of this (case-insensitive) pattern,
#: when it is written in the usual characters of its language (not, say, full-width Latin).
SQL_PREFILTER = _prefilter()
