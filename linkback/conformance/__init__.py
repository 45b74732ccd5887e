"""Conformance checks that compare linkback with an independent reference implementation.

:mod:`linkback.conformance.browser_links` compares the links :func:`linkback.extract.extract`
finds with the links headless Chromium sees in the same HTML, served at the page's own URL.
Run it with ``python -m linkback.conformance.browser_links`` (it needs Debian's ``chromium`` and
the ``browser`` extra, i.e. playwright).
"""
